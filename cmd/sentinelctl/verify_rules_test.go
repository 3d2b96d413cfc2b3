package main

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/dcc"
)

// signedDCC makes a document signer certificate (written to a PEM file
// for --trust) and signs a vaccination certificate of dn of sd doses.
func signedDCC(t *testing.T, dn, sd int, dt string) (code, trustFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "Sentinel test DSC", Country: []string{"AT"}},
		NotBefore:    time.Date(2021, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:     time.Date(2031, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	trustFile = filepath.Join(t.TempDir(), "dsc.pem")
	if err := os.WriteFile(trustFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	h := &dcc.HCert{
		Ver: "1.3.0",
		Nam: dcc.Name{FN: "Muster", FNT: "MUSTER", GN: "Erika", GNT: "ERIKA"},
		DOB: "1980-02-29",
		V: []dcc.Vaccination{{TG: "840539006", VP: "1119349007", MP: "EU/1/20/1528", MA: "ORG-100030215",
			DN: dcc.Int(dn), SD: dcc.Int(sd), DT: dt, CO: "AT", IS: "Sentinel Test Issuer", CI: "URN:UVCI:01:AT:SENTINEL/RULES#1"}},
	}
	code, err = dcc.Sign(cert, key, h, "AT", time.Date(2021, 7, 1, 0, 0, 0, 0, time.UTC), time.Date(2022, 7, 1, 0, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	return code, trustFile
}

func TestVerifyRules(t *testing.T) {
	rules := filepath.Join("..", "..", "crypto", "certlogic", "testdata", "rules")
	at := "2021-08-09T10:00:00Z"
	complete, trust1 := signedDCC(t, 2, 2, "2021-05-01")
	incomplete, trust2 := signedDCC(t, 1, 2, "2021-05-01")

	code, vs, stderr := verifyOne(t, "", "--trust", trust1, "--at", at, "--rules", rules, "--country", "XX", complete)
	if code != exitOK || len(vs) != 1 || !vs[0].Accepted {
		t.Fatalf("complete course: exit %d, %+v; stderr %s", code, vs, stderr)
	}
	if !strings.Contains(stderr, "2 rules read, 2 acceptance rules of XX valid") {
		t.Errorf("stderr %q does not say how many rules apply", stderr)
	}
	// Without --rules the incomplete course verifies; with them it is
	// refused, naming the rule and its description in the language asked.
	if code, vs, _ := verifyOne(t, "", "--trust", trust2, "--at", at, incomplete); code != exitOK || !vs[0].Accepted {
		t.Fatalf("without rules: exit %d, %+v", code, vs)
	}
	for lang, want := range map[string]string{
		"en": `Entry rule "VR-XX-0001" not met: The vaccination course must be complete and at most 365 days old. Refuse entry.`,
		"zh": `不符合入境规则 "VR-XX-0001":疫苗接种须已完成全程，且不超过365天。拒绝通行。`,
	} {
		code, vs, stderr := verifyOne(t, "", "--trust", trust2, "--at", at, "--rules", rules, "--country", "XX", "--lang", lang, incomplete)
		if code != exitRefused || len(vs) != 1 || vs[0].Reason != credential.ReasonBusinessRule || vs[0].Message != want {
			t.Errorf("%s: exit %d, %+v, want refused with %q; stderr %s", lang, code, vs, want, stderr)
		}
	}
	// Another country's rules do not touch it.
	if code, _, stderr := verifyOne(t, "", "--trust", trust2, "--at", at, "--rules", rules, "--country", "AT", incomplete); code != exitOK || !strings.Contains(stderr, "no acceptance rule of AT applies") {
		t.Errorf("--country AT: exit %d, stderr %q; want accepted with a warning", code, stderr)
	}
}

func TestVerifyRulesUsage(t *testing.T) {
	rules := filepath.Join("..", "..", "crypto", "certlogic", "testdata", "rules")
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "rule.json"), []byte(`{"Identifier":"VR-XX-0001"}`), 0o644)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--rules", rules, "HC1:x"}, "--rules needs --country CC"},
		{[]string{"--rules", rules, "--country", "austria", "HC1:x"}, "--rules needs --country CC"},
		{[]string{"--country", "AT", "HC1:x"}, "give the rules with --rules DIR"},
		{[]string{"--rules", bad, "--country", "XX", "HC1:x"}, "rule.json: rule VR-XX-0001: Type: missing"},
	} {
		code, _, stderr := verifyOne(t, "", tc.args...)
		if code != exitUsage || !strings.Contains(stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q; want 2 and %q", tc.args, code, stderr, tc.want)
		}
	}
}
