package shc

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
)

const testIss = "https://issuer.example.org/shc"

var testNbf = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// testVC is a card with a Patient and two immunizations; rid "" leaves
// the rid out.
func testVC(rid string) map[string]any {
	vc := map[string]any{
		"type": []string{"https://smarthealth.cards#health-card"},
		"credentialSubject": map[string]any{
			"fhirVersion": "4.0.1",
			"fhirBundle": map[string]any{
				"resourceType": "Bundle", "type": "collection",
				"entry": []any{
					map[string]any{"fullUrl": "resource:0", "resource": map[string]any{
						"resourceType": "Patient",
						"name":         []any{map[string]any{"family": "Zhang", "given": []string{"San", "Feng"}}},
						"birthDate":    "1980-02-29"}},
					immunization("208", "2021-06-01"),
					immunization("300", "2024-10-15"),
					map[string]any{"resource": map[string]any{"resourceType": "Immunization", "status": "entered-in-error",
						"vaccineCode": map[string]any{"coding": []any{map[string]any{"system": systemCVX, "code": "999"}}}, "occurrenceDateTime": "2025-01-01"}},
				},
			},
		},
	}
	if rid != "" {
		vc["rid"] = rid
	}
	return vc
}

func immunization(cvx, date string) map[string]any {
	return map[string]any{"resource": map[string]any{
		"resourceType": "Immunization", "status": "completed",
		"vaccineCode":        map[string]any{"coding": []any{map[string]any{"system": systemCVX, "code": cvx}}},
		"occurrenceDateTime": date,
	}}
}

func mustSign(t testing.TB, key *ecdsa.PrivateKey, iss string, vc any, nbf, exp time.Time) string {
	t.Helper()
	jws, err := Sign(key, "", iss, vc, nbf, exp)
	if err != nil {
		t.Fatal(err)
	}
	return jws
}

// storeWithCRL trusts key for iss with a revocation list of rids.
func storeWithCRL(t testing.TB, key *ecdsa.PrivateKey, iss string, rids ...string) *trust.Store {
	t.Helper()
	raw, _ := key.PublicKey.Bytes()
	kid := trust.Thumbprint(&key.PublicKey)
	j, _ := json.Marshal(map[string]any{"keys": []any{map[string]any{
		"kty": "EC", "crv": "P-256", "use": "sig", "alg": "ES256", "kid": kid, "crlVersion": 1,
		"x": base64.RawURLEncoding.EncodeToString(raw[1:33]), "y": base64.RawURLEncoding.EncodeToString(raw[33:]),
	}}})
	s := trust.New()
	if _, err := s.AddJWKS(iss, j); err != nil {
		t.Fatal(err)
	}
	if rids != nil {
		l, _ := json.Marshal(map[string]any{"kid": kid, "method": "rid", "ctr": 1, "rids": rids})
		if err := s.AddSHCCRL(l); err != nil {
			t.Fatal(err)
		}
	}
	s.SetPseudonymKey(pseudonymKey)
	return s
}

