package engine

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"sentinel/internal/status"
)

func TestKindGuard(t *testing.T) {
	for _, tc := range []struct {
		match string
		want  Kind
	}{
		{`f.kind == "fever"`, KindFever},
		{`"contact" == f.kind`, KindContact},
		{`f.kind == "fever" && f.celsius > 38.0`, KindFever},
		{`f.celsius > 38.0 && (f.site == "X" && f.kind == "fever")`, KindFever},
		{`f.kind == "fever" || f.kind == "visit"`, ""},
		{`!(f.kind == "fever")`, ""},
		{`f.kind != "fever"`, ""},
		{`f.kind == "no-such-kind"`, ""},
		{`facts.exists(f, f.kind == "fever")`, ""},
		{`f.value == "fever"`, ""},
	} {
		src := fmt.Sprintf("region ZJ\nversion guard\nrule r\n  match %s\n  red fever\n", tc.match)
		rs, err := Compile("guard.rules", []byte(src))
		if err != nil {
			t.Fatalf("%s: %v", tc.match, err)
		}
		if got := rs.rules[0].kind; got != tc.want {
			t.Errorf("%s: guard %q, want %q", tc.match, got, tc.want)
		}
	}
}

func TestLatestAndFactsOf(t *testing.T) {
	src := `region ZJ
version functions
rule untested-fever
  match f.kind == "fever" && latest("test-negative") <= f.at
  red fever
rule two-visits
  match f.kind == "visit" && size(facts_of("visit")) >= 2
        && facts_of("visit").all(v, v.kind == "visit")
  yellow risk-area-visit
rule never-tested
  match f.kind == "home" && latest("test-negative") == timestamp(0)
  withheld unspecified
`
	rs, err := Compile("functions.rules", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	const h = "ZJ:9"
	hm := home(h, "ZJ-HZ-XH")
	fev := fever(h, "SM-HZ-1", day(3), 38.2)
	neg := func(at time.Time) Fact { return fact(h, KindTestNegative, at, "", "") }
	visit := func(at time.Time) Fact { return fact(h, KindVisit, at, "", "SM-HZ-1") }
	w := &World{Areas: testAreas(t)}
	for _, tc := range []struct {
		name  string
		facts []Fact
		rule  string
		st    status.Status
	}{
		{"a fever and no test", []Fact{hm, fev}, "untested-fever", status.Red},
		{"a test after the fever", []Fact{hm, fev, neg(day(4))}, "two-visits", status.Green},
		{"a test before the fever", []Fact{hm, neg(day(2)), fev}, "untested-fever", status.Red},
		{"a test at the fever's time", []Fact{hm, neg(day(3)), fev}, "untested-fever", status.Red},
		{"a test after now is not seen", []Fact{hm, fev, neg(day(9))}, "untested-fever", status.Red},
		{"two visits", []Fact{hm, neg(day(1)), visit(day(2)), visit(day(3))}, "two-visits", status.Yellow},
		{"one visit, never tested", []Fact{hm, visit(day(2))}, "never-tested", status.Withheld},
	} {
		r, err := rs.Evaluate(Holder{ID: h, Facts: tc.facts}, w, day(5))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if tc.st == status.Green {
			if r.Status != status.Green {
				t.Errorf("%s: %s by %q, want green", tc.name, r.Status, r.Rule)
			}
			continue
		}
		if r.Rule != tc.rule || r.Status != tc.st {
			t.Errorf("%s: %s by %q, want %s by %q", tc.name, r.Status, r.Rule, tc.st, tc.rule)
		}
	}
}

// randomHolder gives a Hubei holder n facts of every kind the seed reads,
// at random times over three weeks.
func randomHolder(rng *rand.Rand, id string, n int) Holder {
	homes := []string{"HB-WH-JA", "HB-WH-WC", "HB-YC-WJ", "HB-YC-XL", "HB-WH-JA-C07"}
	sites := []string{"CP-WH", "CP-JA", "CP-YC", "SM-XL"}
	h := Holder{ID: id, Facts: []Fact{home(id, homes[rng.IntN(len(homes))])}}
	for range n {
		at := day(1).Add(time.Duration(rng.IntN(21*24)) * time.Hour)
		switch rng.IntN(6) {
		case 0:
			h.Facts = append(h.Facts, fever(id, sites[rng.IntN(len(sites))], at, 37.5+rng.Float64()))
		case 1:
			h.Facts = append(h.Facts, fact(id, KindTestNegative, at, "", ""))
		case 2:
			h.Facts = append(h.Facts, fact(id, KindVisit, at, "", sites[rng.IntN(len(sites))]))
		case 3:
			h.Facts = append(h.Facts, fact(id, KindContact, at, "", sites[rng.IntN(len(sites))]))
		case 4:
			h.Facts = append(h.Facts, Fact{Holder: id, Kind: KindWhitelist, At: at, Area: "HB-WH", Value: "essential", Until: at.AddDate(0, 0, 7), Source: "ops:list"})
		default:
			if rng.IntN(4) == 0 {
				h.Facts = append(h.Facts, fact(id, KindConfirmed, at, "", ""))
			} else {
				h.Facts = append(h.Facts, home(id, homes[rng.IntN(len(homes))]))
			}
		}
	}
	return h
}

// TestIndexedSameAsScan judges random holders three ways: the Hubei seed
// (latest and the kind guards), the same with the guards off (every fact
// tried for every rule), and the seed as first written (facts.exists in a
// match); all three must agree on everything but the cost.
func TestIndexedSameAsScan(t *testing.T) {
	w := &World{Areas: testAreas(t)}
	indexed := seed(t, "hubei.rules")
	unguarded := seed(t, "hubei.rules")
	unguarded.rules = slices.Clone(unguarded.rules)
	for i := range unguarded.rules {
		unguarded.rules[i].kind = ""
	}
	src, err := os.ReadFile(filepath.Join("testdata", "hubei-scan.rules"))
	if err != nil {
		t.Fatal(err)
	}
	scan, err := Compile("hubei-scan.rules", src)
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(11, 1))
	for i := range 400 {
		h := randomHolder(rng, fmt.Sprintf("HB:%d", i), rng.IntN(40))
		at := day(1 + rng.IntN(30))
		want, err := indexed.Evaluate(h, w, at)
		if err != nil {
			t.Fatal(err)
		}
		for name, rs := range map[string]*RuleSet{"unguarded": unguarded, "scan": scan} {
			got, err := rs.Evaluate(h, w, at)
			if err != nil {
				t.Fatal(err)
			}
			got.Cost, want.Cost = 0, 0
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("holder %d at %v: %s gave\n%+v\nthe seed\n%+v", i, at, name, got, want)
			}
		}
	}
}

