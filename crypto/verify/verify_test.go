package verify

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/dcc"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/shc"
	"sentinel/crypto/trust"
)

var now = time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)

// fixture issues one code of each format and a store that trusts their keys.
type fixture struct {
	store                *trust.Store
	native, dccCode, shc string
}

func newFixture(t testing.TB) fixture {
	t.Helper()
	store := trust.New()

	_, edKey, _ := ed25519.GenerateKey(rand.Reader)
	if _, err := store.AddNativeKey("ZJ", edKey.Public(), trust.Validity{}); err != nil {
		t.Fatal(err)
	}
	iss, err := healthcode.NewIssuer("ZJ", edKey, &healthcode.IssuerOptions{Clock: func() time.Time { return now.Add(-time.Hour) }})
	if err != nil {
		t.Fatal(err)
	}
	native, err := iss.Issue(healthcode.Claims{Index: 42, Colour: credential.ColourGreen, DisplayName: "Zhang *"})
	if err != nil {
		t.Fatal(err)
	}

	dscKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "Sentinel test DSC", Country: []string{"CN"}},
		NotBefore: now.AddDate(-1, 0, 0), NotAfter: now.AddDate(1, 0, 0),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, dscKey.Public(), dscKey)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	if _, err := store.AddDSC(cert); err != nil {
		t.Fatal(err)
	}
	hcert := map[string]any{
		"ver": "1.3.0", "dob": "1990-01-01",
		"nam": map[string]any{"fn": "Zhang", "fnt": "ZHANG", "gn": "San", "gnt": "SAN"},
		"v": []any{map[string]any{"tg": "840539006", "vp": "1119349007", "mp": "EU/1/20/1528", "ma": "ORG-100030215",
			"dn": 2, "sd": 2, "dt": "2021-06-01", "co": "CN", "is": "Sentinel test", "ci": "URN:UVCI:01:CN:TEST#1"}},
	}
	dccCode, err := dcc.Sign(cert, dscKey, hcert, "CN", now.Add(-time.Hour), now.AddDate(0, 6, 0))
	if err != nil {
		t.Fatal(err)
	}

	shcKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	store.AddSHCKey(&trust.SHCKey{KID: trust.Thumbprint(&shcKey.PublicKey), Public: &shcKey.PublicKey})
	vc := map[string]any{
		"type": []string{"https://smarthealth.cards#health-card"},
		"credentialSubject": map[string]any{"fhirVersion": "4.0.1", "fhirBundle": map[string]any{
			"resourceType": "Bundle", "type": "collection", "entry": []any{
				map[string]any{"fullUrl": "resource:0", "resource": map[string]any{"resourceType": "Patient",
					"name": []any{map[string]any{"family": "Zhang", "given": []string{"San"}}}, "birthDate": "1990-01-01"}},
			}}},
	}
	jws, err := shc.Sign(shcKey, "", "https://issuer.example", vc, now.Add(-time.Hour), time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	return fixture{store: store, native: native, dccCode: dccCode, shc: shc.EncodeNumeric(jws)}
}

func TestVerifyRoutesEveryFormat(t *testing.T) {
	fx := newFixture(t)
	fx.store.SetPseudonymKey(make([]byte, 32))
	v := New(fx.store)
	tests := []struct {
		name    string
		payload string
		format  credential.Format
	}{
		{"native", fx.native, credential.FormatNative},
		{"eu-dcc", fx.dccCode, credential.FormatDCC},
		{"shc", fx.shc, credential.FormatSHC},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := v.Verify([]byte(tt.payload), Options{Now: now})
			if err != nil {
				t.Fatalf("Verify: %v", err)
			}
			if c.Format != tt.format {
				t.Errorf("format = %q, want %q", c.Format, tt.format)
			}
			if c.Holder.Kind == credential.HolderUnknown {
				t.Errorf("holder unknown, want a native index or a pseudonym")
			}
			if c.DisplayName != "Zhang *" {
				t.Errorf("display name = %q, want %q", c.DisplayName, "Zhang *")
			}
		})
	}
}

func TestVerifyRefusals(t *testing.T) {
	fx := newFixture(t)
	v := New(fx.store)
	tests := []struct {
		name    string
		v       *Verifier
		payload string
		opts    Options
		want    credential.Reason
	}{
		{"too large", v, "HC1:" + strings.Repeat("A", credential.MaxPayload), Options{Now: now}, credential.ReasonTooLarge},
		{"unknown prefix", v, "HC2:" + fx.dccCode[4:], Options{Now: now}, credential.ReasonUnknownFormat},
		{"plain text", v, "https://example.com/", Options{Now: now}, credential.ReasonUnknownFormat},
		{"no trust", New(trust.New()), fx.native, Options{Now: now}, credential.ReasonNoTrust},
		{"native expired", v, fx.native, Options{Now: now.Add(48 * time.Hour)}, credential.ReasonExpired},
		{"dcc untrusted clock", v, fx.dccCode, Options{}, credential.ReasonClockUntrusted},
		{"shc tampered", v, fx.shc[:len(fx.shc)-2] + "00", Options{Now: now}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tt.v.Verify([]byte(tt.payload), tt.opts)
			if err == nil {
				t.Fatalf("accepted %+v, want a refusal", c)
			}
			got := credential.ReasonOf(err)
			if got == "" {
				t.Fatalf("error %v is not a *credential.Rejection", err)
			}
			if tt.want != "" && got != tt.want {
				t.Errorf("reason = %q, want %q (%v)", got, tt.want, err)
			}
		})
	}
}

func FuzzVerify(f *testing.F) {
	fx := newFixture(f)
	v := New(fx.store)
	for _, s := range []string{fx.native, fx.dccCode, fx.shc, "shc:/1/2/56", "HC1:", "HCN1:NCF", "eyJhbGciOiJFUzI1NiJ9.e30.AA"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := v.Verify(payload, Options{Now: now})
		if err != nil {
			if credential.ReasonOf(err) == "" {
				t.Fatalf("untyped error %v", err)
			}
			return
		}
		if c == nil || c.Format == "" {
			t.Fatalf("accepted without a credential: %+v", c)
		}
	})
}

func BenchmarkVerifyNative(b *testing.B) {
	fx := newFixture(b)
	v := New(fx.store)
	p := []byte(fx.native)
	for b.Loop() {
		if _, err := v.Verify(p, Options{Now: now}); err != nil {
			b.Fatal(err)
		}
	}
}

// TestFingerprint: every format gives a credential a fingerprint that is
// the same for every copy of the code and differs between codes, so that
// a terminal's replay memory knows a code without naming its holder.
func TestFingerprint(t *testing.T) {
	a, b := newFixture(t), newFixture(t)
	a.store.SetPseudonymKey(make([]byte, 32))
	b.store.SetPseudonymKey(make([]byte, 32))
	va, vb := New(a.store), New(b.store)
	for _, tt := range []struct{ name, codeA, codeB string }{
		{"native", a.native, b.native},
		{"eu-dcc", a.dccCode, b.dccCode},
		{"shc", a.shc, b.shc},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c1, err := va.Verify([]byte(tt.codeA), Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			c2, err := va.Verify([]byte(tt.codeA), Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			other, err := vb.Verify([]byte(tt.codeB), Options{Now: now})
			if err != nil {
				t.Fatal(err)
			}
			if c1.Fingerprint == [32]byte{} || c1.Fingerprint != c2.Fingerprint {
				t.Errorf("fingerprints %x and %x of one code, want equal and set", c1.Fingerprint, c2.Fingerprint)
			}
			if c1.Fingerprint == other.Fingerprint {
				t.Errorf("two codes of the same holder share fingerprint %x", c1.Fingerprint)
			}
		})
	}
}
