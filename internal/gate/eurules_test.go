package gate

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	eudcc "sentinel/crypto/dcc"
	"sentinel/crypto/verify"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
)

// dccVerifier accepts every code as an EU DCC.
type dccVerifier struct{}

func (dccVerifier) Verify([]byte, verify.Options) (*credential.Credential, error) {
	return &credential.Credential{Format: credential.FormatDCC, Issuer: "AT", Expires: time.Now().AddDate(1, 0, 0),
		Facts: &credential.Facts{Kind: "vaccination", Dose: 1, TotalDoses: 2}}, nil
}

// businessRulePolicy refuses every code for a failed EU business rule,
// as internal/policy does when the policy bundle's rules fail.
type businessRulePolicy struct{ rej *credential.Rejection }

func (p businessRulePolicy) Decide(*Input) Decision {
	return Decision{Verdict: passage.Deny, Reasons: []string{policy.ReasonBusinessRule}, Refusal: p.rej}
}

// TestBusinessRuleRefusalNamesTheRule: when policy refuses a verified EU
// DCC for a failed business rule, the guard reads the rule's identifier
// and its description in their language, English where the rule has none
// in it.
func TestBusinessRuleRefusalNamesTheRule(t *testing.T) {
	rej := credential.Reject(credential.FormatDCC, credential.ReasonBusinessRule, "Acceptance rule VR-AT-0001 1.0.0 of AT failed")
	rej.Rule = "VR-AT-0001"
	rej.RuleText = map[string]string{"en": "Vaccination course must be complete.", "de": "Die Impfserie muss vollständig sein."}
	r := newRig(t, func(s *State) {
		s.Verifier = dccVerifier{}
		s.Policy = businessRulePolicy{rej}
	})
	res, err := r.g.Process(context.Background(), "in-1", []byte("HC1:anything"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Passage.Decision != passage.Deny {
		t.Fatalf("passage %s %v, want deny", res.Passage.Decision, res.Passage.Reasons)
	}
	s := r.display.last()
	if en := s.Message["en"]; en != `Entry rule "VR-AT-0001" not met: Vaccination course must be complete. Refuse entry.` {
		t.Errorf("the guard reads %q", en)
	}
	if zh := s.Message["zh"]; !strings.Contains(zh, "VR-AT-0001") || !strings.Contains(zh, "Vaccination course must be complete") {
		t.Errorf("the guard reads %q", zh)
	}
}

// dccContentVerifier accepts every code as an EU DCC of dn of sd doses
// given a month before now, with its content for the business rules.
type dccContentVerifier struct{ dn, sd int }

func (v dccContentVerifier) Verify(_ []byte, o verify.Options) (*credential.Credential, error) {
	dt := o.Now.AddDate(0, -1, 0)
	h := &eudcc.HCert{Ver: "1.3.0", DOB: "1980-02-29", Nam: eudcc.Name{FNT: "MUSTER", GNT: "ERIKA"},
		V: []eudcc.Vaccination{{TG: "840539006", VP: "1119349007", MP: "EU/1/20/1528", MA: "ORG-100030215",
			DN: eudcc.Int(v.dn), SD: eudcc.Int(v.sd), DT: dt.Format(time.DateOnly), CO: "AT", IS: "Test", CI: "URN:UVCI:01:AT:1#B"}}}
	return &credential.Credential{Format: credential.FormatDCC, Issuer: "AT", IssuedAt: dt, Expires: dt.AddDate(1, 0, 0),
		Holder:  credential.Holder{Kind: credential.HolderPseudonym, Pseudonym: [16]byte{7}},
		Facts:   &credential.Facts{Kind: "vaccination", Dose: v.dn, TotalDoses: v.sd, Date: dt},
		Content: &eudcc.Content{HCert: h}}, nil
}

// TestEURulesThroughThePolicyEngine runs a passage through the gate with
// the default supermarket policy carrying our test country's EU rules:
// an incomplete course is refused and the guard reads VR-XX-0001; a
// complete one is admitted.
func TestEURulesThroughThePolicyEngine(t *testing.T) {
	b, err := policy.DefaultBundle(siteconfig.Supermarket)
	if err != nil {
		t.Fatal(err)
	}
	b.EUCountry = "XX"
	for _, id := range []string{"GR-XX-0001", "VR-XX-0001"} {
		r, err := os.ReadFile(filepath.Join("..", "..", "crypto", "certlogic", "testdata", "rules", "XX", id, "rule.json"))
		if err != nil {
			t.Fatal(err)
		}
		b.EURules = append(b.EURules, r)
	}
	e, err := policy.New(b, siteconfig.Supermarket)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		dn   int
		want passage.Verdict
		msg  string
	}{
		{1, passage.Deny, `Entry rule "VR-XX-0001" not met: The vaccination course must be complete and at most 365 days old. Refuse entry.`},
		{2, passage.Admit, ""},
	} {
		r := newRig(t, func(s *State) {
			s.Verifier = dccContentVerifier{dn: tc.dn, sd: 2}
			s.Policy = PolicyEngine(e, 3, "SM-0042")
		})
		res, err := r.g.Process(context.Background(), "in-1", []byte("HC1:anything"))
		if err != nil {
			t.Fatal(err)
		}
		if res.Passage.Decision != tc.want {
			t.Errorf("dose %d: passage %s %v, want %s", tc.dn, res.Passage.Decision, res.Passage.Reasons, tc.want)
		}
		if got := r.display.last().Message["en"]; tc.msg != "" && got != tc.msg {
			t.Errorf("dose %d: the guard reads %q, want %q", tc.dn, got, tc.msg)
		}
	}
}
