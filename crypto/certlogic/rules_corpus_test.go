package certlogic

import (
	"os"
	"path/filepath"
	"sentinel/internal/corpustest"
	"sort"
	"testing"
)

// ruleTest is one test of a rule of the corpus.
type ruleTest struct {
	path     string // relative to the corpus, as AT/VR-AT-0000/tests/test001.json
	name     string
	data     any // {"payload", "external"} as the test gives them
	expected bool
}

// loadRuleFolders reads every rule folder under dir (a rule.json beside
// tests/*.json), failing on a rule or test that does not parse.
func loadRuleFolders(t testing.TB, dir string) (map[*Rule][]ruleTest, int) {
	t.Helper()
	folders, err := FindRuleFolders(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[*Rule][]ruleTest{}
	n := 0
	for _, f := range folders {
		r, tests, err := LoadRuleFolder(f)
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		for _, tc := range tests {
			rel, _ := filepath.Rel(dir, tc.Path)
			out[r] = append(out[r], ruleTest{path: filepath.ToSlash(rel), name: tc.Name, data: tc.Data, expected: tc.Expected})
			n++
		}
	}
	return out, n
}

// TestCountryRules runs every test of the EU countries' business rules
// (eu-dcc-rules: AT, CH, DE, ES, EU, FR, IE, NL) against the evaluator.
// Each passes, or is listed in ruleDisagreements with the reason, and
// is checked to still disagree there.
func TestCountryRules(t *testing.T) {
	dir := corpustest.Dir(t, "eu-dcc-rules")
	byRule, total := loadRuleFolders(t, dir)
	if total < 500 {
		t.Fatalf("only %d tests found under %s", total, dir)
	}
	passed, disagreed := 0, 0
	seen := map[string]bool{}
	rules := make([]*Rule, 0, len(byRule))
	for r := range byRule {
		rules = append(rules, r)
	}
	sort.Slice(rules, func(i, j int) bool { return rules[i].Identifier < rules[j].Identifier })
	for _, r := range rules {
		for _, tc := range byRule[r] {
			got, err := r.Eval(tc.data)
			agree := err == nil && got == tc.expected // an error never agrees
			reason, listed := ruleDisagreements[tc.path]
			seen[tc.path] = listed
			switch {
			case agree && listed:
				t.Errorf("%s (%s) now agrees (got %v, err %v): remove it from ruleDisagreements (%s)", tc.path, tc.name, got, err, reason)
			case agree:
				passed++
			case listed:
				disagreed++
			default:
				t.Errorf("%s %s (%s): got %v (err %v), want %v", r.Identifier, tc.path, tc.name, got, err, tc.expected)
			}
		}
	}
	for p := range ruleDisagreements {
		if _, ok := seen[p]; !ok {
			t.Errorf("ruleDisagreements lists %s, which is no test of the corpus", p)
		}
	}
	t.Logf("EU country rules: %d rules, %d tests: %d pass, %d in the table of disagreements", len(rules), total, passed, disagreed)
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }
