package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/memstore"
)

func TestLoad(t *testing.T) {
	ctx := context.Background()
	s := memstore.New(time.Now)
	by := central.ChangeBy{Time: day(1), By: "ops:test"}
	zj, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "rules", "zhejiang.rules"))
	if err != nil {
		t.Fatal(err)
	}
	err = s.UpdateEngine(ctx, func(tx central.EngineTx) error {
		for _, a := range []Area{{ID: "ZJ", Kind: Province}, {ID: "ZJ-NB", Kind: City, Parent: "ZJ"}} {
			if err := tx.PutArea(ctx, a, by); err != nil {
				return err
			}
		}
		if err := tx.PutSite(ctx, Site{ID: "STN", Area: "ZJ-NB"}, by); err != nil {
			return err
		}
		if err := tx.AddGrade(ctx, Grade{Area: "ZJ-NB", Level: High, Effective: day(2)}, by); err != nil {
			return err
		}
		for _, f := range []Fact{fact("ZJ:2", KindVisit, day(3), "", "STN"), fact("ZJ:1", KindConfirmed, day(3), "", ""), home("ZJ:1", "ZJ-NB")} {
			if _, err := tx.AddFact(ctx, f, by); err != nil {
				return err
			}
		}
		_, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "ZJ", Label: "old", Source: []byte("region ZJ\nversion old\nrule a\n  match false\n  red confirmed\n")}, by)
		if err != nil {
			return err
		}
		_, err = tx.DeployRuleSet(ctx, central.RuleSet{Region: "ZJ", Label: "2020-02-11.1", Source: zj}, by)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	var snap *Snapshot
	if err := s.ViewEngine(ctx, func(r central.EngineReader) (err error) { snap, err = Load(ctx, r); return err }); err != nil {
		t.Fatal(err)
	}
	if len(snap.Holders) != 2 || snap.Holders[0].ID != "ZJ:1" || len(snap.Holders[0].Facts) != 2 || snap.Records["ZJ"].Number != 2 {
		t.Fatalf("snapshot %+v", snap)
	}
	w := snap.World()
	r, err := snap.Deployed.Evaluate(snap.Holder("ZJ:2"), w, day(4))
	if err != nil || r.Rule != "high-risk-visit" || r.Version != "2020-02-11.1" {
		t.Errorf("ZJ:2 by the deployed rules: %+v, %v; want yellow by the newest deployment", r, err)
	}
	if n := w.Cases.Count("ZJ", day(1), day(4)); n != 1 {
		t.Errorf("%d cases in ZJ, want 1", n)
	}
	// A file in place of the deployed set of its region.
	other, err := Compile("x.rules", []byte("region ZJ\nversion test\nrule v\n  match f.kind == \"visit\"\n  red risk-area-visit\n"))
	if err != nil {
		t.Fatal(err)
	}
	set, err := snap.With(other)
	if err != nil {
		t.Fatal(err)
	}
	if r, _ := set.Evaluate(snap.Holder("ZJ:2"), w, day(4)); r.Version != "test" || r.Rule != "v" {
		t.Errorf("with the file: %+v", r)
	}
	if _, err := snap.With(other, other); err == nil {
		t.Error("two sets for ZJ accepted")
	}
	// A deployed source that no longer compiles is an error naming it.
	_ = s.UpdateEngine(ctx, func(tx central.EngineTx) error {
		_, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "ZJ", Label: "broken", Source: []byte("region ZJ\n")}, by)
		return err
	})
	err = s.ViewEngine(ctx, func(r central.EngineReader) error { _, err := Load(ctx, r); return err })
	if err == nil || !strings.Contains(err.Error(), "the deployed rule set of ZJ (number 3, broken) does not compile") {
		t.Errorf("got %v", err)
	}
}
