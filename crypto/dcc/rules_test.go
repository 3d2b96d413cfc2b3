package dcc

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/certlogic"
	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
)

// ownRules loads the rules of certlogic's testdata (country XX): a
// General rule (exactly one event) and VR-XX-0001 (a complete course, at
// most 365 days old).
func ownRules(t *testing.T) *Rules {
	t.Helper()
	folders, err := certlogic.FindRuleFolders(filepath.Join("..", "certlogic", "testdata", "rules"))
	if err != nil {
		t.Fatal(err)
	}
	var rules []*certlogic.Rule
	for _, f := range folders {
		r, err := certlogic.LoadRule(f)
		if err != nil {
			t.Fatal(err)
		}
		rules = append(rules, r)
	}
	return NewRules(rules)
}

// verified signs h with a test DSC and verifies it at at.
func verified(t *testing.T, h *HCert, at time.Time) *credential.Credential {
	t.Helper()
	cert, key := loadDSC(t, "es256-any")
	code, err := Sign(cert, key, h, "DE", vecIat, vecExp)
	if err != nil {
		t.Fatal(err)
	}
	store := trust.New()
	if _, err := store.AddDSC(cert); err != nil {
		t.Fatal(err)
	}
	c, err := NewVerifier(store).Verify([]byte(code), Options{Now: at})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestRulesCheck(t *testing.T) {
	rules := ownRules(t)
	at := time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC) // 22 days after the second dose
	c := verified(t, vaccination(), at)
	out, err := rules.Check(c, "XX", at)
	if err != nil || strings.Join(out.Evaluated, ",") != "GR-XX-0001 1.0.0,VR-XX-0001 1.0.0" {
		t.Fatalf("complete course: got %v, %v; want both rules passed", out.Evaluated, err)
	}
	// Another country's rules: none apply.
	if out, err := rules.Check(c, "AT", at); err != nil || len(out.Evaluated) != 0 {
		t.Errorf("AT: got %v, %v; want nothing evaluated", out.Evaluated, err)
	}

	// An incomplete course fails VR-XX-0001, and the refusal says so in
	// the guard's language.
	h := vaccination()
	h.V[0].DN = 1
	_, err = rules.Check(verified(t, h, at), "XX", at)
	var rej *credential.Rejection
	if !errors.As(err, &rej) || rej.Reason != credential.ReasonBusinessRule || rej.Rule != "VR-XX-0001" {
		t.Fatalf("incomplete course: got %v, want a business-rule refusal naming VR-XX-0001", err)
	}
	for lang, want := range map[string]string{
		"en": `Entry rule "VR-XX-0001" not met: The vaccination course must be complete and at most 365 days old. Refuse entry.`,
		"de": `Entry rule "VR-XX-0001" not met: Die Impfserie muss abgeschlossen und höchstens 365 Tage alt sein. Refuse entry.`,
		"zh": `不符合入境规则 "VR-XX-0001":疫苗接种须已完成全程，且不超过365天。拒绝通行。`,
		"fr": `Entry rule "VR-XX-0001" not met: The vaccination course must be complete and at most 365 days old. Refuse entry.`,
	} {
		if got := rej.Message(lang); got != want {
			t.Errorf("Message(%q) = %q, want %q", lang, got, want)
		}
	}

	// The same certificate a year and a half later: too old.
	later := at.AddDate(1, 6, 0)
	if _, err := rules.Check(c, "XX", later); credential.ReasonOf(err) != credential.ReasonBusinessRule {
		t.Errorf("a year and a half later: got %v, want a business-rule refusal", err)
	}
	// A credential of another format is outside the rules.
	if out, err := rules.Check(&credential.Credential{Format: credential.FormatNative}, "XX", at); err != nil || len(out.Evaluated) != 0 {
		t.Errorf("native code: got %v, %v; want nothing evaluated", out.Evaluated, err)
	}
}

// TestRulesReadValueSets: the rules read the value sets the certificate
// was verified against, under external.valueSets.
func TestRulesReadValueSets(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "certlogic", "testdata", "rules", "XX", "VR-XX-0001", "rule.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	m["Logic"] = map[string]any{"in": []any{
		map[string]any{"var": "payload.v.0.mp"},
		map[string]any{"var": "external.valueSets.vaccines-covid-19-names"},
	}}
	b, _ = json.Marshal(m)
	r, err := certlogic.ParseRule(b)
	if err != nil {
		t.Fatal(err)
	}
	rules := NewRules([]*certlogic.Rule{r})
	for _, tc := range []struct {
		name string
		vs   bool
		want credential.Reason
	}{{"with value sets", true, ""}, {"without", false, credential.ReasonBusinessRule}} {
		var c *credential.Credential
		var err error
		if tc.vs {
			c, err = verifyOwn(t, vaccination(), testValueSets(t, false))
		} else {
			c, err = verifyOwn(t, vaccination(), nil)
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, err := rules.Check(c, "XX", vecClock); credential.ReasonOf(err) != tc.want {
			t.Errorf("%s: got %v, want %q", tc.name, err, tc.want)
		}
	}
}

// TestRulesInvalidationOfTheIssuer: the invalidation rules that apply are
// the issuing country's (the CWT's iss), not those of the country where
// the dose was given.
func TestRulesInvalidationOfTheIssuer(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "certlogic", "testdata", "rules", "XX", "VR-XX-0001", "rule.json"))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	// An invalidation rule of DE that refuses every certificate.
	m["Identifier"], m["Country"], m["Type"], m["CertificateType"] = "IR-DE-0001", "DE", "Invalidation", "General"
	m["Logic"] = map[string]any{"===": []any{1, 2}}
	b, _ = json.Marshal(m)
	ir, err := certlogic.ParseRule(b)
	if err != nil {
		t.Fatal(err)
	}
	rules := NewRules([]*certlogic.Rule{ir})
	h := vaccination()
	h.V[0].CO = "AT" // given in Austria, the certificate issued by Germany (iss DE)
	c := verified(t, h, time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	if c.Issuer != "DE" {
		t.Fatalf("issuer %q, want DE", c.Issuer)
	}
	_, err = rules.Check(c, "FR", time.Date(2026, 6, 1, 9, 0, 0, 0, time.UTC))
	var rej *credential.Rejection
	if !errors.As(err, &rej) || rej.Rule != "IR-DE-0001" {
		t.Errorf("got %v, want the issuer's invalidation rule IR-DE-0001 to refuse", err)
	}
}
