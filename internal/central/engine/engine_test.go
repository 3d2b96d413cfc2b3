package engine

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"sentinel/internal/status"
)

// want is the expected outcome of one judgement.
type want struct {
	status    status.Status
	reason    status.Reason
	rule      string
	effective time.Time
	until     time.Time
	facts     int // contributing facts; -1 to skip
}

func check(t *testing.T, r Result, err error, w want) {
	t.Helper()
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	if r.Status != w.status || r.Reason != w.reason || r.Rule != w.rule {
		t.Errorf("got %s/%s by rule %q, want %s/%s by rule %q", r.Status, r.Reason, r.Rule, w.status, w.reason, w.rule)
	}
	if !r.Effective.Equal(w.effective) {
		t.Errorf("effective %v, want %v", r.Effective, w.effective)
	}
	if !r.Until.Equal(w.until) {
		t.Errorf("until %v, want %v", r.Until, w.until)
	}
	if w.facts >= 0 && len(r.Facts) != w.facts {
		t.Errorf("%d deciding facts, want %d: %+v", len(r.Facts), w.facts, r.Facts)
	}
}

func TestZhejiang(t *testing.T) {
	rs := seed(t, "zhejiang.rules")
	w := &World{Areas: testAreas(t)}
	const h = "ZJ:100"
	confirmed := fact(h, KindConfirmed, day(3, 10, 0), "", "")
	contact := Fact{Holder: h, Kind: KindContact, At: day(4, 9, 0), Site: "SM-HZ-1", Value: "ZJ:7", Source: "derived:contact:T1/00/9"}
	visitHigh := fact(h, KindVisit, day(6, 8, 0), "", "STN-NB")     // Haishu is high from day 5
	visitBefore := fact(h, KindVisit, day(4, 8, 0), "", "STN-NB")   // not yet high then
	visitLow := fact(h, KindVisit, day(6, 8, 0), "", "SM-HZ-1")     // never graded
	visitAgain := fact(h, KindVisit, day(10, 18, 30), "", "STN-NB") // extends the yellow
	for _, tc := range []struct {
		name  string
		facts []Fact
		at    time.Time
		want  want
	}{
		{"nothing is green", []Fact{home(h, "ZJ-NB")}, day(5), want{status.Green, status.ReasonUnspecified, "", time.Time{}, time.Time{}, 0}},
		{"confirmed is red for 14 days", []Fact{confirmed}, day(3, 10, 0),
			want{status.Red, status.ReasonConfirmed, "confirmed", confirmed.At, confirmed.At.Add(14 * 24 * time.Hour), 1}},
		{"still red the day before", []Fact{confirmed}, day(16, 23, 59),
			want{status.Red, status.ReasonConfirmed, "confirmed", confirmed.At, confirmed.At.Add(14 * 24 * time.Hour), 1}},
		{"green again after the period", []Fact{confirmed}, day(17, 10, 0),
			want{status.Green, status.ReasonQuarantineEnded, "", confirmed.At.Add(14 * 24 * time.Hour), time.Time{}, 0}},
		{"a close contact is red", []Fact{contact}, day(5),
			want{status.Red, status.ReasonCloseContact, "close-contact", contact.At, contact.At.AddDate(0, 0, 14), 1}},
		{"a passage through a high-risk area is yellow for 7 days", []Fact{visitHigh}, day(7),
			want{status.Yellow, status.ReasonRiskAreaVisit, "high-risk-visit", visitHigh.At, visitHigh.At.AddDate(0, 0, 7), 1}},
		{"a passage before the area was graded is not", []Fact{visitBefore}, day(7),
			want{status.Green, status.ReasonUnspecified, "", time.Time{}, time.Time{}, 0}},
		{"a low-risk area is not", []Fact{visitLow}, day(7),
			want{status.Green, status.ReasonUnspecified, "", time.Time{}, time.Time{}, 0}},
		{"a new passage extends the yellow", []Fact{visitHigh, visitAgain}, day(12),
			want{status.Yellow, status.ReasonRiskAreaVisit, "high-risk-visit", visitHigh.At, visitAgain.At.AddDate(0, 0, 7), 2}},
		{"then green", []Fact{visitHigh, visitAgain}, visitAgain.At.AddDate(0, 0, 7),
			want{status.Green, status.ReasonQuarantineEnded, "", visitAgain.At.AddDate(0, 0, 7), time.Time{}, 0}},
		{"a fact after the time judged is not seen", []Fact{confirmed}, day(3, 9, 59),
			want{status.Green, status.ReasonUnspecified, "", time.Time{}, time.Time{}, 0}},
		{"red wins over yellow", []Fact{visitHigh, confirmed}, day(7),
			want{status.Red, status.ReasonConfirmed, "confirmed", confirmed.At, confirmed.At.AddDate(0, 0, 14), 1}},
		{"a later red of another rule carries the red on", []Fact{confirmed, contact, {Holder: h, Kind: KindContact, At: day(12), Site: "SM-HZ-1", Value: "ZJ:8", Source: "derived:contact:y"}}, day(13),
			want{status.Red, status.ReasonConfirmed, "confirmed", confirmed.At, day(26), 1}},
		{"a manual status decides first", []Fact{confirmed, {Holder: h, Kind: KindManual, At: day(5), Value: "green", Until: day(9), Source: "ops:alice"}}, day(6),
			want{status.Green, status.ReasonManual, "manual", day(5), day(9), 1}},
		{"and the rules again after it", []Fact{confirmed, {Holder: h, Kind: KindManual, At: day(5), Value: "green", Until: day(9), Source: "ops:alice"}}, day(9),
			want{status.Red, status.ReasonConfirmed, "confirmed", confirmed.At, confirmed.At.AddDate(0, 0, 14), 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := rs.Evaluate(Holder{ID: h, Facts: tc.facts}, w, tc.at)
			check(t, r, err, tc.want)
			if r.Region != "ZJ" || r.Version != "2020-02-11.1" {
				t.Errorf("rule set %s %s, want ZJ 2020-02-11.1", r.Region, r.Version)
			}
		})
	}
	t.Run("the yellow is listed beside the red", func(t *testing.T) {
		r, err := rs.Evaluate(Holder{ID: h, Facts: []Fact{visitHigh, confirmed}}, w, day(7))
		if err != nil {
			t.Fatal(err)
		}
		if len(r.Also) != 1 || r.Also[0].Rule != "high-risk-visit" || !r.Also[0].Until.Equal(visitHigh.At.AddDate(0, 0, 7)) {
			t.Errorf("also %+v, want high-risk-visit until %v", r.Also, visitHigh.At.AddDate(0, 0, 7))
		}
	})
}

