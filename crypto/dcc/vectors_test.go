package dcc

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/json"
	"encoding/pem"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/base45"
	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/inflate"
)

var update = flag.Bool("update", false, "regenerate the test vectors under testdata/")

// The pinned clock of our own vectors, and the pseudonym key they use.
var (
	vecClock        = time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
	vecPseudonymKey = []byte("sentinel test pseudonym key")
	vecDSCValidity  = trust.Validity{NotBefore: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2028, 1, 1, 0, 0, 0, 0, time.UTC)}
)

// dscSpec describes a document signer certificate of our own.
type dscSpec struct {
	rsa  bool
	ekus []asn1.ObjectIdentifier
	v    trust.Validity
}

var testDSCs = map[string]dscSpec{
	"es256-any":      {v: vecDSCValidity},
	"es256-vacc":     {ekus: []asn1.ObjectIdentifier{oidVaccination[0]}, v: vecDSCValidity},
	"es256-test-0":   {ekus: []asn1.ObjectIdentifier{oidTest[1]}, v: vecDSCValidity}, // the 0.1847 arc
	"es256-short":    {v: trust.Validity{NotBefore: vecDSCValidity.NotBefore, NotAfter: time.Date(2026, 9, 1, 0, 0, 0, 0, time.UTC)}},
	"es256-expired":  {v: trust.Validity{NotBefore: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), NotAfter: time.Date(2026, 5, 15, 0, 0, 0, 0, time.UTC)}},
	"ps256-any":      {rsa: true, v: vecDSCValidity},
	"ps256-recovery": {rsa: true, ekus: []asn1.ObjectIdentifier{oidRecovery[0]}, v: vecDSCValidity},
}

// vector is one code of our own: which DSC signs what, and what the
// verifier must say at vecClock.
type vector struct {
	name     string
	dsc      string
	hcert    func() *HCert
	iat, exp time.Time
	tamper   func(t *testing.T, code string) string
	want     credential.Reason // "" means accepted
}

var (
	vecIat = time.Date(2026, 5, 20, 8, 0, 0, 0, time.UTC)
	vecExp = time.Date(2027, 5, 20, 8, 0, 0, 0, time.UTC)
)

func vaccination() *HCert {
	return &HCert{
		Ver: "1.3.0",
		Nam: Name{FN: "Müller", FNT: "MUELLER", GN: "Anna Maria", GNT: "ANNA<MARIA"},
		DOB: "1980-04-12",
		V: []Vaccination{{TG: "840539006", VP: "1119349007", MP: "EU/1/20/1528", MA: "ORG-100030215",
			DN: 2, SD: 2, DT: "2026-05-10", CO: "DE", IS: "Sentinel Test Issuer", CI: "URN:UVCI:01:DE:SENTINEL/TEST/0001#4"}},
	}
}

func testCert() *HCert {
	return &HCert{
		Ver: "1.3.0",
		Nam: Name{FNT: "ZHANG", GNT: "WEI"},
		DOB: "1990",
		T: []Test{{TG: "840539006", TT: "LP217198-3", MA: "1232", SC: "2026-05-19T07:30:00Z", TR: "260415000",
			TC: "Test centre", CO: "AT", IS: "Sentinel Test Issuer", CI: "URN:UVCI:01:AT:SENTINEL0002#7"}},
	}
}

func recovery() *HCert {
	return &HCert{
		Ver: "1.3.0",
		Nam: Name{FN: "Dupont", FNT: "DUPONT", GN: "Jeanne", GNT: "JEANNE"},
		DOB: "1975-11-02",
		R: []Recovery{{TG: "840539006", FR: "2026-04-01", CO: "FR", IS: "Sentinel Test Issuer",
			DF: "2026-04-12", DU: "2026-10-01", CI: "URN:UVCI:01:FR:SENTINEL0003#2"}},
	}
}

