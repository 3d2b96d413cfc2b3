package shc

import (
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
)

// The seeds are built here from cards this test signs, not copied from the
// corpus.

func FuzzNumeric(f *testing.F) {
	key := newKey(f)
	jws := mustSign(f, key, testIss, testVC("aRid"), testNbf, time.Time{})
	f.Add(EncodeNumeric(jws))
	for _, p := range EncodeChunks(jws, 3) {
		f.Add(p)
	}
	f.Add("shc:/1/1/" + EncodeNumeric(jws)[len(Prefix):])
	f.Add("shc:5676")
	f.Add("shc:/567")
	f.Add("shc:/5678")
	f.Add("shc:/5676 \t\n")
	f.Add("shc:/0/0/")
	f.Fuzz(func(t *testing.T, qr string) {
		for _, ec := range []string{"L", "H"} {
			w := QRWarnings(len(qr)%41, ec, qr)
			if len(w) > 2 {
				t.Fatalf("QRWarnings: %v", w)
			}
		}
		jws, _, err := DecodeNumeric(qr)
		if err != nil {
			if credential.ReasonOf(err) == "" {
				t.Fatalf("untyped error %v", err)
			}
			var a Assembler
			if _, _, aerr := a.Add(qr); aerr == nil && !strings.Contains(err.Error(), "part") {
				t.Fatalf("DecodeNumeric refused (%v) what the Assembler took", err)
			}
			return
		}
		// What decodes encodes back to the same digits.
		if got := EncodeNumeric(jws); got[len(Prefix):] != qr[len(qr)-len(got)+len(Prefix):] {
			t.Fatalf("round trip: %q -> %q -> %q", qr, jws, got)
		}
	})
}

func FuzzJWS(f *testing.F) {
	key := newKey(f)
	jws := mustSign(f, key, testIss, testVC("aRid"), testNbf, testNbf.Add(time.Hour))
	h, p, s := splitDots(jws)
	f.Add(jws)
	f.Add(h + "." + p + "." + derSig(f, s))
	f.Add(h + "=." + p + "." + s)
	f.Add(rawJWS(f, nil, `{"zip":"DEF","kid":"k"}`, []byte(`{"iss":"x"}`), deflate))
	f.Add(rawJWS(f, nil, `{"alg":"ES256","kid":"k"}`, []byte(`{"iss":"x"}`), func(b []byte) []byte { return b }))
	f.Add(rawJWS(f, nil, `{"zip":"DEF","alg":"ES256","kid":"k"}`, []byte(`"{}"`), deflate))
	f.Add(rawJWS(f, nil, `{"zip":"DEF","alg":"ES256","kid":"k"}`, []byte(`{}`), zlibbed))
	f.Add("a.b.c")
	f.Fuzz(func(t *testing.T, jws string) {
		u, err := ParseJWS(jws)
		if err != nil {
			if credential.ReasonOf(err) == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if u.Header.Alg != "ES256" || u.Header.Zip != "DEF" || u.Header.Kid == "" || len(u.Payload) > credential.MaxInflated {
			t.Fatalf("accepted header %+v with %d payload bytes", u.Header, len(u.Payload))
		}
	})
}

func FuzzVerify(f *testing.F) {
	key := newKey(f)
	store := storeWithCRL(f, key, testIss, "revokedRid.1740834000", "revokedAll")
	now := testNbf.Add(time.Hour)
	for _, rid := range []string{"", "aRid", "revokedRid", "revokedAll"} {
		f.Add([]byte(mustSign(f, key, testIss, testVC(rid), testNbf, testNbf.Add(48*time.Hour))))
	}
	f.Add([]byte(mustSign(f, key, "https://other.example.org", testVC(""), testNbf, time.Time{})))
	f.Add([]byte(mustSign(f, key, testIss, map[string]any{"type": []string{"https://smarthealth.cards#health-card"}}, testNbf, time.Time{})))
	f.Add([]byte(mustSign(f, key, testIss, testVC(""), testNbf, testNbf.Add(-time.Hour))))
	// Payloads are signed inside the target, so the fuzzer explores what
	// verified content can hold.
	f.Add([]byte(`{"iss":"` + testIss + `","nbf":1740830400,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirBundle":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","name":[{"family":"Li"}]}}]}}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		jws := string(data)
		if len(data) > 0 && data[0] == '{' {
			var err error
			if jws, err = SignPayload(key, "", data); err != nil {
				t.Fatal(err)
			}
		}
		u, err := ParseJWS(jws)
		if err != nil {
			return
		}
		c, err := u.Verify(store, now)
		if err != nil {
			if credential.ReasonOf(err) == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if c.Issuer != testIss || c.NotBefore.After(now.Add(NotBeforeSkew)) || (!c.Expires.IsZero() && !now.Before(c.Expires)) {
			t.Fatalf("accepted issuer %q valid %v to %v at %v", c.Issuer, c.NotBefore, c.Expires, now)
		}
		if c.Revocation == "revokedAll" {
			t.Fatal("accepted a revoked card")
		}
	})
}