func TestHubei(t *testing.T) {
	rs := seed(t, "hubei.rules")
	w := &World{Areas: testAreas(t)}
	const h = "HB:5"
	neg := func(at time.Time) Fact { return fact(h, KindTestNegative, at, "", "") }
	feverWH := fever(h, "CP-WH", day(3, 8, 0), 38.4)
	feverYC := fever(h, "CP-YC", day(3, 8, 0), 38.1)
	whitelist := Fact{Holder: h, Kind: KindWhitelist, At: day(2), Area: "HB-WH-JA", Value: "essential", Until: day(20), Source: "ops:list"}
	for _, tc := range []struct {
		name  string
		facts []Fact
		at    time.Time
		want  want
	}{
		{"fever in Wuhan is red", []Fact{home(h, "HB-WH-WC"), feverWH}, day(4),
			want{status.Red, status.ReasonFever, "fever-wuhan", feverWH.At, feverWH.At.AddDate(0, 0, 14), 1}},
		{"fever in Wuhan, then a negative test: green", []Fact{home(h, "HB-WH-WC"), feverWH, neg(day(4))}, day(5),
			want{status.Green, status.ReasonUnspecified, "", time.Time{}, time.Time{}, 0}},
		{"fever elsewhere in the province is withheld", []Fact{home(h, "HB-YC-WJ"), feverYC}, day(4),
			want{status.Withheld, status.ReasonFever, "fever-province", feverYC.At, time.Time{}, 1}},
		{"still withheld weeks later without a test", []Fact{home(h, "HB-YC-WJ"), feverYC}, day(28),
			want{status.Withheld, status.ReasonFever, "fever-province", feverYC.At, time.Time{}, 1}},
		{"a test taken before the fever does not clear it", []Fact{home(h, "HB-YC-WJ"), neg(day(2)), feverYC}, day(4),
			want{status.Withheld, status.ReasonFever, "fever-province", feverYC.At, time.Time{}, 1}},
		{"a negative test after the fever clears it", []Fact{home(h, "HB-YC-WJ"), feverYC, neg(day(3, 20, 0))}, day(4),
			want{status.Green, status.ReasonUnspecified, "", time.Time{}, time.Time{}, 0}},
		{"living in a high-risk area is red while it is high", []Fact{home(h, "HB-WH-JA-C07")}, day(10),
			want{status.Red, status.ReasonRiskAreaHome, "high-risk-home", home(h, "").At, time.Time{}, 1}},
		{"a whitelisted essential worker there is green", []Fact{home(h, "HB-WH-JA-C07"), whitelist}, day(10),
			want{status.Green, status.ReasonEssentialWorker, "essential-worker", whitelist.At, time.Time{}, 1}},
		{"a lapsed whitelist is not", []Fact{home(h, "HB-WH-JA-C07"), whitelist}, day(21),
			want{status.Red, status.ReasonRiskAreaHome, "high-risk-home", home(h, "").At, time.Time{}, 1}},
		{"a whitelist for another area is not", []Fact{home(h, "HB-WH-JA-C07"), {Holder: h, Kind: KindWhitelist, At: day(2), Area: "HB-YC", Source: "ops:list"}}, day(10),
			want{status.Red, status.ReasonRiskAreaHome, "high-risk-home", home(h, "").At, time.Time{}, 1}},
		{"a whitelisted worker with a confirmed infection is red", []Fact{home(h, "HB-WH-JA-C07"), whitelist, fact(h, KindConfirmed, day(8), "", "")}, day(10),
			want{status.Red, status.ReasonConfirmed, "confirmed", day(8), day(22), 1}},
		{"living in a medium-risk area is yellow", []Fact{home(h, "HB-YC-XL")}, day(10),
			want{status.Yellow, status.ReasonRiskAreaHome, "medium-risk-home", home(h, "").At, time.Time{}, 1}},
		{"a passage in a medium-risk area is yellow for 7 days", []Fact{home(h, "HB-YC-WJ"), fact(h, KindVisit, day(6), "", "SM-XL")}, day(8),
			want{status.Yellow, status.ReasonRiskAreaVisit, "medium-risk-visit", day(6), day(13), 1}},
		{"a passage in a high-risk area is red for 14 days", []Fact{home(h, "HB-YC-WJ"), fact(h, KindVisit, day(6), "", "CP-JA")}, day(8),
			want{status.Red, status.ReasonRiskAreaVisit, "high-risk-visit", day(6), day(20), 1}},
		{"a passage in a low-risk area changes nothing", []Fact{home(h, "HB-YC-WJ"), fact(h, KindVisit, day(6), "", "CP-YC")}, day(8),
			want{status.Green, status.ReasonUnspecified, "", time.Time{}, time.Time{}, 0}},
		{"a close contact living in a low-risk area is yellow", []Fact{home(h, "HB-YC-WJ"), fact(h, KindContact, day(6), "", "CP-YC")}, day(8),
			want{status.Yellow, status.ReasonCloseContact, "close-contact-low-risk", day(6), day(20), 1}},
		{"a close contact living in a medium-risk area is red", []Fact{home(h, "HB-YC-XL"), fact(h, KindContact, day(6), "", "CP-YC")}, day(8),
			want{status.Red, status.ReasonCloseContact, "close-contact", day(6), day(20), 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := rs.Evaluate(Holder{ID: h, Facts: tc.facts}, w, tc.at)
			check(t, r, err, tc.want)
		})
	}
}

