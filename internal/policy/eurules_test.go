package policy

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	eudcc "sentinel/crypto/dcc"
	"sentinel/internal/passage"
	"sentinel/internal/siteconfig"
)

// ownEURules reads the rules of certlogic's testdata (country XX): a
// General rule (exactly one event) and VR-XX-0001 (a complete course, at
// most 365 days old).
func ownEURules(t *testing.T) []json.RawMessage {
	t.Helper()
	var out []json.RawMessage
	for _, id := range []string{"GR-XX-0001", "VR-XX-0001"} {
		b, err := os.ReadFile(filepath.Join("..", "..", "crypto", "certlogic", "testdata", "rules", "XX", id, "rule.json"))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// euDCC is a verified EU DCC of dn of sd doses given on dt, as the
// verifier hands it over (with its content for the rules).
func euDCC(dn, sd int, dt time.Time) Input {
	in := green()
	h := &eudcc.HCert{Ver: "1.3.0", DOB: "1980-02-29", Nam: eudcc.Name{FNT: "MUSTER", GNT: "ERIKA"},
		V: []eudcc.Vaccination{{TG: "840539006", VP: "1119349007", MP: "EU/1/20/1528", MA: "ORG-100030215",
			DN: eudcc.Int(dn), SD: eudcc.Int(sd), DT: dt.Format(time.DateOnly), CO: "AT", IS: "Test", CI: "URN:UVCI:01:AT:1#B"}}}
	in.Credential = &credential.Credential{
		Format: credential.FormatDCC, Issuer: "AT",
		Holder:   credential.Holder{Kind: credential.HolderPseudonym, Pseudonym: [16]byte{1}},
		IssuedAt: dt, Expires: dt.AddDate(1, 0, 0),
		Facts:   &credential.Facts{Kind: "vaccination", Dose: dn, TotalDoses: sd, Date: dt},
		Content: &eudcc.Content{HCert: h},
	}
	return in
}

func euEngine(t *testing.T, site siteconfig.SiteType, country string, rules []json.RawMessage) *Engine {
	t.Helper()
	b, err := DefaultBundle(site)
	if err != nil {
		t.Fatal(err)
	}
	b.EUCountry, b.EURules = country, rules
	payload, err := b.Marshal()
	if err != nil {
		t.Fatal(err)
	}
	if err := Compile(payload); err != nil {
		t.Fatal(err)
	}
	back, err := ParseBundle(payload)
	if err != nil {
		t.Fatal(err)
	}
	if back.EUCountry != country || len(back.EURules) != len(rules) {
		t.Fatalf("the bundle reads back with %q and %d rules", back.EUCountry, len(back.EURules))
	}
	e, err := New(back, site)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

func TestEURulesInDefaultPolicies(t *testing.T) {
	rules := ownEURules(t)
	for _, site := range siteconfig.SiteTypes() {
		if site == siteconfig.Compound {
			continue // admits residents only; see below
		}
		t.Run(string(site), func(t *testing.T) {
			e := euEngine(t, site, "XX", rules)
			// A complete course a week old: the default's own facts rule
			// would want two weeks; the country's rules admit it.
			d := e.Decide(euDCC(2, 2, t0.AddDate(0, 0, -7)))
			if d.Verdict != passage.Admit || d.Rule != "eu-rules-passed" || d.Colour != credential.ColourGreen {
				t.Errorf("complete course: got %+v, want admitted green by eu-rules-passed", d)
			}
			// An incomplete course: refused, naming the rule.
			d = e.Decide(euDCC(1, 2, t0.AddDate(0, 0, -30)))
			if d.Verdict != passage.Deny || !slices.Equal(d.Reasons, []string{ReasonBusinessRule}) || d.Refusal == nil || d.Refusal.Rule != "VR-XX-0001" {
				t.Fatalf("incomplete course: got %+v, want denied naming VR-XX-0001", d)
			}
			if msg := d.Refusal.Message("zh"); !strings.Contains(msg, "VR-XX-0001") || !strings.Contains(msg, "疫苗接种须已完成全程") {
				t.Errorf("the guard reads %q", msg)
			}
			// A native code is outside the rules.
			if d := e.Decide(green()); d.Verdict != passage.Admit || d.Refusal != nil {
				t.Errorf("native green code: got %+v", d)
			}
		})
	}
	// Without EU rules nothing changes: the week-old course is refused by
	// the default's own rule.
	e, err := New(nil, siteconfig.Supermarket)
	if err != nil {
		t.Fatal(err)
	}
	if d := e.Decide(euDCC(2, 2, t0.AddDate(0, 0, -7))); d.Verdict != passage.Deny || d.Rule != "certificate-not-accepted" {
		t.Errorf("without rules: got %+v, want certificate-not-accepted", d)
	}
	// The rules of another country do not apply to a site enforcing XX's.
	e = euEngine(t, siteconfig.Supermarket, "XX", rules)
	in := euDCC(2, 2, t0.AddDate(0, 0, -30))
	in.Now = time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC) // after every rule's ValidTo
	in.Credential.Expires = in.Now.AddDate(1, 0, 0)
	if d := e.Decide(in); d.Rule == "eu-rules-failed" {
		t.Errorf("no rule valid then: got %+v, want the rules not to refuse", d)
	}
}

func TestEURulesBundleErrors(t *testing.T) {
	rules := ownEURules(t)
	bad := json.RawMessage(strings.Replace(string(rules[1]), `"Engine": "CERTLOGIC"`, `"Engine": "JSONLOGIC"`, 1))
	for _, tc := range []struct {
		name, country string
		rules         []json.RawMessage
		want          string
	}{
		{"country without rules", "XX", nil, "eu_rules: no acceptance rule of XX"},
		{"rules without country", "", rules, "eu_country"},
		{"lowercase country", "xx", rules, "eu_country"},
		{"bad rule", "XX", []json.RawMessage{rules[0], bad}, "eu_rules[1]: rule VR-XX-0001: Engine"},
		{"other country's rules", "AT", rules, "no acceptance rule of AT"},
	} {
		b, _ := DefaultBundle(siteconfig.Supermarket)
		b.EUCountry, b.EURules = tc.country, tc.rules
		_, err := b.Marshal()
		if !errors.Is(err, ErrBundle) || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: got %v, want ErrBundle with %q", tc.name, err, tc.want)
		}
	}
}
