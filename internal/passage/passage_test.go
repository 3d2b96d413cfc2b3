package passage_test

import (
	"testing"

	"sentinel/internal/passage"
)

// The verdicts' words are recorded in journals and read by the centre and
// by policy rules: they never change.
func TestVerdictWords(t *testing.T) {
	want := map[passage.Verdict]string{passage.Admit: "admit", passage.Deny: "deny", passage.Refer: "refer"}
	for _, v := range passage.Verdicts() {
		if string(v) != want[v] {
			t.Errorf("verdict %q, want %q", v, want[v])
		}
		if !v.Valid() {
			t.Errorf("%q is not valid", v)
		}
		delete(want, v)
	}
	if len(want) != 0 {
		t.Errorf("Verdicts misses %v", want)
	}
	for _, v := range []passage.Verdict{"", "Admit", "allow", "refer "} {
		if v.Valid() {
			t.Errorf("%q is valid", v)
		}
	}
}
