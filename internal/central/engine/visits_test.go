package engine

import (
	"context"
	"fmt"
	"testing"
	"time"
)

// TestAddVisits: passages reach the rules as visits when their site's area
// was graded medium or high at their time, whenever the grade was set.
func TestAddVisits(t *testing.T) {
	ps := []passageAt{
		{"ZJ:1", "STN-NB", day(6, 9, 0), "admit"},   // Haishu is high from day 5
		{"ZJ:2", "STN-NB", day(4, 9, 0), "admit"},   // before the grade
		{"ZJ:3", "STN-NB", day(6, 10, 0), "deny"},   // refused: never went in
		{"ZJ:4", "SM-HZ-1", day(6, 9, 0), "admit"},  // a low-risk site
		{"ZJ:5", "STN-NB", day(1, 9, 0), "admit"},   // beyond the lookback
		{"HB:7", "SM-XL", day(10, 12, 0), "admit"},  // Xiling is medium from day 1
		{"ZJ:1", "STN-NB", day(10, 18, 0), "admit"}, // a second visit
	}
	for name, st := range contactStores(t, ps) {
		t.Run(name, func(t *testing.T) {
			set, err := NewSet(seed(t, "zhejiang.rules"), seed(t, "hubei.rules"))
			if err != nil {
				t.Fatal(err)
			}
			if got := set.Lookback(); got != DefaultRed {
				t.Errorf("lookback %v, want 14 days (the longest finite period)", got)
			}
			now := day(11)
			snap := &Snapshot{Areas: testAreas(t), Deployed: set, Holders: []Holder{{ID: "ZJ:1", Facts: []Fact{home("ZJ:1", "ZJ-HZ")}}}}
			n, err := snap.AddVisits(context.Background(), st, now, 7*24*60*60*1e9)
			if err != nil {
				t.Fatal(err)
			}
			if n != 3 {
				t.Errorf("%d visits, want 3 (ZJ:1 twice, HB:7)", n)
			}
			if len(snap.Holders) != 2 || snap.Holders[0].ID != "HB:7" || snap.Holders[1].ID != "ZJ:1" || len(snap.Holders[1].Facts) != 3 {
				t.Fatalf("holders %+v", snap.Holders)
			}
			w := snap.World()
			r, err := set.Evaluate(snap.Holder("ZJ:1"), w, now)
			if err != nil || r.Rule != "high-risk-visit" || !r.Until.Equal(day(17, 18, 0)) {
				t.Errorf("ZJ:1: %s by %q until %v (%v), want yellow by high-risk-visit until %v", r.Status, r.Rule, r.Until, err, day(17, 18, 0))
			}
			if r, err := set.Evaluate(snap.Holder("HB:7"), w, now); err != nil || r.Rule != "medium-risk-visit" {
				t.Errorf("HB:7: %+v (%v), want yellow by medium-risk-visit", r, err)
			}
			// Again: the visits are not added twice.
			if n, _ := snap.AddVisits(context.Background(), st, now, 7*24*60*60*1e9); n != 0 {
				t.Errorf("a second pass added %d visits", n)
			}
		})
	}
}

// TestAddVisitsOf: a snapshot of some holders gets the same visits from
// their own passages as AddVisits gives them from every risky site's.
func TestAddVisitsOf(t *testing.T) {
	ps := []passageAt{
		{"ZJ:1", "STN-NB", day(6, 9, 0), "admit"},
		{"ZJ:2", "STN-NB", day(4, 9, 0), "admit"},
		{"ZJ:3", "STN-NB", day(6, 10, 0), "deny"},
		{"ZJ:4", "SM-HZ-1", day(6, 9, 0), "admit"},
		{"ZJ:5", "STN-NB", day(1, 9, 0), "admit"},
		{"HB:7", "SM-XL", day(10, 12, 0), "admit"},
		{"ZJ:1", "STN-NB", day(10, 18, 0), "admit"},
		{"ZJ:1", "NOWHERE", day(10, 19, 0), "admit"}, // a site ops have not placed
	}
	for name, st := range contactStores(t, ps) {
		t.Run(name, func(t *testing.T) {
			set, err := NewSet(seed(t, "zhejiang.rules"), seed(t, "hubei.rules"))
			if err != nil {
				t.Fatal(err)
			}
			now, lookback := day(11), 7*24*time.Hour
			all := &Snapshot{Areas: testAreas(t), Deployed: set, Holders: []Holder{{ID: "ZJ:1", Facts: []Fact{home("ZJ:1", "ZJ-HZ")}}}}
			if _, err := all.AddVisits(context.Background(), st, now, lookback); err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"ZJ:1", "ZJ:2", "ZJ:3", "ZJ:4", "HB:7", "ZJ:9"} {
				some := &Snapshot{Areas: all.Areas, Deployed: set, Holders: []Holder{{ID: id}}}
				if id == "ZJ:1" {
					some.Holders[0].Facts = []Fact{home("ZJ:1", "ZJ-HZ")}
				}
				if _, err := some.AddVisitsOf(context.Background(), st, now, lookback); err != nil {
					t.Fatal(err)
				}
				if got, want := fmt.Sprint(some.Holders[0].Facts), fmt.Sprint(all.Holder(id).Facts); got != want {
					t.Errorf("%s: AddVisitsOf gave %s, AddVisits %s", id, got, want)
				}
				if n, _ := some.AddVisitsOf(context.Background(), st, now, lookback); n != 0 {
					t.Errorf("%s: a second pass added %d visits", id, n)
				}
			}
		})
	}
}

func TestUsesCases(t *testing.T) {
	for _, tc := range []struct {
		src  string
		want bool
	}{
		{"rule r\n  match f.kind == \"confirmed\"\n  red confirmed\n", false},
		{"rule r\n  match f.kind == \"home\" && cases_in(f.area, now - duration(\"336h\")) > 0\n  red confirmed\n", true},
		{"rule r\n  match f.kind == \"home\"\n  when last_case_in(holder.home) > timestamp(0)\n  red confirmed\n", true},
		{"rule r\n  match f.kind == \"home\"\n  from last_case_in(f.area)\n  red confirmed\n", true},
	} {
		rs, err := Compile("cases.rules", []byte("region ZJ\nversion cases\n"+tc.src))
		if err != nil {
			t.Fatal(err)
		}
		set, _ := NewSet(rs)
		if rs.UsesCases() != tc.want || set.UsesCases() != tc.want {
			t.Errorf("%q: UsesCases %v, want %v", tc.src, rs.UsesCases(), tc.want)
		}
	}
	for _, name := range []string{"zhejiang.rules", "hubei.rules", "hangzhou-compound-contacts.rules"} {
		if seed(t, name).UsesCases() {
			t.Errorf("%s reads every case", name)
		}
	}
	if !seed(t, "hangzhou-compound-all.rules").UsesCases() {
		t.Error("hangzhou-compound-all.rules: UsesCases false")
	}
}
