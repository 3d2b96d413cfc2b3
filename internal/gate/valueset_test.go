package gate

import (
	"context"
	"strings"
	"testing"

	"sentinel/crypto/credential"
	"sentinel/crypto/verify"
	"sentinel/internal/passage"
)

// refusingVerifier refuses every code with one rejection.
type refusingVerifier struct{ rej *credential.Rejection }

func (v refusingVerifier) Verify([]byte, verify.Options) (*credential.Credential, error) {
	return nil, v.rej
}

// TestValueSetRefusalNamesTheCode: a code outside the EU value sets is
// refused with the reason value-set, and the guard reads the field and the
// code in their language, not only the generic sentence.
func TestValueSetRefusalNamesTheCode(t *testing.T) {
	rej := credential.Reject(credential.FormatDCC, credential.ReasonValueSet, `v.mp "EU/1/20/9999" is not in the value set vaccines-covid-19-names`)
	rej.Field, rej.Code = "v.mp", "EU/1/20/9999"
	r := newRig(t, func(s *State) { s.Verifier = refusingVerifier{rej} })
	res, err := r.g.Process(context.Background(), "in-1", []byte("HC1:anything"))
	if err != nil {
		t.Fatal(err)
	}
	if res.Passage.Decision != passage.Deny || res.Passage.Reasons[0] != string(credential.ReasonValueSet) {
		t.Fatalf("passage %s %v, want deny value-set", res.Passage.Decision, res.Passage.Reasons)
	}
	s := r.display.last()
	if en := s.Message["en"]; !strings.Contains(en, "vaccine product") || !strings.Contains(en, "EU/1/20/9999") {
		t.Errorf("the guard reads %q", en)
	}
	if zh := s.Message["zh"]; !strings.Contains(zh, "疫苗产品") || !strings.Contains(zh, "EU/1/20/9999") {
		t.Errorf("the guard reads %q", zh)
	}

	// Another refusal keeps the reason's own sentence.
	r = newRig(t, func(s *State) {
		s.Verifier = refusingVerifier{credential.Reject(credential.FormatDCC, credential.ReasonSchema, "at /dob")}
	})
	if _, err := r.g.Process(context.Background(), "in-1", []byte("HC1:anything")); err != nil {
		t.Fatal(err)
	}
	if got := r.display.last().Message["en"]; got != credential.ReasonSchema.Message("en") {
		t.Errorf("schema refusal reads %q", got)
	}
}
