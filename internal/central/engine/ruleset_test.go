package engine

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const head = "region ZJ\nversion v1\n"

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, src, want string
	}{
		{"no region", "version v1\nrule a\n  match true\n  red confirmed\n", "x.rules:1: the rule set names no region"},
		{"no version", "region ZJ\nrule a\n  match true\n  red confirmed\n", "x.rules:1: the rule set has no version"},
		{"no rules", head, "x.rules:3: the rule set has no rules"},
		{"bad region", "region zj\n", `x.rules:1:8: region "zj": an area id is 1 to 32 of A-Z`},
		{"region twice", "region ZJ\nregion HB\n", "x.rules:2:1: region is given twice (first on line 1)"},
		{"unknown keyword", head + "rule a\n  math f.kind == \"x\"\n", `x.rules:4:3: rule a: "math" is not one of region`},
		{"status outside a rule", head + "red confirmed\n", `x.rules:3:1: "red" belongs inside a rule`},
		{"header inside a rule", head + "rule a\n  match true\n  red confirmed\ncontacts cap 3\n", "x.rules:6:1: rule a: contacts belongs at the top"},
		{"no match", head + "rule a\n  red confirmed\n", `x.rules:3: rule a: the rule has no "match" line`},
		{"no status", head + "rule a\n  match true\n", "x.rules:3: rule a: the rule has no status"},
		{"unknown reason", head + "rule a\n  match true\n  red covid\n", `x.rules:5:7: rule a: reason "covid" is not a status reason`},
		{"two reasons", head + "rule a\n  match true\n  red confirmed fever\n", "x.rules:5:7: rule a: red takes one reason name"},
		{"two statuses", head + "rule a\n  match true\n  red confirmed\n  yellow fever\n", "x.rules:6:3: rule a: the rule already has a status (red)"},
		{"rule twice", head + "rule a\n  match true\n  red confirmed\nrule a\n", `x.rules:6:6: rule "a" is defined twice`},
		{"bad rule name", head + "rule Bad Name\n", `x.rules:3:6: rule name "Bad Name"`},
		{"bad period", head + "rule a\n  match true\n  red confirmed\n  for 2w\n", `x.rules:6:7: rule a: period "2w": write days as 14d`},
		{"period too long", head + "period red 400d\n", `x.rules:3:8: the default red period: period "400d" is longer than a year`},
		{"zero period", head + "period yellow 0h\n", "want more than nothing"},
		{"bad period kind", head + "period green 3d\n", "period takes yellow or red"},
		{"overlap past window", head + "contacts window 10m overlap 20m\n", "the overlap 20m0s is longer than the window 10m0s"},
		{"contacts odd", head + "contacts window\n", "contacts takes pairs"},
		{"contacts unknown", head + "contacts radius 5m\n", `contacts: "radius" is not one of window, overlap, cap, lookback`},
		{"bad cap", head + "contacts cap 0\n", `contacts cap: "0" is not a number from 1 to 100000`},
		{"say language", head + "rule a\n  match true\n  red confirmed\n  say fr Bonjour\n", "say takes a language, en or zh"},
		{"say twice", head + "rule a\n  match true\n  red confirmed\n  say en a\n  say en b\n", "the rule already says something in en"},
		{"not utf-8", "region ZJ\n\xff\n", "x.rules:1: the rule set is not UTF-8 text"},
		{"too large", strings.Repeat("#", MaxSource+1), "at most 65536"},
		// Compilation, located in the file.
		{"undeclared", head + "rule a\n  match fact.kind == \"x\"\n  red confirmed\n", "x.rules:4:9: rule a (match): undeclared reference to 'fact'"},
		{"misspelt field", head + "rule a\n  match f.kind == \"x\" && f.celcius > 38.0\n  red confirmed\n", "x.rules:4:27: rule a (match): undefined field 'celcius'"},
		{"continued line", head + "rule a\n  match f.kind == \"x\"\n     && f.ara == \"y\"\n  red confirmed\n", "x.rules:5:10: rule a (match): undefined field 'ara'"},
		{"not a bool", head + "rule a\n  match f.kind\n  red confirmed\n", "x.rules:4:9: rule a (match): the expression gives a string, want true or false"},
		{"f in when", head + "rule a\n  match true\n  when f.kind == \"x\"\n  red confirmed\n", "x.rules:5:8: rule a (when): undeclared reference to 'f'"},
		{"from not a time", head + "rule a\n  match true\n  from f.area\n  red confirmed\n", "rule a (from): the expression gives a string, want a time"},
		{"syntax", head + "rule a\n  match f.kind ==\n  red confirmed\n", "x.rules:4:18: rule a (match): syntax error"},
		{"wrong function args", head + "rule a\n  match within(f.area)\n  red confirmed\n", "rule a (match): found no matching overload for 'within'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Compile("x.rules", []byte(tc.src))
			if err == nil {
				t.Fatalf("compiled, want an error containing %q", tc.want)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got  %v\nwant %s", err, tc.want)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Errorf("error %T is not an *Error", err)
			}
		})
	}
}

