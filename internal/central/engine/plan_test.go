package engine

import (
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/status"
)

func TestPlanSweep(t *testing.T) {
	areas := testAreas(t)
	confirmed := func(h string, d int) Fact { return fact(h, KindConfirmed, day(d), "", "") }
	snap := &Snapshot{Areas: areas, Holders: []Holder{
		{ID: "ZJ:1", Facts: []Fact{confirmed("ZJ:1", 9)}},
		{ID: "ZJ:2", Facts: []Fact{confirmed("ZJ:2", 5)}},
		{ID: "ZJ:3", Facts: []Fact{confirmed("ZJ:3", 5), confirmed("ZJ:3", 8)}},
		{ID: "ZJ:4", Facts: []Fact{confirmed("ZJ:4", -10)}},
		{ID: "ZJ:5", Facts: []Fact{confirmed("ZJ:5", 9)}},
		{ID: "ZJ:6", Facts: []Fact{confirmed("ZJ:6", 9)}},
		{ID: "ZJ:7", Facts: []Fact{home("ZJ:7", "ZJ")}},
	}, Records: map[string]central.RuleSet{"ZJ": {Region: "ZJ", Number: 3, Label: "2020-02-11.1"}}}
	set, err := NewSet(seed(t, "zhejiang.rules"))
	if err != nil {
		t.Fatal(err)
	}
	snap.Deployed = set
	now := day(10, 12, 0)
	entry := func(h string, s status.Status, eff, until time.Time, src string) central.StatusEntry {
		hh, err := credential.ParseHolderID(h)
		if err != nil {
			t.Fatal(err)
		}
		return central.StatusEntry{Holder: hh, Status: s, Effective: eff, Until: until, Source: src, SetAt: eff}
	}
	current := map[string]central.StatusEntry{
		"ZJ:2": entry("ZJ:2", status.Red, day(5, 1, 0), day(19), SourceEngine),
		"ZJ:3": entry("ZJ:3", status.Red, day(5, 1, 0), day(19), SourceEngine),
		"ZJ:4": entry("ZJ:4", status.Red, day(-10, 1, 0), day(30), SourceEngine),
		"ZJ:5": entry("ZJ:5", status.Yellow, day(9, 1, 0), time.Time{}, "ops:alice"),
		"ZJ:6": entry("ZJ:6", status.Yellow, day(2), day(4), "ops:alice"),
	}
	p := PlanSweep(snap, set, current, now)
	got := map[string]Update{}
	for _, u := range p.Updates {
		got[u.Entry.Holder.String()] = u
	}
	type want struct {
		st        status.Status
		effective time.Time
		until     time.Time
	}
	for h, w := range map[string]want{
		"ZJ:1": {status.Red, now, day(23)},          // new: takes effect now
		"ZJ:3": {status.Red, day(5, 1, 0), day(22)}, // extended: keeps its effective time
		"ZJ:4": {status.Green, now, time.Time{}},    // the rules let it go
		"ZJ:6": {status.Red, now, day(23)},          // a lapsed hand entry
	} {
		u, ok := got[h]
		if !ok {
			t.Errorf("%s: no update, want %v", h, w)
			continue
		}
		e := u.Entry
		if e.Status != w.st || !e.Effective.Equal(w.effective) || !e.Until.Equal(w.until) || e.Source != SourceEngine || e.RuleSet != "ZJ #3 (2020-02-11.1)" {
			t.Errorf("%s: %+v, want %v", h, e, w)
		}
		if e.Validate() != nil {
			t.Errorf("%s: entry does not validate: %v", h, e.Validate())
		}
	}
	if len(p.Updates) != 4 {
		t.Errorf("%d updates, want 4 (ZJ:2 unchanged, ZJ:5 by hand, ZJ:7 green)", len(p.Updates))
	}
	if p.ByHand != 1 || len(p.Errors) != 0 {
		t.Errorf("by hand %d, errors %v; want 1, none", p.ByHand, p.Errors)
	}
	if u := got["ZJ:1"]; u.Entry.Reason != byte(status.ReasonConfirmed) || u.Entry.Note != "rule confirmed; facts 0" || u.Previous != nil {
		t.Errorf("ZJ:1: %+v", u)
	}
	if u := got["ZJ:4"]; u.Entry.Reason != byte(status.ReasonQuarantineEnded) || u.Previous == nil {
		t.Errorf("ZJ:4: %+v", u)
	}
	// Published, the plan is empty: the sweep is idempotent.
	for _, u := range p.Updates {
		current[u.Entry.Holder.String()] = u.Entry
	}
	if again := PlanSweep(snap, set, current, now); len(again.Updates) != 0 {
		t.Errorf("a second sweep at the same time plans %+v", again.Updates)
	}
}
