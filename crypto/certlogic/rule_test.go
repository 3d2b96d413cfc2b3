package certlogic

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func ownRule(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "rules", "XX", "VR-XX-0001", "rule.json"))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// mutate decodes a rule, applies f to its fields and encodes it again.
func mutate(t testing.TB, b []byte, f func(m map[string]any)) []byte {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	f(m)
	out, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func TestParseRule(t *testing.T) {
	r, err := ParseRule(ownRule(t))
	if err != nil {
		t.Fatal(err)
	}
	if r.Identifier != "VR-XX-0001" || r.Type != Acceptance || r.CertificateType != Vaccination ||
		r.Version != (Version{1, 0, 0}) || !r.ValidFrom.Equal(time.Date(2021, 7, 1, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("parsed %+v", r)
	}
	for lang, want := range map[string]string{"de": "Die Impfserie", "de-at": "Die Impfserie", "zh": "疫苗", "fr": "The vaccination", "": "The vaccination"} {
		if got := r.Description(lang); !strings.HasPrefix(got, want) {
			t.Errorf("Description(%q) = %q, want it to start with %q", lang, got, want)
		}
	}

	for _, tc := range []struct {
		name, field string
		f           func(m map[string]any)
	}{
		{"missing Logic", "Logic", func(m map[string]any) { delete(m, "Logic") }},
		{"null Country", "Country", func(m map[string]any) { m["Country"] = nil }},
		{"unknown field", "", func(m map[string]any) { m["Extra"] = 1 }},
		{"identifier", "Identifier", func(m map[string]any) { m["Identifier"] = "XR-XX-0001" }},
		{"identifier of another country", "Identifier", func(m map[string]any) { m["Identifier"] = "VR-DE-0001" }},
		{"type", "Type", func(m map[string]any) { m["Type"] = "acceptance" }},
		{"version", "Version", func(m map[string]any) { m["Version"] = "1.0" }},
		{"engine", "Engine", func(m map[string]any) { m["Engine"] = "JSONLOGIC" }},
		{"certificate type", "CertificateType", func(m map[string]any) { m["CertificateType"] = "Passport" }},
		{"no English", "Description", func(m map[string]any) {
			m["Description"] = []any{map[string]any{"lang": "de", "desc": "Nur auf Deutsch beschrieben."}}
		}},
		{"bad language", "Description", func(m map[string]any) {
			m["Description"] = []any{map[string]any{"lang": "EN", "desc": "Described in English."}}
		}},
		{"valid from", "ValidFrom", func(m map[string]any) { m["ValidFrom"] = "2021-07-01" }},
		{"valid to before from", "ValidTo", func(m map[string]any) { m["ValidTo"] = "2020-07-01T00:00:00Z" }},
		{"logic literal", "Logic", func(m map[string]any) { m["Logic"] = true }},
		{"logic invalid", "Logic", func(m map[string]any) { m["Logic"] = map[string]any{"all": []any{}} }},
		{"logic too deep", "Logic", func(m map[string]any) {
			var l any = true
			for range 100 {
				l = map[string]any{"!": []any{l}}
			}
			m["Logic"] = l
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ParseRule(mutate(t, ownRule(t), tc.f))
			var re *RuleError
			if !errors.As(err, &re) || re.Field != tc.field {
				t.Fatalf("got %v, want a RuleError on %q", err, tc.field)
			}
		})
	}
	_, err = ParseRule(mutate(t, ownRule(t), func(m map[string]any) { m["Logic"] = map[string]any{"all": []any{}} }))
	var inv *InvalidError
	if !errors.As(err, &inv) {
		t.Errorf("invalid logic: got %v, want it to wrap an InvalidError", err)
	}
	for _, b := range []string{"", "null", "[]", `{"Identifier":"VR-XX-0001"} {}`, strings.Repeat(" ", MaxRuleBytes+1)} {
		var re *RuleError
		if _, err := ParseRule([]byte(b)); !errors.As(err, &re) {
			t.Errorf("ParseRule(%.20q): got %v, want a RuleError", b, err)
		}
	}
}

func TestSelect(t *testing.T) {
	base := ownRule(t)
	rule := func(f func(m map[string]any)) *Rule {
		r, err := ParseRule(mutate(t, base, f))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	v1 := rule(func(m map[string]any) {})
	v2 := rule(func(m map[string]any) { m["Version"] = "1.1.0"; m["ValidFrom"] = "2022-01-01T00:00:00Z" })
	general := rule(func(m map[string]any) { m["Identifier"] = "GR-XX-0001"; m["CertificateType"] = "General" })
	test := rule(func(m map[string]any) { m["Identifier"] = "TR-XX-0001"; m["CertificateType"] = "Test" })
	expired := rule(func(m map[string]any) {
		m["Identifier"] = "VR-XX-0002"
		m["ValidTo"] = "2021-12-31T00:00:00Z"
	})
	other := rule(func(m map[string]any) { m["Identifier"] = "VR-YY-0001"; m["Country"] = "YY" })
	invalidation := rule(func(m map[string]any) { m["Identifier"] = "VR-XX-0003"; m["Type"] = "Invalidation" })
	all := []*Rule{v2, v1, general, test, expired, other, invalidation}

	ids := func(rs []*Rule) string {
		var s []string
		for _, r := range rs {
			s = append(s, r.Identifier+"@"+r.Version.String())
		}
		return strings.Join(s, " ")
	}
	for _, tc := range []struct {
		at   string
		ct   CertificateType
		want string
	}{
		{"2021-08-01T00:00:00Z", Vaccination, "GR-XX-0001@1.0.0 VR-XX-0001@1.0.0 VR-XX-0002@1.0.0"},
		{"2022-02-01T00:00:00Z", Vaccination, "GR-XX-0001@1.0.0 VR-XX-0001@1.1.0"},
		{"2022-02-01T00:00:00Z", Test, "GR-XX-0001@1.0.0 TR-XX-0001@1.0.0"},
		{"2021-06-01T00:00:00Z", Vaccination, ""},
	} {
		at, _ := time.Parse(time.RFC3339, tc.at)
		got := ids(Select(all, Selection{Country: "XX", Type: Acceptance, CertificateType: tc.ct, At: at}))
		if got != tc.want {
			t.Errorf("%s %s: got %q, want %q", tc.at, tc.ct, got, tc.want)
		}
	}
}

func TestOwnRuleFolders(t *testing.T) {
	folders, err := FindRuleFolders(filepath.Join("testdata", "rules"))
	if err != nil || len(folders) != 2 {
		t.Fatalf("got %v, %v; want two folders", folders, err)
	}
	n := 0
	for _, f := range folders {
		r, tests, err := LoadRuleFolder(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, tc := range tests {
			got, err := r.Eval(tc.Data)
			if err != nil || got != tc.Expected {
				t.Errorf("%s: got %v, %v; want %v", tc.Path, got, err, tc.Expected)
			}
			n++
		}
	}
	if n != 6 {
		t.Errorf("ran %d tests, want 6", n)
	}
}

func TestDataAndCertificateType(t *testing.T) {
	payload := mustData(t, `{"v":[{"dn":2,"sd":2,"dt":"2021-05-01"}],"t":null,"r":[]}`)
	if ct, ok := CertificateTypeOf(payload); !ok || ct != Vaccination {
		t.Errorf("CertificateTypeOf = %v, %v; want Vaccination", ct, ok)
	}
	if _, ok := CertificateTypeOf(mustData(t, `{"v":[{}],"t":[{}]}`)); ok {
		t.Error("two groups: want no single type")
	}
	r, err := ParseRule(ownRule(t))
	if err != nil {
		t.Fatal(err)
	}
	clock := time.Date(2021, 8, 9, 10, 0, 0, 0, time.UTC)
	data := Data(payload, External{ValidationClock: clock, ValueSets: NewValueSets(map[string][]string{"country-2-codes": {"AT"}})})
	if ok, err := r.Eval(data); !ok || err != nil {
		t.Errorf("on Data(...): got %v, %v; want true", ok, err)
	}
	data = Data(payload, External{ValidationClock: clock.AddDate(2, 0, 0)})
	if ok, err := r.Eval(data); ok || err != nil {
		t.Errorf("two years later: got %v, %v; want false", ok, err)
	}
	// Without a validation clock the rule cannot be evaluated: it fails
	// with an error rather than passing.
	if ok, err := r.Eval(Data(payload, External{})); ok || err == nil {
		t.Errorf("without a clock: got %v, %v; want false and an error", ok, err)
	}
}

func TestLoadRules(t *testing.T) {
	rules, err := LoadRules(filepath.Join("testdata", "rules"))
	if err != nil || len(rules) != 2 || rules[0].Identifier != "GR-XX-0001" || rules[1].Identifier != "VR-XX-0001" {
		t.Fatalf("got %v, %v; want GR-XX-0001 and VR-XX-0001", rules, err)
	}
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "VR-XX-0001.json"), ownRule(t), 0o644)
	os.MkdirAll(filepath.Join(dir, "tests"), 0o755)
	os.WriteFile(filepath.Join(dir, "tests", "test001.json"), []byte(`{"expected":true}`), 0o644)
	if rules, err := LoadRules(dir); err != nil || len(rules) != 1 {
		t.Errorf("a flat folder: got %v, %v; want one rule", rules, err)
	}
	os.WriteFile(filepath.Join(dir, "notes.json"), []byte(`{"note":1}`), 0o644)
	var re *RuleError
	if _, err := LoadRules(dir); !errors.As(err, &re) || !strings.Contains(err.Error(), "notes.json") {
		t.Errorf("a file that is no rule: got %v, want a RuleError naming it", err)
	}
}