func TestParseFormat(t *testing.T) {
	src := "\uFEFF# comment\r\nregion HB-WH\r\nversion 2020-02-20.1\r\nperiod yellow 10d\r\nperiod red 21d\r\n" +
		"contacts overlap 5m window 20m cap 7 lookback 10d\r\n\r\n" +
		"rule a-1\r\n  match f.kind == \"fever\"\r\n  withheld fever\r\n  say zh 发热\r\n" +
		"rule b_2\r\n  match f.kind == \"visit\"\r\n  when holder.home != \"\"\r\n  from f.at + duration(\"1h\")\r\n  yellow risk-area-visit\r\n  for 36h\r\n" +
		"rule c\r\n  match f.kind == \"confirmed\"\r\n  red confirmed\r\n  for open\r\n"
	s, err := Parse("hb.rules", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if s.Region != "HB-WH" || s.Version != "2020-02-20.1" || s.Yellow != 10*24*time.Hour || s.Red != 21*24*time.Hour {
		t.Errorf("header %q %q %v %v", s.Region, s.Version, s.Yellow, s.Red)
	}
	if c := s.Contacts; c != (ContactParams{Window: 20 * time.Minute, Overlap: 5 * time.Minute, Cap: 7, Lookback: 10 * 24 * time.Hour}) {
		t.Errorf("contacts %+v", c)
	}
	if len(s.Rules) != 3 || s.Rules[0].Say["zh"] != "发热" || s.Rules[1].For != 36*time.Hour || s.Rules[2].For != Open || s.Rules[1].From == nil || s.Rules[1].When == nil {
		t.Errorf("rules %+v", s.Rules)
	}
	rs, err := CompileSource(s)
	if err != nil {
		t.Fatal(err)
	}
	// The default periods apply to rules without their own.
	if rs.rules[0].per != Open || rs.rules[1].per != 36*time.Hour || rs.rules[2].per != Open {
		t.Errorf("periods %v %v %v", rs.rules[0].per, rs.rules[1].per, rs.rules[2].per)
	}
	if d, _ := Parse("d.rules", []byte(head+"rule a\n  match true\n  yellow fever\n")); d.Yellow != DefaultYellow || d.Red != DefaultRed || d.Contacts != DefaultContacts {
		t.Errorf("defaults %v %v %+v", d.Yellow, d.Red, d.Contacts)
	}
}

// FuzzCompile feeds rule set sources to the parser and the compiler: any
// input gives a rule set or an *Error, never a panic; a rule set that
// compiles can judge a holder.
func FuzzCompile(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("..", "..", "..", "docs", "rules", "*.rules"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		"", "region", "region ZJ\nversion 1\nrule a\n  match true\n  red confirmed\n  for open\n",
		head + "contacts window 1m overlap 1m cap 1 lookback 1d\nrule a\n  match f.celsius > 37.3\n  withheld fever\n",
		head + "rule a\n  match\n", head + "rule a\n  match (\n    (\n", head + "rule a\n  match true\n  red confirmed\n  say en \n",
		head + "period red 1d\nperiod red 2d\n", "region ZJ\r\nversion v\r\nrule x\r\n\tmatch risk(f.area, f.at) == \"high\"\r\n\tred risk-area-visit\r\n",
	} {
		f.Add([]byte(s))
	}
	areas, err := NewAreas([]Area{{ID: "ZJ", Kind: Province}, {ID: "ZJ-HZ", Kind: City, Parent: "ZJ"}}, []Site{{ID: "S", Area: "ZJ-HZ"}},
		[]Grade{{Area: "ZJ-HZ", Level: High, Effective: t0}})
	if err != nil {
		f.Fatal(err)
	}
	holder := Holder{ID: "ZJ:1", Facts: []Fact{fact("ZJ:1", KindConfirmed, day(2), "", ""), fact("ZJ:1", KindVisit, day(3), "", "S"),
		fever("ZJ:1", "S", day(3), 38), home("ZJ:1", "ZJ-HZ")}}
	w := &World{Areas: areas, Cases: NewCases(CasesOf([]Holder{holder}), areas)}
	f.Fuzz(func(t *testing.T, src []byte) {
		rs, err := Compile("fuzz.rules", src)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("error %T is not an *Error: %v", err, err)
			}
			if e.Line < 1 {
				t.Fatalf("error without a line: %v", err)
			}
			return
		}
		if _, err := rs.Evaluate(holder, w, day(4)); err != nil {
			var ee *EvalError
			if !errors.As(err, &ee) {
				t.Fatalf("evaluate: %T %v", err, err)
			}
		}
	})
}