var vectors = []vector{
	{name: "es256-vaccination", dsc: "es256-vacc", hcert: vaccination, iat: vecIat, exp: vecExp},
	{name: "es256-test-0arc", dsc: "es256-test-0", hcert: testCert, iat: vecIat, exp: vecExp},
	{name: "ps256-recovery", dsc: "ps256-recovery", hcert: recovery, iat: vecIat, exp: vecExp},
	{name: "ps256-no-eku-vaccination", dsc: "ps256-any", hcert: vaccination, iat: vecIat, exp: vecExp},
	{name: "key-usage-test-by-vacc-dsc", dsc: "es256-vacc", hcert: testCert, iat: vecIat, exp: vecExp, want: credential.ReasonKeyUsage},
	{name: "key-usage-vacc-by-recovery-dsc", dsc: "ps256-recovery", hcert: vaccination, iat: vecIat, exp: vecExp, want: credential.ReasonKeyUsage},
	{name: "expired", dsc: "es256-any", hcert: vaccination, iat: vecIat.AddDate(0, -2, 0), exp: vecIat.AddDate(0, 0, -1), want: credential.ReasonExpired},
	{name: "issued-in-future", dsc: "es256-any", hcert: vaccination, iat: vecClock.Add(time.Hour), exp: vecExp, want: credential.ReasonNotYetValid},
	{name: "exp-after-dsc", dsc: "es256-short", hcert: vaccination, iat: vecIat, exp: vecExp, want: credential.ReasonKeyNotValid},
	{name: "dsc-expired", dsc: "es256-expired", hcert: vaccination, iat: time.Date(2026, 5, 1, 0, 0, 0, 0, time.UTC), exp: time.Date(2026, 5, 14, 0, 0, 0, 0, time.UTC).AddDate(0, 1, 0), want: credential.ReasonKeyNotValid},
	{name: "schema-dob", dsc: "es256-any", hcert: func() *HCert { h := vaccination(); h.DOB = "1815-08-24"; return h }, iat: vecIat, exp: vecExp, want: credential.ReasonSchema},
	{name: "schema-two-groups", dsc: "es256-any", hcert: func() *HCert { h := vaccination(); h.R = recovery().R; return h }, iat: vecIat, exp: vecExp, want: credential.ReasonSchema},
	{name: "bad-signature", dsc: "es256-any", hcert: vaccination, iat: vecIat, exp: vecExp, tamper: flipSignature, want: credential.ReasonBadSignature},
	{name: "untagged", dsc: "es256-any", hcert: vaccination, iat: vecIat, exp: vecExp, tamper: untagged, want: ""},
}