func TestDecodeNumeric(t *testing.T) {
	jws := "eyJ6aXAiOiJERUYifQ.abc-_.xyz"
	tests := []struct {
		name string
		qr   string
		want credential.Reason
		warn Warning
	}{
		{"round trip", EncodeNumeric(jws), "", ""},
		{"single chunk header", strings.Replace(EncodeNumeric(jws), Prefix, Prefix+"1/1/", 1), "", WarnSingleChunk},
		{"part of three", EncodeChunks(jws, 3)[0], credential.ReasonBadEncoding, ""},
		{"no slash", "shc:5676", credential.ReasonBadEncoding, ""},
		{"other prefix", "HC1:5676", credential.ReasonBadEncoding, ""},
		{"upper case prefix", "SHC:/5676", credential.ReasonBadEncoding, ""},
		{"empty", "shc:/", credential.ReasonBadEncoding, ""},
		{"odd count", "shc:/567", credential.ReasonBadEncoding, ""},
		{"pair above 77", "shc:/5678", credential.ReasonBadEncoding, ""},
		{"non-digit", "shc:/56a6", credential.ReasonBadEncoding, ""},
		{"trailing newline", "shc:/5676\n", credential.ReasonBadEncoding, ""},
		{"leading space", " shc:/5676", credential.ReasonBadEncoding, ""},
		{"part 0", "shc:/0/2/5676", credential.ReasonBadEncoding, ""},
		{"part past total", "shc:/3/2/5676", credential.ReasonBadEncoding, ""},
		{"too many parts", "shc:/1/11/5676", credential.ReasonBadEncoding, ""},
		{"leading zero", "shc:/01/2/5676", credential.ReasonBadEncoding, ""},
		{"half header", "shc:/1/5676", credential.ReasonBadEncoding, ""},
		{"header without data", "shc:/1/1/", credential.ReasonBadEncoding, ""},
		{"too large", "shc:/" + strings.Repeat("56", credential.MaxPayload/2), credential.ReasonTooLarge, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, warns, err := DecodeNumeric(tt.qr)
			if r := credential.ReasonOf(err); r != tt.want {
				t.Fatalf("got reason %q (%v), want %q", r, err, tt.want)
			}
			if tt.want != "" {
				return
			}
			if got != jws {
				t.Errorf("got %q, want %q", got, jws)
			}
			if (tt.warn == "") != (len(warns) == 0) || (tt.warn != "" && warns[0] != tt.warn) {
				t.Errorf("warnings %v, want %q", warns, tt.warn)
			}
		})
	}
}

func TestEncodeNumericAllCharacters(t *testing.T) {
	var b strings.Builder
	for c := byte(45); c <= 122; c++ {
		b.WriteByte(c)
	}
	qr := EncodeNumeric(b.String())
	if !strings.HasSuffix(qr, "7677") || !strings.HasPrefix(qr, "shc:/0001") {
		t.Errorf("EncodeNumeric = %q, want 00 for '-' … 77 for 'z'", qr)
	}
	got, _, err := DecodeNumeric(qr)
	if err != nil || got != b.String() {
		t.Errorf("round trip: got %q, %v", got, err)
	}
}