// TestCostLinearInFacts: judging a holder under the Hubei seed costs in
// proportion to their facts. Written with facts.exists in a match, ten
// times the facts cost about a hundred times as much, and a holder with a
// few thousand facts could not be judged at all (ErrCost).
func TestCostLinearInFacts(t *testing.T) {
	w := &World{Areas: testAreas(t)}
	rs := seed(t, "hubei.rules")
	cost := func(n int) uint64 {
		h := randomHolder(rand.New(rand.NewPCG(uint64(n), 2)), "HB:1", n)
		r, err := rs.Evaluate(h, w, day(30))
		if err != nil {
			t.Fatalf("%d facts: %v", n, err)
		}
		return r.Cost
	}
	small, large := cost(200), cost(MaxFacts-1)
	if ratio := float64(large) / float64(small); ratio > 2*float64(MaxFacts)/200 {
		t.Errorf("cost %d with 200 facts, %d with %d: %.0f times, want about %d", small, large, MaxFacts-1, ratio, MaxFacts/200)
	}
	src, err := os.ReadFile(filepath.Join("testdata", "hubei-scan.rules"))
	if err != nil {
		t.Fatal(err)
	}
	scan, err := Compile("hubei-scan.rules", src)
	if err != nil {
		t.Fatal(err)
	}
	h := randomHolder(rand.New(rand.NewPCG(3, 3)), "HB:1", MaxFacts-1)
	if _, err := scan.Evaluate(h, w, day(30)); !errors.Is(err, ErrCost) {
		t.Errorf("the seed as first written judged %d facts: %v; want ErrCost (the test no longer shows the difference)", MaxFacts-1, err)
	}
}
