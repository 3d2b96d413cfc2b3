package dcc

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/corpustest"
)

// fuzzSeeds returns our own codes and, when the corpus is present, its
// PREFIX strings and COSE payloads.
func fuzzSeeds(f *testing.F) (codes [][]byte, payloads [][]byte) {
	for _, v := range vectors {
		b, err := os.ReadFile(filepath.Join("testdata", v.name, "code.txt"))
		if err != nil {
			f.Fatalf("%v (run go test -run TestVectors -update)", err)
		}
		code := bytes.TrimSpace(b)
		codes = append(codes, code)
		if u, err := Decode(code); err == nil {
			payloads = append(payloads, u.msg.Payload)
		}
	}
	dir := corpustest.Path(f, "eu-dcc")
	if _, err := os.Stat(dir); err == nil {
		for i, rel := range corpusCases(f, dir) {
			if i%7 != 0 && !bytes.Contains([]byte(rel), []byte("common")) {
				continue // a sample keeps the seed corpus small
			}
			var c corpusCase
			b, _ := os.ReadFile(filepath.Join(dir, rel))
			if json.Unmarshal(b, &c) != nil {
				continue
			}
			codes = append(codes, []byte(c.PREFIX))
			if m, err := hex.DecodeString(c.COSE); err == nil {
				var u Unverified
				if u.parseCOSE(m) == nil {
					payloads = append(payloads, u.msg.Payload)
				}
			}
		}
	}
	codes = append(codes, []byte(""), []byte("HC1:"), []byte("HC2:6BFOXN"), []byte("HC1:6BFOXN*TS0BI$ZDFRH"))
	return codes, payloads
}

func checkRejection(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var r *credential.Rejection
	if !errors.As(err, &r) || r.Reason == "" {
		t.Fatalf("got %T %v, want a *credential.Rejection with a reason", err, err)
	}
}

// FuzzDecode feeds outside bytes to the HC1 decoder: prefix, Base45, zlib
// and COSE.
func FuzzDecode(f *testing.F) {
	codes, _ := fuzzSeeds(f)
	for _, c := range codes {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		u, err := Decode(payload)
		checkRejection(t, err)
		if err == nil {
			_, _ = u.Alg()
			_ = u.KID()
		}
	})
}

// FuzzVerify runs the whole verifier, with the schema, on outside bytes.
func FuzzVerify(f *testing.F) {
	codes, _ := fuzzSeeds(f)
	for _, c := range codes {
		f.Add(c)
	}
	store := trust.New()
	for name := range testDSCs {
		cert, _ := loadDSC(f, name)
		if _, err := store.AddDSC(cert); err != nil {
			f.Fatal(err)
		}
	}
	store.SetPseudonymKey(vecPseudonymKey)
	store.SetValueSets(testValueSets(f, true))
	v := NewVerifier(store)
	f.Fuzz(func(t *testing.T, payload []byte) {
		cred, err := v.Verify(payload, Options{Now: vecClock})
		checkRejection(t, err)
		if err == nil && cred == nil {
			t.Fatal("no credential and no error")
		}
	})
}

// FuzzPayload runs the stages after the signature (claims, hcert, time,
// key usage, schema, mapping) on outside CWT payloads: what an issuer
// signs is outside bytes too.
func FuzzPayload(f *testing.F) {
	_, payloads := fuzzSeeds(f)
	for _, p := range payloads {
		f.Add(p)
	}
	cert, _ := loadDSC(f, "es256-vacc")
	dsc := &trust.DSC{KID: trust.KeyIDOf(cert.Raw), Cert: cert, Public: cert.PublicKey}
	vs := testValueSets(f, false)
	f.Fuzz(func(t *testing.T, payload []byte) {
		var one content
		oneErr := decodeContent(payload, &one)
		checkRejection(t, oneErr)
		var p content
		claims, err := decodeClaims(payload)
		if err == nil {
			err = decodeHCert(claims.HCert.V1, &p.HCert)
		}
		checkRejection(t, err)
		if err != nil {
			if credential.ReasonOf(oneErr) != credential.ReasonOf(err) {
				t.Fatalf("one pass says %v, two steps %v", oneErr, err)
			}
			return
		}
		p.Issuer, p.IssuedAt, p.Expires = claims.Iss, claims.Iat.Time(), claims.Exp.Time()
		if oneErr != nil || !reflect.DeepEqual(one, p) {
			t.Fatalf("one pass (%v) and two steps disagree: %+v vs %+v", oneErr, one, p)
		}
		checkRejection(t, checkTime(dsc, &p, vecClock, 0))
		checkRejection(t, p.HCert.checkOne())
		checkRejection(t, checkKeyUsage(cert, &p.HCert))
		checkRejection(t, validateSchema(claims.HCert.V1, p.HCert.Ver))
		p.HCert.lenient()
		_, err = p.HCert.checkValueSets(vs)
		checkRejection(t, err)
		p.HCert.facts()
	})
}

// TestDecodeContentAgrees checks that the one-pass decoding and the two
// steps agree on the fuzz seeds.
func TestDecodeContentAgrees(t *testing.T) {
	for _, v := range vectors {
		b, err := os.ReadFile(filepath.Join("testdata", v.name, "code.txt"))
		if err != nil {
			t.Fatal(err)
		}
		u, err := Decode(bytes.TrimSpace(b))
		if err != nil {
			continue
		}
		var one, two content
		if err := decodeContent(u.msg.Payload, &one); err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		claims, err := decodeClaims(u.msg.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if err := decodeHCert(claims.HCert.V1, &two.HCert); err != nil {
			t.Fatal(err)
		}
		two.Issuer, two.IssuedAt, two.Expires = claims.Iss, claims.Iat.Time(), claims.Exp.Time()
		if !reflect.DeepEqual(one, two) {
			t.Errorf("%s: one pass %+v, two steps %+v", v.name, one, two)
		}
	}
}