func TestAssembler(t *testing.T) {
	jws := strings.Repeat("eyJhbGciOiJFUzI1NiJ9", 20)
	parts := EncodeChunks(jws, 3)
	other := EncodeChunks(strings.Repeat("x", len(jws)), 3)
	type step struct {
		qr   string
		want credential.Reason
		done bool // the JWS comes out
	}
	tests := []struct {
		name  string
		steps []step
	}{
		{"in order", []step{{parts[0], "", false}, {parts[1], "", false}, {parts[2], "", true}}},
		{"reversed", []step{{parts[2], "", false}, {parts[1], "", false}, {parts[0], "", true}}},
		{"repeated part", []step{{parts[0], "", false}, {parts[0], "", false}, {parts[1], "", false}, {parts[2], "", true}}},
		{"two cards mixed", []step{{parts[0], "", false}, {other[0], credential.ReasonBadEncoding, false},
			// the held parts were dropped: the card needs all three again
			{parts[1], "", false}, {parts[2], "", false}, {parts[0], "", true}}},
		{"other part count", []step{{parts[0], "", false}, {EncodeChunks(jws, 2)[1], credential.ReasonBadEncoding, false},
			{parts[1], "", false}, {parts[2], "", false}, {parts[0], "", true}}},
		{"unchunked code between parts", []step{{parts[0], "", false}, {EncodeNumeric(jws), "", true}, {parts[1], "", false}, {parts[2], "", true}}},
		{"damaged part", []step{{parts[0], "", false}, {parts[1] + "x", credential.ReasonBadEncoding, false}, {parts[1], "", false}, {parts[2], "", true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a Assembler
			for i, s := range tt.steps {
				got, _, err := a.Add(s.qr)
				if r := credential.ReasonOf(err); r != s.want {
					t.Fatalf("step %d: got reason %q (%v), want %q", i, r, err, s.want)
				}
				if s.done && got != jws {
					t.Fatalf("step %d: got %.20q…, want the whole JWS", i, got)
				}
				if !s.done && got != "" {
					t.Fatalf("step %d: got a JWS while parts are missing", i)
				}
			}
			if have, total := a.Pending(); have != 0 || total != 0 {
				t.Errorf("Pending() = %d, %d after the code completed, want 0, 0", have, total)
			}
		})
	}
	t.Run("pending and reset", func(t *testing.T) {
		var a Assembler
		_, _, _ = a.Add(parts[1])
		if have, total := a.Pending(); have != 1 || total != 3 {
			t.Errorf("Pending() = %d, %d, want 1, 3", have, total)
		}
		a.Reset()
		if have, total := a.Pending(); have != 0 || total != 0 {
			t.Errorf("Pending() after Reset = %d, %d, want 0, 0", have, total)
		}
	})
	t.Run("joined JWS too long", func(t *testing.T) {
		var a Assembler
		big := strings.Repeat("A", MaxJWS+MaxChunks)
		var err error
		for _, p := range EncodeChunks(big, MaxChunks) {
			_, _, err = a.Add(p)
		}
		if r := credential.ReasonOf(err); r != credential.ReasonTooLarge {
			t.Errorf("got %q (%v), want %q", r, err, credential.ReasonTooLarge)
		}
	})
}

// rawJWS assembles a JWS from a header, a raw payload (compressed with
// compress) and a signature made with key (nil: 64 zero bytes).
func rawJWS(t testing.TB, key *ecdsa.PrivateKey, header string, payload []byte, compress func([]byte) []byte) string {
	t.Helper()
	enc := base64.RawURLEncoding
	input := enc.EncodeToString([]byte(header)) + "." + enc.EncodeToString(compress(payload))
	sig := make([]byte, 64)
	if key != nil {
		sum := sha256.Sum256([]byte(input))
		r, s, err := ecdsa.Sign(rand.Reader, key, sum[:])
		if err != nil {
			t.Fatal(err)
		}
		r.FillBytes(sig[:32])
		s.FillBytes(sig[32:])
	}
	return input + "." + enc.EncodeToString(sig)
}

func deflate(b []byte) []byte {
	var buf bytes.Buffer
	w, _ := flate.NewWriter(&buf, flate.BestCompression)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func zlibbed(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestParseJWS(t *testing.T) {
	key := newKey(t)
	good := mustSign(t, key, testIss, testVC(""), testNbf, time.Time{})
	h, p, s := splitDots(good)
	hdr := `{"zip":"DEF","alg":"ES256","kid":"k"}`
	payload := []byte(`{"iss":"` + testIss + `","nbf":1}`)
	der := derSig(t, s)
	tests := []struct {
		name string
		jws  string
		want credential.Reason
	}{
		{"good", good, ""},
		{"padding", h + "=." + p + "." + s, credential.ReasonBadEncoding},
		{"line break", h + "." + p[:10] + "\n" + p[10:] + "." + s, credential.ReasonBadEncoding},
		{"trailing space", good + " ", credential.ReasonBadEncoding},
		{"byte-order mark", "\ufeff" + good, credential.ReasonBadEncoding},
		{"standard base64", h + "." + p + "+." + s, credential.ReasonBadEncoding},
		{"two segments", h + "." + p, credential.ReasonBadStructure},
		{"four segments", good + ".x", credential.ReasonBadStructure},
		{"empty payload", h + ".." + s, credential.ReasonBadStructure},
		{"non-canonical base64", h[:len(h)-1] + "f." + p + "." + s, credential.ReasonBadEncoding},
		{"DER signature", h + "." + p + "." + der, credential.ReasonBadSignature},
		{"short signature", h + "." + p + "." + s[:85], credential.ReasonBadSignature},
		{"alg none", rawJWS(t, nil, `{"zip":"DEF","alg":"none","kid":"k"}`, payload, deflate), credential.ReasonBadAlgorithm},
		{"alg ES384", rawJWS(t, nil, `{"zip":"DEF","alg":"ES384","kid":"k"}`, payload, deflate), credential.ReasonBadAlgorithm},
		{"no alg", rawJWS(t, nil, `{"zip":"DEF","kid":"k"}`, payload, deflate), credential.ReasonBadAlgorithm},
		{"no zip", rawJWS(t, nil, `{"alg":"ES256","kid":"k"}`, payload, func(b []byte) []byte { return b }), credential.ReasonBadCompression},
		{"zip GZIP", rawJWS(t, nil, `{"zip":"GZIP","alg":"ES256","kid":"k"}`, payload, deflate), credential.ReasonBadCompression},
		{"no kid", rawJWS(t, nil, `{"zip":"DEF","alg":"ES256"}`, payload, deflate), credential.ReasonBadStructure},
		{"long kid", rawJWS(t, nil, `{"zip":"DEF","alg":"ES256","kid":"`+strings.Repeat("k", 129)+`"}`, payload, deflate), credential.ReasonBadStructure},
		{"crit", rawJWS(t, nil, `{"zip":"DEF","alg":"ES256","kid":"k","crit":["b64"],"b64":false}`, payload, deflate), credential.ReasonBadStructure},
		{"header not an object", rawJWS(t, nil, `["ES256"]`, payload, deflate), credential.ReasonBadStructure},
		{"header too long", rawJWS(t, nil, `{"zip":"DEF","alg":"ES256","kid":"k","x":"`+strings.Repeat("x", MaxHeader)+`"}`, payload, deflate), credential.ReasonBadStructure},
		{"zlib instead of raw", rawJWS(t, nil, hdr, payload, zlibbed), credential.ReasonBadCompression},
		{"not compressed", rawJWS(t, nil, hdr, payload, func(b []byte) []byte { return b }), credential.ReasonBadCompression},
		{"inflates past the limit", rawJWS(t, nil, hdr, append(append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), credential.MaxInflated)...), `"}`...), deflate), credential.ReasonBadCompression},
		{"payload a string", rawJWS(t, nil, hdr, []byte(`"{\"iss\":\"x\"}"`), deflate), credential.ReasonBadStructure},
		{"payload an array", rawJWS(t, nil, hdr, []byte(`[]`), deflate), credential.ReasonBadStructure},
		{"payload with a byte-order mark", rawJWS(t, nil, hdr, append([]byte("\ufeff"), payload...), deflate), credential.ReasonBadStructure},
		{"data after the payload", rawJWS(t, nil, hdr, append(payload, "{}"...), deflate), credential.ReasonBadStructure},
		{"payload cut short", rawJWS(t, nil, hdr, []byte(`{"iss":"x",`), deflate), credential.ReasonBadStructure},
		{"iss a number: judged after the signature", rawJWS(t, nil, hdr, []byte(`{"iss":1}`), deflate), ""},
		{"too long", good + strings.Repeat("A", MaxJWS), credential.ReasonTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseJWS(tt.jws)
			if r := credential.ReasonOf(err); r != tt.want {
				t.Errorf("got reason %q (%v), want %q", r, err, tt.want)
			}
		})
	}
}

func splitDots(jws string) (h, p, s string) {
	parts := strings.Split(jws, ".")
	return parts[0], parts[1], parts[2]
}

// derSig re-encodes a base64url r‖s signature as ASN.1 DER.
func derSig(t testing.TB, s string) string {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	integer := func(b []byte) []byte {
		v := new(big.Int).SetBytes(b).Bytes()
		if v[0]&0x80 != 0 {
			v = append([]byte{0}, v...)
		}
		return append([]byte{2, byte(len(v))}, v...)
	}
	body := append(integer(raw[:32]), integer(raw[32:])...)
	return base64.RawURLEncoding.EncodeToString(append([]byte{0x30, byte(len(body))}, body...))
}

func TestVerify(t *testing.T) {
	key, other := newKey(t), newKey(t)
	kid := trust.Thumbprint(&key.PublicKey)
	store := storeWithCRL(t, key, testIss, "revokedRid.1740834000", "revokedAll")
	at := testNbf.Add(24 * time.Hour)
	exp := testNbf.Add(365 * 24 * time.Hour)
	tampered := func() string {
		h, _, s := splitDots(mustSign(t, key, testIss, testVC(""), testNbf, time.Time{}))
		_, p, _ := splitDots(mustSign(t, key, testIss, testVC("x"), testNbf, time.Time{}))
		return h + "." + p + "." + s
	}
	payload := func(s string) string {
		jws, err := SignPayload(key, "", []byte(s))
		if err != nil {
			t.Fatal(err)
		}
		return jws
	}
	tests := []struct {
		name  string
		jws   string
		store *trust.Store
		now   time.Time
		want  credential.Reason
	}{
		{"valid", mustSign(t, key, testIss, testVC("aRid"), testNbf, exp), store, at, ""},
		{"valid without exp", mustSign(t, key, testIss, testVC(""), testNbf, time.Time{}), store, at.Add(10 * 365 * 24 * time.Hour), ""},
		{"unknown key", mustSign(t, other, testIss, testVC(""), testNbf, exp), store, at, credential.ReasonUnknownKey},
		{"forged with the kid of a trusted key", func() string {
			jws, _ := Sign(other, kid, testIss, testVC(""), testNbf, exp)
			return jws
		}(), store, at, credential.ReasonBadSignature},
		{"payload swapped", tampered(), store, at, credential.ReasonBadSignature},
		{"another issuer", mustSign(t, key, "https://evil.example.org", testVC(""), testNbf, exp), store, at, credential.ReasonBadIssuer},
		{"any issuer when the key has none", mustSign(t, key, "https://any.example.org", testVC(""), testNbf, exp), trustKey(t, key, ""), at, ""},
		{"no iss", mustSign(t, key, "", testVC(""), testNbf, exp), trustKey(t, key, ""), at, credential.ReasonBadIssuer},
		{"key outside its window", mustSign(t, key, testIss, testVC(""), testNbf, exp), func() *trust.Store {
			s := trust.New()
			s.AddSHCKey(&trust.SHCKey{Issuer: testIss, KID: kid, Public: &key.PublicKey,
				Validity: trust.Validity{NotAfter: testNbf.Add(time.Hour)}})
			return s
		}(), at, credential.ReasonKeyNotValid},
		{"not yet valid", mustSign(t, key, testIss, testVC(""), testNbf, exp), store, testNbf.Add(-NotBeforeSkew - time.Second), credential.ReasonNotYetValid},
		{"within the clock skew", mustSign(t, key, testIss, testVC(""), testNbf, exp), store, testNbf.Add(-NotBeforeSkew + time.Second), ""},
		{"expired", mustSign(t, key, testIss, testVC(""), testNbf, exp), store, exp.Add(time.Second), credential.ReasonExpired},
		{"at exp", mustSign(t, key, testIss, testVC(""), testNbf, exp), store, exp, credential.ReasonExpired},
		{"exp before nbf", mustSign(t, key, testIss, testVC(""), testNbf, testNbf.Add(-time.Second)), store, testNbf.Add(-time.Hour), credential.ReasonExpired},
		{"revoked before its timestamp", mustSign(t, key, testIss, testVC("revokedRid"), testNbf, exp), store, at, credential.ReasonRevoked},
		{"reissued after its timestamp", mustSign(t, key, testIss, testVC("revokedRid"), time.Unix(1740834000, 0), exp), store, at, ""},
		{"revoked at any time", mustSign(t, key, testIss, testVC("revokedAll"), testNbf, exp), store, at, credential.ReasonRevoked},
		{"revoked and expired", mustSign(t, key, testIss, testVC("revokedAll"), testNbf, exp), store, exp.Add(time.Hour), credential.ReasonRevoked},
		{"malformed rid", mustSign(t, key, testIss, testVC("not/base64"), testNbf, exp), store, at, credential.ReasonBadStructure},
		{"no nbf", payload(`{"iss":"` + testIss + `","vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirBundle":{"resourceType":"Bundle"}}}}`), store, at, credential.ReasonBadStructure},
		{"nbf a string", payload(`{"iss":"` + testIss + `","nbf":"1740830400","vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirBundle":{"resourceType":"Bundle"}}}}`), store, at, credential.ReasonBadStructure},
		{"exp null", payload(`{"iss":"` + testIss + `","nbf":1,"exp":null,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirBundle":{"resourceType":"Bundle"}}}}`), store, at, credential.ReasonBadStructure},
		{"nbf not a time", payload(`{"iss":"` + testIss + `","nbf":-5,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirBundle":{"resourceType":"Bundle"}}}}`), store, at, credential.ReasonBadStructure},
		{"not a health card", payload(`{"iss":"` + testIss + `","nbf":1,"vc":{"type":["VerifiableCredential"],"credentialSubject":{"fhirBundle":{"resourceType":"Bundle"}}}}`), store, at, credential.ReasonBadStructure},
		{"no bundle", payload(`{"iss":"` + testIss + `","nbf":1,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{}}}`), store, at, credential.ReasonBadStructure},
		{"iss a number", payload(`{"iss":5,"nbf":1,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirBundle":{"resourceType":"Bundle"}}}}`), store, at, credential.ReasonBadIssuer},
		{"patient name a string", payload(`{"iss":"` + testIss + `","nbf":1,"vc":{"type":["https://smarthealth.cards#health-card"],"credentialSubject":{"fhirBundle":{"resourceType":"Bundle","entry":[{"resource":{"resourceType":"Patient","name":"Li"}}]}}}}`), store, at, credential.ReasonBadStructure},
		{"no vc", payload(`{"iss":"` + testIss + `","nbf":1}`), store, at, credential.ReasonBadStructure},
		{"vc of another shape", payload(`{"iss":"` + testIss + `","nbf":1,"vc":{"type":"x"}}`), store, at, credential.ReasonBadStructure},
		{"forged, the kid's key trusted for two issuers", func() string {
			jws, _ := Sign(other, kid, testIss, testVC(""), testNbf, exp)
			return jws
		}(), func() *trust.Store {
			s := trust.New()
			s.AddSHCKey(&trust.SHCKey{Issuer: "https://first.example.org", KID: kid, Public: &key.PublicKey})
			s.AddSHCKey(&trust.SHCKey{Issuer: testIss, KID: kid, Public: &key.PublicKey})
			return s
		}(), at, credential.ReasonBadSignature},
		{"the kid's key trusted for two issuers", mustSign(t, key, testIss, testVC(""), testNbf, exp), func() *trust.Store {
			s := trust.New()
			s.AddSHCKey(&trust.SHCKey{Issuer: "https://first.example.org", KID: kid, Public: &key.PublicKey})
			s.AddSHCKey(&trust.SHCKey{Issuer: testIss, KID: kid, Public: &key.PublicKey})
			return s
		}(), at, ""},
		{"no store", mustSign(t, key, testIss, testVC(""), testNbf, exp), nil, at, credential.ReasonNoTrust},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := Decode(EncodeNumeric(tt.jws))
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			c, err := u.Verify(tt.store, tt.now)
			if r := credential.ReasonOf(err); r != tt.want {
				t.Fatalf("got reason %q (%v), want %q", r, err, tt.want)
			}
			if err == nil && c == nil {
				t.Fatal("no credential and no error")
			}
		})
	}
}

