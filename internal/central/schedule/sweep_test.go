package schedule_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/central/schedule"
	"sentinel/internal/central/sweep"
	"sentinel/internal/status"
)

// TestSweepEachRound: with the code engine's sweep in the rounds, a case
// confirmed an hour before is published red at the next round, and at the
// first round after the 14 days, with no new fact, green again.
func TestSweepEachRound(t *testing.T) {
	r := newRig(t, nil)
	st := r.pub.Store.(central.Store)
	ctx := context.Background()
	src, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "rules", "zhejiang.rules"))
	if err != nil {
		t.Fatal(err)
	}
	by := central.ChangeBy{Time: t0, By: "ops:test"}
	err = st.UpdateEngine(ctx, func(tx central.EngineTx) error {
		if err := tx.PutArea(ctx, central.Area{ID: "ZJ", Kind: central.AreaProvince}, by); err != nil {
			return err
		}
		if _, err := tx.AddFact(ctx, central.Fact{Holder: "ZJ:5", Kind: central.FactConfirmed, At: t0.Add(-time.Hour), Source: "ops:test"}, by); err != nil {
			return err
		}
		_, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "ZJ", Label: "2020-02-11.1", Source: src}, by)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	s := r.scheduler(t, schedule.Options{Sweep: func(ctx context.Context, now time.Time) (int, error) {
		rep, err := sweep.Run(ctx, st, r.pub, now, central.ChangeBy{Time: now, By: "engine", Why: "scheduled"})
		return len(rep.Changes), err
	}})
	holder, err := credential.ParseHolderID("ZJ:5")
	if err != nil {
		t.Fatal(err)
	}
	check := func(swept int, until time.Time) {
		t.Helper()
		rep, err := s.Tick(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Swept != swept {
			t.Errorf("at %v: swept %d, want %d", r.clk.Now(), rep.Swept, swept)
		}
		e, ok, err := st.StatusOf(ctx, holder)
		if err != nil || !ok || e.Status != status.Red || e.Source != "engine" || !e.Until.Equal(until) {
			t.Errorf("at %v: ZJ:5's entry %+v (%v, %v), want red by the engine until %v", r.clk.Now(), e, ok, err, until)
		}
	}
	check(1, t0.Add(-time.Hour).AddDate(0, 0, 14))
	r.clk.Add(10 * time.Minute)
	check(0, t0.Add(-time.Hour).AddDate(0, 0, 14)) // nothing new
	// A close contact a week later extends the red.
	contact := t0.AddDate(0, 0, 7)
	err = st.UpdateEngine(ctx, func(tx central.EngineTx) error {
		_, err := tx.AddFact(ctx, central.Fact{Holder: "ZJ:5", Kind: central.FactContact, At: contact, Value: "ZJ:9", Source: "derived:contact:x"}, by)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	r.clk.Add(contact.Sub(r.clk.Now()) + time.Minute)
	check(1, contact.AddDate(0, 0, 14))
	// After the period, with no new fact, the entry has lapsed: the holder
	// is green at the terminals without anything more to publish.
	r.clk.Add(14 * 24 * time.Hour)
	check(0, contact.AddDate(0, 0, 14))
	if e, _, _ := st.StatusOf(ctx, holder); !e.Lapsed(r.clk.Now()) {
		t.Errorf("ZJ:5's entry has not lapsed at %v: %+v", r.clk.Now(), e)
	}
	if _, err := schedule.New(schedule.Options{Sweep: func(context.Context, time.Time) (int, error) { return 0, nil }, Retention: time.Hour,
		Stores: []schedule.Store{{Name: "x", Purge: func(context.Context, time.Time) (int, error) { return 0, nil }}}}); err == nil {
		t.Error("a sweep without a publisher was accepted")
	}
}