// compoundWorld is a compound with a confirmed resident on day 3 (ZJ:1),
// a neighbour (ZJ:2), a resident of the next compound (ZJ:3), and a
// contact of the case who lives in Ningbo (ZJ:4).
func compoundWorld(t *testing.T) ([]Holder, *World) {
	areas := testAreas(t)
	holders := []Holder{
		{ID: "ZJ:1", Facts: []Fact{home("ZJ:1", "ZJ-HZ-XH-C01"), fact("ZJ:1", KindConfirmed, day(3), "", "")}},
		{ID: "ZJ:2", Facts: []Fact{home("ZJ:2", "ZJ-HZ-XH-C01")}},
		{ID: "ZJ:3", Facts: []Fact{home("ZJ:3", "ZJ-HZ-XH-C02")}},
		{ID: "ZJ:4", Facts: []Fact{home("ZJ:4", "ZJ-NB-HS"), {Holder: "ZJ:4", Kind: KindContact, At: day(2), Site: "SM-HZ-1", Value: "ZJ:1", Source: "derived:contact:x"}}},
	}
	return holders, &World{Areas: areas, Cases: NewCases(CasesOf(holders), areas)}
}

func TestCompoundQuestion(t *testing.T) {
	holders, w := compoundWorld(t)
	zj := seed(t, "zhejiang.rules")
	for _, tc := range []struct {
		file string
		want map[string]want
	}{
		{"hangzhou-compound-all.rules", map[string]want{
			"ZJ:1": {status.Red, status.ReasonConfirmed, "confirmed", day(3), day(17), 1},
			"ZJ:2": {status.Red, status.ReasonRiskAreaHome, "compound-case", day(3), day(17), 1},
			"ZJ:3": {status.Green, status.ReasonUnspecified, "", time.Time{}, time.Time{}, 0},
			"ZJ:4": {status.Red, status.ReasonCloseContact, "close-contact", day(2), day(16), 1},
		}},
		{"hangzhou-compound-contacts.rules", map[string]want{
			"ZJ:1": {status.Red, status.ReasonConfirmed, "confirmed", day(3), day(17), 1},
			"ZJ:2": {status.Green, status.ReasonUnspecified, "", time.Time{}, time.Time{}, 0},
			"ZJ:3": {status.Green, status.ReasonUnspecified, "", time.Time{}, time.Time{}, 0},
			"ZJ:4": {status.Red, status.ReasonCloseContact, "close-contact", day(2), day(16), 1},
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			set, err := NewSet(zj, seed(t, tc.file))
			if err != nil {
				t.Fatal(err)
			}
			for _, h := range holders {
				r, err := set.Evaluate(h, w, day(5))
				check(t, r, err, tc.want[h.ID])
				// Hangzhou's compounds are judged by the city's rule set,
				// Ningbo's by the province's.
				wantRegion := map[string]string{"ZJ:4": "ZJ"}[h.ID]
				if wantRegion == "" {
					wantRegion = "ZJ-HZ"
				}
				if r.Region != wantRegion {
					t.Errorf("%s judged by %s, want %s", h.ID, r.Region, wantRegion)
				}
			}
			// The neighbour's red ends 14 days after the case, not after
			// they moved in.
			r, err := set.Evaluate(holders[1], w, day(17))
			check(t, r, err, map[string]want{
				"hangzhou-compound-all.rules":      {status.Green, status.ReasonQuarantineEnded, "", day(17), time.Time{}, 0},
				"hangzhou-compound-contacts.rules": {status.Green, status.ReasonUnspecified, "", time.Time{}, time.Time{}, 0},
			}[tc.file])
		})
	}
	t.Run("the difference in numbers", func(t *testing.T) {
		sims := map[string]*Simulation{}
		for _, f := range []string{"hangzhou-compound-all.rules", "hangzhou-compound-contacts.rules"} {
			set, err := NewSet(zj, seed(t, f))
			if err != nil {
				t.Fatal(err)
			}
			sims[f] = Simulate(holders, nil, set, w, day(5))
		}
		all, con := sims["hangzhou-compound-all.rules"], sims["hangzhou-compound-contacts.rules"]
		if got := all.Counts["ZJ-HZ"][status.Red]; got != 2 {
			t.Errorf("everyone-red variant: %d red in ZJ-HZ, want 2", got)
		}
		if got := con.Counts["ZJ-HZ"][status.Red]; got != 1 {
			t.Errorf("contacts-only variant: %d red in ZJ-HZ, want 1", got)
		}
		if got := con.Counts["ZJ-HZ"][status.Green]; got != 2 {
			t.Errorf("contacts-only variant: %d green in ZJ-HZ, want 2", got)
		}
		if got := all.Moves()[[2]status.Status{status.Green, status.Red}]; got != 3 {
			t.Errorf("everyone-red variant: %d green to red, want 3", got)
		}
		var changed []string
		for _, c := range con.Changes {
			changed = append(changed, c.Holder)
		}
		if !slices.Equal(changed, []string{"ZJ:1", "ZJ:4"}) {
			t.Errorf("contacts-only variant changes %v, want [ZJ:1 ZJ:4]", changed)
		}
	})
}