func TestCredential(t *testing.T) {
	key := newKey(t)
	store := storeWithCRL(t, key, testIss)
	exp := testNbf.Add(365 * 24 * time.Hour)
	u, err := Decode(EncodeNumeric(mustSign(t, key, testIss, testVC("aRid"), testNbf, exp)))
	if err != nil {
		t.Fatal(err)
	}
	c, err := u.Verify(store, testNbf.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	want := &credential.Credential{
		Format: credential.FormatSHC, Issuer: testIss, KeyID: []byte(trust.Thumbprint(&key.PublicKey)),
		Holder: credential.Holder{Kind: credential.HolderPseudonym,
			Pseudonym: credential.Pseudonym(pseudonymKey, "Zhang", "San Feng", "1980-02-29")},
		DisplayName: "Zhang *",
		IssuedAt:    testNbf, NotBefore: testNbf, Expires: exp,
		Facts: &credential.Facts{Kind: "immunization", Count: 2, Product: "300",
			Date: time.Date(2024, 10, 15, 0, 0, 0, 0, time.UTC)},
		Revocation: "aRid",
	}
	got, _ := json.Marshal(c)
	wantJSON, _ := json.Marshal(want)
	if !bytes.Equal(got, wantJSON) || c.Revocation != want.Revocation {
		t.Errorf("got  %s\nwant %s", got, wantJSON)
	}
	if bytes.Contains(got, []byte("San")) {
		t.Errorf("credential keeps the given name: %s", got)
	}

	// Without a pseudonym key the holder stays unknown; the masked name
	// is still shown.
	s2 := trustKey(t, key, testIss)
	s2.SetPseudonymKey(nil)
	c, err = u.Verify(s2, testNbf.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if c.Holder.Kind != credential.HolderUnknown || c.DisplayName != "Zhang *" {
		t.Errorf("without a pseudonym key: holder %v, name %q, want unknown and %q", c.Holder, c.DisplayName, "Zhang *")
	}
}

func TestLabFacts(t *testing.T) {
	key := newKey(t)
	vc := map[string]any{
		"type": []string{"https://smarthealth.cards#health-card", "https://smarthealth.cards#laboratory"},
		"credentialSubject": map[string]any{"fhirVersion": "4.0.1", "fhirBundle": map[string]any{
			"resourceType": "Bundle", "type": "collection",
			"entry": []any{
				map[string]any{"resource": map[string]any{"resourceType": "Patient",
					"name": []any{map[string]any{"given": []string{"Wei"}}}, "birthDate": "1990"}},
				observation("2025-02-27T08:00:00Z", "260373001"),
				observation("2025-02-28T08:00:00+08:00", "260415000"),
			},
		}},
	}
	u, err := ParseJWS(mustSign(t, key, testIss, vc, testNbf, time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := u.Verify(trustKey(t, key, testIss), testNbf)
	if err != nil {
		t.Fatal(err)
	}
	f := c.Facts
	if f == nil || f.Kind != "test" || f.Count != 2 || f.Product != "http://loinc.org|94500-6" || f.TestResult != "not-detected" ||
		!f.Date.Equal(time.Date(2025, 2, 28, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("facts %+v, want the latest of 2 tests: LOINC 94500-6 not detected on 2025-02-28T00:00Z", f)
	}
	if c.DisplayName != "W *" || c.Holder.Kind != credential.HolderPseudonym {
		t.Errorf("holder %v, name %q, want a pseudonym and %q", c.Holder, c.DisplayName, "W *")
	}
}

func observation(at, result string) map[string]any {
	return map[string]any{"resource": map[string]any{
		"resourceType": "Observation", "status": "final",
		"code":                 map[string]any{"coding": []any{map[string]any{"system": "http://loinc.org", "code": "94500-6"}}},
		"effectiveDateTime":    at,
		"valueCodeableConcept": map[string]any{"coding": []any{map[string]any{"system": systemSNOMED, "code": result}}},
	}}
}

func TestParseFile(t *testing.T) {
	tests := []struct {
		name string
		data string
		n    int
		want credential.Reason
	}{
		{"one", `{"verifiableCredential":["a.b.c"]}`, 1, ""},
		{"two with a final line break", "{\"verifiableCredential\":[\"a.b.c\",\"d.e.f\"]}\r\n", 2, ""},
		{"trailing spaces", `{"verifiableCredential":["a.b.c"]}  `, 0, credential.ReasonBadStructure},
		{"leading space", ` {"verifiableCredential":["a.b.c"]}`, 0, credential.ReasonBadStructure},
		{"empty list", `{"verifiableCredential":[]}`, 0, credential.ReasonBadStructure},
		{"no list", `{}`, 0, credential.ReasonBadStructure},
		{"not strings", `{"verifiableCredential":[1]}`, 0, credential.ReasonBadStructure},
		{"array", `[]`, 0, credential.ReasonBadStructure},
		{"too many", `{"verifiableCredential":[` + strings.Repeat(`"a",`, MaxFileCards) + `"a"]}`, 0, credential.ReasonTooLarge},
		{"too large", strings.Repeat(" ", MaxFile+1), 0, credential.ReasonTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseFile([]byte(tt.data))
			if r := credential.ReasonOf(err); r != tt.want {
				t.Fatalf("got reason %q (%v), want %q", r, err, tt.want)
			}
			if len(got) != tt.n {
				t.Errorf("got %d JWS, want %d", len(got), tt.n)
			}
		})
	}
}

func TestQRWarnings(t *testing.T) {
	// "shc:/" and 20 digits: 4+8+40 + 4+10+67 = 133 bits; version 1 at L
	// holds 19 data bytes (152 bits), at H 9 (72 bits); version 2 at H
	// holds 16 (128 bits), version 3 at H 26.
	small := "shc:/" + strings.Repeat("56", 10)
	tests := []struct {
		version int
		ec      string
		text    string
		want    []Warning
	}{
		{1, "L", small, nil},
		{2, "L", small, []Warning{WarnQRInflated}},
		{3, "H", small, nil},
		{4, "H", small, []Warning{WarnQRInflated}},
		{22, "L", "not shc", nil},
		{23, "L", "not shc", []Warning{WarnQRVersion}},
		{40, "L", small, []Warning{WarnQRVersion, WarnQRInflated}},
		{5, "L", "shc:/1/2/" + strings.Repeat("5", 20), []Warning{WarnQRInflated}},
		{5, "X", small, nil},
		{5, "L", "shc:/12ab", nil},
	}
	for _, tt := range tests {
		got := QRWarnings(tt.version, tt.ec, tt.text)
		if len(got) != len(tt.want) || (len(got) > 0 && got[len(got)-1] != tt.want[len(tt.want)-1]) {
			t.Errorf("QRWarnings(%d, %s, %.12q) = %v, want %v", tt.version, tt.ec, tt.text, got, tt.want)
		}
	}
}

func TestSignRefuses(t *testing.T) {
	if _, err := Sign(newKey(t), "", testIss, testVC(""), time.Time{}, time.Time{}); err == nil {
		t.Error("Sign without nbf succeeded")
	}
	k384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if _, err := SignPayload(k384, "", []byte("{}")); err == nil {
		t.Error("SignPayload with a P-384 key succeeded")
	}
	if _, err := Sign(newKey(t), "", testIss, func() {}, testNbf, time.Time{}); err == nil {
		t.Error("Sign of an unencodable vc succeeded")
	}
}

func TestNamelessPatient(t *testing.T) {
	key := newKey(t)
	vc := map[string]any{
		"type": []string{"https://smarthealth.cards#health-card"},
		"credentialSubject": map[string]any{"fhirBundle": map[string]any{
			"resourceType": "Bundle",
			"entry": []any{
				map[string]any{"resource": map[string]any{"resourceType": "Patient", "birthDate": "1990-01-01"}},
				immunization("208", "2021-06-01"),
			},
		}},
	}
	u, err := ParseJWS(mustSign(t, key, testIss, vc, testNbf, time.Time{}))
	if err != nil {
		t.Fatal(err)
	}
	c, err := u.Verify(trustKey(t, key, testIss), testNbf)
	if err != nil {
		t.Fatal(err)
	}
	if c.Holder.Kind != credential.HolderUnknown || c.DisplayName != "" {
		t.Errorf("nameless patient: holder %v, name %q, want unknown and none", c.Holder, c.DisplayName)
	}
}
