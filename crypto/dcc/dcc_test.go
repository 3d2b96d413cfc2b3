package dcc

import (
	"bytes"
	"compress/zlib"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"strings"
	"testing"
	"time"

	"github.com/fxamacker/cbor/v2"

	"sentinel/crypto/base45"
	"sentinel/crypto/cose"
	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
)

func zlibOf(b []byte) []byte {
	var buf bytes.Buffer
	w := zlib.NewWriter(&buf)
	w.Write(b)
	w.Close()
	return buf.Bytes()
}

func TestDecodeReasons(t *testing.T) {
	cert, key := loadDSC(t, "es256-any")
	good, err := Sign(cert, key, vaccination(), "DE", vecIat, vecExp)
	if err != nil {
		t.Fatal(err)
	}
	bomb := zlibOf(make([]byte, credential.MaxInflated+1))
	trunc, _ := base45.DecodeString(strings.TrimPrefix(good, Prefix))
	badSum := append([]byte(nil), trunc...)
	badSum[len(badSum)-1] ^= 0xff
	tests := []struct {
		name    string
		payload string
		want    credential.Reason
	}{
		{"valid", good, ""},
		{"too long", Prefix + strings.Repeat("0", credential.MaxPayload), credential.ReasonTooLarge},
		{"HC2 context", "HC2:" + strings.TrimPrefix(good, Prefix), credential.ReasonUnknownFormat},
		{"HL0 context", "HL0:" + strings.TrimPrefix(good, Prefix), credential.ReasonUnknownFormat},
		{"no prefix", strings.TrimPrefix(good, Prefix), credential.ReasonUnknownFormat},
		{"lower-case prefix", "hc1:" + strings.TrimPrefix(good, Prefix), credential.ReasonUnknownFormat},
		{"empty", "", credential.ReasonUnknownFormat},
		{"prefix only", Prefix, credential.ReasonBadEncoding},
		{"base45 alphabet", Prefix + "abc", credential.ReasonBadEncoding},
		{"base45 dangling", Prefix + "0000", credential.ReasonBadEncoding},
		{"not compressed", Prefix + base45.EncodeToString([]byte{0xd2, 0x84, 0x40, 0xa0, 0x40, 0x40}), credential.ReasonBadCompression},
		{"truncated zlib", Prefix + base45.EncodeToString(trunc[:len(trunc)-5]), credential.ReasonBadCompression},
		{"bad zlib checksum", Prefix + base45.EncodeToString(badSum), credential.ReasonBadCompression},
		{"zlib bomb", Prefix + base45.EncodeToString(bomb), credential.ReasonBadCompression},
		{"not COSE", Prefix + base45.EncodeToString(zlibOf([]byte{0xa0})), credential.ReasonBadStructure},
		{"COSE of three", Prefix + base45.EncodeToString(zlibOf([]byte{0x83, 0x40, 0xa0, 0x40})), credential.ReasonBadStructure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := DecodeString(tt.payload)
			if got := credential.ReasonOf(err); got != tt.want {
				t.Fatalf("got reason %q (%v), want %q", got, err, tt.want)
			}
			if err != nil {
				var r *credential.Rejection
				if !errors.As(err, &r) || r.Format != credential.FormatDCC {
					t.Errorf("got %T %v, want a DCC *credential.Rejection", err, err)
				}
				if u != nil {
					t.Errorf("got a message with an error")
				}
			}
		})
	}
}

// signedWith builds an HC1 code by hand: protected header {alg, kid}, the
// claims of a good vaccination, signed by key under hash alg sigAlg.
func signedWith(t *testing.T, alg, sigAlg int64, kid []byte, key *ecdsa.PrivateKey, iat, exp time.Time) string {
	t.Helper()
	payload, err := cose.EncMode().Marshal(map[int]any{1: "DE", 4: exp.Unix(), 6: iat.Unix(), -260: map[int]any{1: vaccination()}})
	if err != nil {
		t.Fatal(err)
	}
	prot, _ := cose.EncMode().Marshal(map[int]any{1: alg, 4: kid})
	m := cose.Sign1{RawProtected: prot, Payload: payload}
	sig, err := cose.SignRaw(rand.Reader, key, sigAlg, m.AppendSigStructure(nil))
	if err != nil {
		t.Fatal(err)
	}
	b, _ := cose.EncMode().Marshal(cbor.Tag{Number: cose.TagSign1, Content: []any{prot, map[int]any{}, payload, sig}})
	code, err := Encode(b)
	if err != nil {
		t.Fatal(err)
	}
	return code
}

func selfSigned(t *testing.T, key *ecdsa.PrivateKey) *x509.Certificate {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"},
		NotBefore: vecDSCValidity.NotBefore, NotAfter: vecDSCValidity.NotAfter}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	c, _ := x509.ParseCertificate(der)
	return c
}

func TestVerifyReasons(t *testing.T) {
	cert, key := loadDSC(t, "es256-any")
	code, err := Sign(cert, key, vaccination(), "DE", vecIat, vecExp)
	if err != nil {
		t.Fatal(err)
	}
	trusted := func() *trust.Store {
		s := trust.New()
		if _, err := s.AddDSC(cert); err != nil {
			t.Fatal(err)
		}
		return s
	}
	other, _ := loadDSC(t, "es256-vacc")
	otherStore := trust.New()
	otherStore.AddDSC(other)
	revoked := trusted()
	revoked.RevokeDSC(trust.KeyIDOf(cert.Raw))

	p384, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	c384 := selfSigned(t, p384)
	s384 := trust.New()
	s384.AddDSC(c384)
	kid384 := trust.KeyIDOf(c384.Raw)
	es256on384 := signedWith(t, cose.AlgES256, cose.AlgES384, kid384[:], p384, vecIat, vecExp)
	es384 := signedWith(t, cose.AlgES384, cose.AlgES384, kid384[:], p384, vecIat, vecExp)

	tests := []struct {
		name  string
		code  string
		store *trust.Store
		now   time.Time
		want  credential.Reason
	}{
		{"valid", code, trusted(), vecClock, ""},
		{"no clock", code, trusted(), time.Time{}, credential.ReasonClockUntrusted},
		{"nil store", code, nil, vecClock, credential.ReasonNoTrust},
		{"empty store", code, trust.New(), vecClock, credential.ReasonNoTrust},
		{"unknown kid", code, otherStore, vecClock, credential.ReasonUnknownKey},
		{"revoked DSC", code, revoked, vecClock, credential.ReasonKeyRevoked},
		{"ES256 header over a P-384 key", es256on384, s384, vecClock, credential.ReasonBadAlgorithm},
		{"ES384", es384, s384, vecClock, credential.ReasonBadAlgorithm},
		{"at exp", code, trusted(), vecExp, ""},
		{"after exp", code, trusted(), vecExp.Add(time.Second), credential.ReasonExpired},
		{"before iat", code, trusted(), vecIat.Add(-time.Second), credential.ReasonNotYetValid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := DecodeString(tt.code)
			if err != nil {
				t.Fatal(err)
			}
			cred, err := u.Verify(tt.store, Options{Now: tt.now})
			if got := credential.ReasonOf(err); got != tt.want {
				t.Fatalf("got reason %q (%v), want %q", got, err, tt.want)
			}
			if err == nil && cred.Holder.Kind != credential.HolderUnknown {
				t.Errorf("got holder kind %v without a pseudonym key, want unknown", cred.Holder.Kind)
			}
		})
	}
}

func TestTolerance(t *testing.T) {
	cert, key := loadDSC(t, "es256-any")
	code, _ := Sign(cert, key, vaccination(), "DE", vecClock.Add(time.Minute), vecExp)
	s := trust.New()
	s.AddDSC(cert)
	v := NewVerifier(s)
	if _, err := v.Verify([]byte(code), Options{Now: vecClock}); credential.ReasonOf(err) != credential.ReasonNotYetValid {
		t.Errorf("got %v without tolerance, want not-yet-valid", err)
	}
	if _, err := v.Verify([]byte(code), Options{Now: vecClock, Tolerance: 2 * time.Minute}); err != nil {
		t.Errorf("got %v with a 2-minute tolerance, want accepted", err)
	}
}

func TestSkipSchema(t *testing.T) {
	cert, key := loadDSC(t, "es256-any")
	h := vaccination()
	h.DOB = "1815-08-24"
	code, _ := Sign(cert, key, h, "DE", vecIat, vecExp)
	s := trust.New()
	s.AddDSC(cert)
	v := NewVerifier(s)
	if _, err := v.Verify([]byte(code), Options{Now: vecClock}); credential.ReasonOf(err) != credential.ReasonSchema {
		t.Errorf("got %v, want schema", err)
	}
	if _, err := v.Verify([]byte(code), Options{Now: vecClock, SkipSchema: true}); err != nil {
		t.Errorf("got %v with SkipSchema, want accepted", err)
	}
}