func TestSimulateCurrent(t *testing.T) {
	holders, w := compoundWorld(t)
	set, err := NewSet(seed(t, "zhejiang.rules"))
	if err != nil {
		t.Fatal(err)
	}
	holders = append(holders, Holder{ID: "p:00000000000000000000000000000000"}) // no home: unjudged
	cur := map[string]status.Status{"ZJ:1": status.Red, "ZJ:3": status.Yellow}
	s := Simulate(holders, cur, set, w, day(5))
	if s.Judged != 4 || s.Unjudged != 1 || len(s.Errors) != 0 {
		t.Fatalf("judged %d, unjudged %d, errors %v; want 4, 1, none", s.Judged, s.Unjudged, s.Errors)
	}
	var got []string
	for _, c := range s.Changes {
		got = append(got, c.Holder+":"+c.From.String()+">"+c.To.String())
	}
	want := []string{"ZJ:3:yellow>green", "ZJ:4:green>red"}
	if !slices.Equal(got, want) {
		t.Errorf("changes %v, want %v", got, want)
	}
}

func TestMostSpecific(t *testing.T) {
	areas := testAreas(t)
	mk := func(region string) *RuleSet {
		rs, err := Compile(region+".rules", []byte("region "+region+"\nversion v1\nrule r\n  match f.kind == \"confirmed\"\n  red confirmed\n"))
		if err != nil {
			t.Fatal(err)
		}
		return rs
	}
	set, err := NewSet(mk("ZJ"), mk("ZJ-HZ-XH"), mk("ZJ-HZ-XH-C01"))
	if err != nil {
		t.Fatal(err)
	}
	for home, want := range map[string]string{
		"ZJ-HZ-XH-C01": "ZJ-HZ-XH-C01", "ZJ-HZ-XH-C02": "ZJ-HZ-XH", "ZJ-HZ": "ZJ", "ZJ-NB-HS": "ZJ", "HB-WH": "",
	} {
		rs, ok := set.For(home, areas)
		if ok {
			if got := rs.Region(); got != want {
				t.Errorf("home %s: rule set %s, want %s", home, got, want)
			}
		} else if want != "" {
			t.Errorf("home %s: no rule set, want %s", home, want)
		}
	}
	if _, err := NewSet(mk("ZJ"), mk("ZJ")); err == nil {
		t.Error("two rule sets for ZJ were accepted")
	}
	// Without a home fact an ISSUER:INDEX holder lives in the issuer's
	// region; a pseudonym is not judged.
	w := &World{Areas: areas}
	r, err := set.Evaluate(Holder{ID: "ZJ:9"}, w, day(3))
	if err != nil || r.Region != "ZJ" || r.Home != "ZJ" {
		t.Errorf("ZJ:9 without home: %+v, %v; want judged by ZJ", r, err)
	}
	if _, err := set.Evaluate(Holder{ID: "p:00000000000000000000000000000001"}, w, day(3)); !errors.Is(err, ErrNoRuleSet) {
		t.Errorf("pseudonym without home: %v, want ErrNoRuleSet", err)
	}
}

