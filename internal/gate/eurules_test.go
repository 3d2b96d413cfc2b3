package gate

import (
	"context"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/verify"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
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