func TestSignRefusesForeignKey(t *testing.T) {
	cert, _ := loadDSC(t, "es256-any")
	_, key := loadDSC(t, "es256-vacc")
	if _, err := Sign(cert, key, vaccination(), "DE", vecIat, vecExp); err == nil {
		t.Error("Sign accepted a key that is not the certificate's")
	}
}

func TestParseTime(t *testing.T) {
	want := time.Date(2021, 5, 3, 18, 0, 0, 0, time.UTC)
	for _, s := range []string{
		"2021-05-03T18:00:00Z", "2021-05-03T18:00:00.000Z", "2021-05-03T18:00:00.000000Z",
		"2021-05-03T18:00:00.000000000Z", "2021-05-03T18:00:00.000000", "2021-05-03T20:00:00+02:00",
		"2021-05-03T20:00:00+0200", "2021-05-03T20:00:00.000+02:00", "2021-05-03T20:00:00.0000+02:00",
		"2021-05-03T20:00:00.000000+02:00", "2021-05-03T20:00:00.0000000+02:00", "2021-05-03T18:00:00",
	} {
		if got := ParseTime(s); !got.Equal(want) {
			t.Errorf("ParseTime(%q): got %v, want %v", s, got, want)
		}
	}
	for _, s := range []string{"", "2021-05-03", "yesterday", "2021-05-03T18:00:00+02", "2021-05-03T18:00:00+:0000"} {
		if got := ParseTime(s); !got.IsZero() {
			t.Errorf("ParseTime(%q): got %v, want the zero time", s, got)
		}
	}
}

func TestSchemasCompile(t *testing.T) {
	vers := SchemaVersions()
	if len(vers) < 5 {
		t.Fatalf("got %d embedded schemas %v, want the 9 released versions", len(vers), vers)
	}
	for _, sv := range schemas() {
		if _, err := sv.compile(); err != nil {
			t.Errorf("schema %s: %v", sv.name, err)
		}
	}
	for _, tt := range []struct{ ver, want string }{
		{"1.0.0", "1.0.0"}, {"1.2.9", "1.2.1"}, {"1.3.0", "1.3.0"}, {"2.0.0", vers[len(vers)-1]},
	} {
		sv, err := schemaFor(tt.ver)
		if err != nil || sv.name != tt.want {
			t.Errorf("schemaFor(%q): got %v %v, want %s", tt.ver, sv, err, tt.want)
		}
	}
	for _, bad := range []string{"", "0.9.0", "1.3", "1.3.x", "v1.3.0"} {
		if _, err := schemaFor(bad); credential.ReasonOf(err) != credential.ReasonSchema {
			t.Errorf("schemaFor(%q): got %v, want a schema rejection", bad, err)
		}
	}
}

func TestJSONTree(t *testing.T) {
	raw, _ := cbor.Marshal(map[any]any{"a": []any{uint64(1), -2, 1.5, []byte{1, 2}, nil, true}, 7: "x"})
	got, err := JSONTree(raw)
	if err != nil {
		t.Fatal(err)
	}
	m := got.(map[string]any)
	if m["7"] != "x" {
		t.Errorf("got key 7 → %v, want x", m["7"])
	}
	a := m["a"].([]any)
	if a[3] != "AQI=" || a[2] != 1.5 || a[4] != nil || a[5] != true {
		t.Errorf("got %#v", a)
	}
	nan, _ := cbor.Marshal(map[string]any{"n": float32NaN()})
	if _, err := JSONTree(nan); err == nil {
		t.Error("JSONTree took a NaN")
	}
}

func float32NaN() float64 {
	z := 0.0
	return z / z
}

func TestKeyUsageOIDs(t *testing.T) {
	for name, want := range map[string]usage{
		"es256-any":      {true, true, true},
		"es256-vacc":     {vacc: true},
		"es256-test-0":   {test: true},
		"ps256-recovery": {rec: true},
	} {
		cert, _ := loadDSC(t, name)
		if got := usageOf(cert); got != want {
			t.Errorf("%s: got %+v, want %+v", name, got, want)
		}
	}
}