func TestExplain(t *testing.T) {
	areas := testAreas(t)
	rs := seed(t, "zhejiang.rules")
	h := Holder{ID: "ZJ:4", Facts: []Fact{home("ZJ:4", "ZJ-NB-HS"),
		{Holder: "ZJ:4", Kind: KindContact, At: day(2, 9, 30), Site: "SM-HZ-1", Value: "ZJ:1", Source: "derived:contact:x"},
		fact("ZJ:4", KindVisit, day(6, 8, 0), "", "STN-NB")}}
	r, err := rs.Evaluate(h, &World{Areas: areas}, day(7))
	if err != nil {
		t.Fatal(err)
	}
	en := Explain(r, ExplainOptions{Lang: English, Areas: areas})
	zh := Explain(r, ExplainOptions{Lang: Chinese, Areas: areas})
	for _, tc := range []struct {
		text string
		want []string
	}{
		{en, []string{"RED", "since 2020-02-02 09:30 UTC", `rule "close-contact"`, "version 2020-02-11.1", "Until: 2020-02-16 09:30 UTC",
			"at Xihu supermarket (SM-HZ-1) at the same time as a confirmed case", "stay at home for 14 days", `Also applies: rule "high-risk-visit"`}},
		{zh, []string{"红码", "自2020-02-02 09:30 UTC起", "ZJ规则（版本2020-02-11.1）中的“close-contact”条", "至2020-02-16 09:30 UTC",
			"与一名确诊病例同时在Xihu supermarket (SM-HZ-1)", "请居家隔离14天", "同时适用：“high-risk-visit”条"}},
	} {
		for _, w := range tc.want {
			if !strings.Contains(tc.text, w) {
				t.Errorf("explanation lacks %q:\n%s", w, tc.text)
			}
		}
		if strings.Contains(tc.text, "ZJ:1") {
			t.Errorf("explanation names the case:\n%s", tc.text)
		}
	}
	// A rule without its own words explains by the reason; a time zone is
	// honoured.
	hb := seed(t, "hubei.rules")
	r, err = hb.Evaluate(Holder{ID: "HB:1", Facts: []Fact{home("HB:1", "HB-YC-XL")}}, &World{Areas: areas}, day(7))
	if err != nil {
		t.Fatal(err)
	}
	sh, _ := time.LoadLocation("Asia/Shanghai")
	en = Explain(r, ExplainOptions{Lang: English, Areas: areas, Loc: sh})
	for _, w := range []string{"YELLOW", "you live in an area graded at risk", "home registered in Xiling (HB-YC-XL)", "Until: no end date", "on 2020-02-07 08:00:"} {
		if !strings.Contains(en, w) {
			t.Errorf("explanation lacks %q:\n%s", w, en)
		}
	}
}