// recode inflates a code, lets f change the COSE bytes, and encodes again.
func recode(t *testing.T, code string, f func([]byte) []byte) string {
	t.Helper()
	raw, err := base45.DecodeString(strings.TrimPrefix(code, Prefix))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := inflate.Zlib(nil, raw, credential.MaxInflated)
	if err != nil {
		t.Fatal(err)
	}
	out, err := Encode(f(msg))
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func flipSignature(t *testing.T, code string) string {
	return recode(t, code, func(b []byte) []byte { b[len(b)-1] ^= 1; return b })
}

// untagged drops the COSE tag: the signature stays valid, since the tag is
// not signed.
func untagged(t *testing.T, code string) string {
	return recode(t, code, func(b []byte) []byte {
		if b[0] != 0xd2 {
			t.Fatalf("not tagged: %x", b[:2])
		}
		return b[1:]
	})
}

func newDSC(t *testing.T, name string, spec dscSpec) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	var key crypto.Signer
	var err error
	if spec.rsa {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:       big.NewInt(time.Now().UnixNano()),
		Subject:            pkix.Name{CommonName: "Sentinel test DSC " + name, Country: []string{"DE"}},
		NotBefore:          spec.v.NotBefore,
		NotAfter:           spec.v.NotAfter,
		KeyUsage:           x509.KeyUsageDigitalSignature,
		UnknownExtKeyUsage: spec.ekus,
	}
	if spec.rsa {
		tmpl.SignatureAlgorithm = x509.SHA256WithRSAPSS
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// golden is what a vector's want.json holds.
type golden struct {
	Reason     credential.Reason `json:"reason,omitempty"`
	Credential json.RawMessage   `json:"credential,omitempty"`
}

// regenerate writes testdata/dsc/<name>/{cert.pem,key.pem} and
// testdata/<vector>/{dsc,code.txt,want.json}.
func regenerate(t *testing.T) {
	certs := map[string]*x509.Certificate{}
	keys := map[string]crypto.Signer{}
	for name, spec := range testDSCs {
		cert, key := newDSC(t, name, spec)
		certs[name], keys[name] = cert, key
		der, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		dir := filepath.Join("testdata", "dsc", name)
		writeFile(t, filepath.Join(dir, "cert.pem"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: cert.Raw}))
		writeFile(t, filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}))
	}
	for _, v := range vectors {
		code, err := Sign(certs[v.dsc], keys[v.dsc], v.hcert(), countryOf(v.hcert()), v.iat, v.exp)
		if err != nil {
			t.Fatalf("%s: %v", v.name, err)
		}
		if v.tamper != nil {
			code = v.tamper(t, code)
		}
		dir := filepath.Join("testdata", v.name)
		writeFile(t, filepath.Join(dir, "dsc"), []byte(v.dsc+"\n"))
		writeFile(t, filepath.Join(dir, "code.txt"), []byte(code+"\n"))
		cred, err := verifyVector(t, v.dsc, code)
		g := golden{Reason: credential.ReasonOf(err)}
		if cred != nil {
			g.Credential, _ = json.Marshal(cred)
		}
		b, _ := json.MarshalIndent(g, "", "  ")
		writeFile(t, filepath.Join(dir, "want.json"), append(b, '\n'))
	}
}

func countryOf(h *HCert) string { return h.country() }

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

func loadDSC(t testing.TB, name string) (*x509.Certificate, crypto.Signer) {
	t.Helper()
	dir := filepath.Join("testdata", "dsc", name)
	b, err := os.ReadFile(filepath.Join(dir, "cert.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ := pem.Decode(b)
	cert, err := x509.ParseCertificate(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	b, err = os.ReadFile(filepath.Join(dir, "key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	blk, _ = pem.Decode(b)
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return cert, k.(crypto.Signer)
}

func verifyVector(t testing.TB, dsc, code string) (*credential.Credential, error) {
	t.Helper()
	cert, _ := loadDSC(t, dsc)
	store := trust.New()
	if _, err := store.AddDSC(cert); err != nil {
		t.Fatal(err)
	}
	store.SetPseudonymKey(vecPseudonymKey)
	return NewVerifier(store).Verify([]byte(code), Options{Now: vecClock})
}

func TestVectors(t *testing.T) {
	if *update {
		regenerate(t)
	}
	for _, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			dir := filepath.Join("testdata", v.name)
			code, err := os.ReadFile(filepath.Join(dir, "code.txt"))
			if err != nil {
				t.Fatalf("%v (run go test -run TestVectors -update)", err)
			}
			var want golden
			b, err := os.ReadFile(filepath.Join(dir, "want.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(b, &want); err != nil {
				t.Fatal(err)
			}
			if want.Reason != v.want {
				t.Fatalf("golden reason %q, the table says %q: regenerate with -update", want.Reason, v.want)
			}
			cred, err := verifyVector(t, v.dsc, string(bytes.TrimSpace(code)))
			if got := credential.ReasonOf(err); got != v.want {
				t.Fatalf("got reason %q (%v), want %q", got, err, v.want)
			}
			if err != nil {
				return
			}
			got, _ := json.Marshal(cred)
			var g, w bytes.Buffer
			_ = json.Compact(&g, got)
			_ = json.Compact(&w, want.Credential)
			if g.String() != w.String() {
				t.Errorf("got credential\n%s\nwant\n%s", g.String(), w.String())
			}
			if strings.Contains(string(got), "Maria") || strings.Contains(string(got), "MUELLER") || strings.Contains(string(got), "1980-04-12") {
				t.Errorf("the credential keeps personal data: %s", got)
			}
		})
	}
}