func TestCostBounded(t *testing.T) {
	src := `region ZJ
version cost
rule expensive
  match facts.all(a, facts.all(b, facts.all(c, a.at <= now && b.at <= now && c.at <= now)))
  red confirmed
`
	rs, err := Compile("cost.rules", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var facts []Fact
	for i := range 200 {
		facts = append(facts, fact("ZJ:1", KindVisit, day(1).Add(time.Duration(i)*time.Minute), "ZJ", ""))
	}
	_, err = rs.Evaluate(Holder{ID: "ZJ:1", Facts: facts}, &World{}, day(3))
	var ee *EvalError
	if !errors.As(err, &ee) || ee.Rule != "expensive" || ee.Clause != "match" {
		t.Fatalf("got %v, want an *EvalError in rule expensive (match)", err)
	}
	if !strings.Contains(err.Error(), "cost") {
		t.Errorf("error %q does not say it cost too much", err)
	}
	// The same rule over few facts is judged.
	if _, err := rs.Evaluate(Holder{ID: "ZJ:1", Facts: facts[:3]}, &World{}, day(3)); err != nil {
		t.Errorf("three facts: %v", err)
	}
}

func TestHolderCost(t *testing.T) {
	// Each evaluation is cheap, but many facts each looking through all
	// facts add up past the holder's budget.
	src := "region ZJ\nversion cost\nrule quadratic\n  match facts.exists(g, g.at > f.at && g.value == \"never\")\n  red confirmed\n"
	rs, err := Compile("cost.rules", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	var facts []Fact
	for i := range MaxFacts {
		facts = append(facts, fact("ZJ:1", KindVisit, day(1).Add(time.Duration(i)*time.Second), "ZJ", ""))
	}
	_, err = rs.Evaluate(Holder{ID: "ZJ:1", Facts: facts}, &World{}, day(3))
	if !errors.Is(err, ErrCost) {
		t.Fatalf("got %v, want ErrCost", err)
	}
}

func TestMaxFacts(t *testing.T) {
	rs := seed(t, "zhejiang.rules")
	var facts []Fact
	facts = append(facts, fact("ZJ:1", KindConfirmed, day(1), "", ""))
	for i := range MaxFacts {
		facts = append(facts, fact("ZJ:1", KindTestNegative, day(2).Add(time.Duration(i)*time.Second), "", ""))
	}
	r, err := rs.Evaluate(Holder{ID: "ZJ:1", Facts: facts}, &World{}, day(3))
	if err != nil {
		t.Fatal(err)
	}
	if r.Dropped != 1 || r.Status != status.Green {
		t.Errorf("dropped %d, status %s; want the oldest fact (the confirmation) dropped: 1, green", r.Dropped, r.Status)
	}
}

func TestDeterministic(t *testing.T) {
	holders, w := compoundWorld(t)
	set, err := NewSet(seed(t, "zhejiang.rules"), seed(t, "hangzhou-compound-all.rules"))
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range holders {
		a, err1 := set.Evaluate(h, w, day(6))
		rev := Holder{ID: h.ID, Facts: slices.Clone(h.Facts)}
		slices.Reverse(rev.Facts)
		b, err2 := set.Evaluate(rev, w, day(6))
		if err1 != nil || err2 != nil {
			t.Fatal(err1, err2)
		}
		if a.Status != b.Status || a.Rule != b.Rule || !a.Until.Equal(b.Until) || !a.Effective.Equal(b.Effective) || a.Cost != b.Cost {
			t.Errorf("%s: facts in another order gave %+v, then %+v", h.ID, a, b)
		}
	}
}
