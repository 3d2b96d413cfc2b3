package storetest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/internal/central"
	"sentinel/internal/central/syncstore"
	"sentinel/sync/server"
)

// engineT0 is the time of the engine cases: whole seconds, UTC.
var engineT0 = time.Date(2020, 2, 1, 8, 0, 0, 0, time.UTC)

func by(n int) central.ChangeBy {
	return central.ChangeBy{Time: engineT0.Add(time.Duration(n) * time.Minute), By: "ops:test", Why: fmt.Sprintf("change %d", n)}
}

// runEngine runs the cases of the code engine's part (central.EngineStore).
func runEngine(t *testing.T, h Harness) {
	open := func(t *testing.T) central.Store {
		t.Helper()
		s := h.New(t)
		t.Cleanup(func() { s.Close() })
		return s
	}
	t.Run("RoundTrip", func(t *testing.T) { testEngineRoundTrip(t, open(t)) })
	t.Run("Refusals", func(t *testing.T) { testEngineRefusals(t, open(t)) })
	t.Run("RollsBack", func(t *testing.T) { testEngineRollback(t, open(t)) })
	t.Run("Empty", func(t *testing.T) { testEngineEmpty(t, open(t)) })
	t.Run("Fevers", func(t *testing.T) { testKeepFevers(t, open(t)) })
	t.Run("IngestStep", func(t *testing.T) { testIngestStep(t, open(t)) })
	t.Run("AddFacts", func(t *testing.T) { testAddFacts(t, open(t)) })
	t.Run("Restart", func(t *testing.T) {
		if h.Reopen == nil {
			t.Skip("store keeps nothing across a restart")
		}
		s := h.New(t)
		seedEngine(t, s)
		s = h.Reopen(t, s)
		defer s.Close()
		checkEngineSeed(t, s)
		// Sequence numbers go on after a restart; none is reused.
		var f central.Fact
		mustUpdate(t, s, func(tx central.EngineTx) (err error) {
			f, err = tx.AddFact(context.Background(), central.Fact{Holder: "ZJ:9", Kind: central.FactConfirmed, At: engineT0, Source: "ops:test"}, by(20))
			return err
		})
		if f.Seq != 6 {
			t.Errorf("the first fact after a restart has seq %d, want 6", f.Seq)
		}
	})
	t.Run("Serialised", func(t *testing.T) {
		s := open(t)
		stores := []central.Store{s}
		if h.Another != nil {
			for range 2 {
				o := h.Another(t, s)
				t.Cleanup(func() { o.Close() })
				stores = append(stores, o)
			}
		}
		testEngineSerialised(t, stores)
	})
}

func mustUpdate(t *testing.T, s central.Store, fn func(tx central.EngineTx) error) {
	t.Helper()
	if err := s.UpdateEngine(context.Background(), fn); err != nil {
		t.Fatal(err)
	}
}

func seedAreas() []central.Area {
	return []central.Area{
		{ID: "HB", Kind: central.AreaProvince, Name: "湖北"},
		{ID: "HB-WH", Kind: central.AreaCity, Parent: "HB", Name: "Wuhan"},
		{ID: "HB-WH-JA", Kind: central.AreaDistrict, Parent: "HB-WH", Name: "Jiang'an"},
		{ID: "HB-WH-JA-C07", Kind: central.AreaCompound, Parent: "HB-WH-JA"},
	}
}

// seedEngine fills s with areas, sites, grades, five facts (one removed
// again) and three rule set deployments.
func seedEngine(t *testing.T, s central.Store) {
	ctx := context.Background()
	mustUpdate(t, s, func(tx central.EngineTx) error {
		for i, a := range seedAreas() {
			if err := tx.PutArea(ctx, a, by(i)); err != nil {
				return err
			}
		}
		if err := tx.PutSite(ctx, central.Site{ID: "CP-1", Area: "HB-WH-JA", Name: "checkpoint 1"}, by(4)); err != nil {
			return err
		}
		if err := tx.AddGrade(ctx, central.Grade{Area: "HB-WH-JA", Level: central.LevelHigh, Effective: engineT0, Source: "ops:a"}, by(5)); err != nil {
			return err
		}
		return tx.AddGrade(ctx, central.Grade{Area: "HB-WH", Level: central.LevelMedium, Effective: engineT0.Add(-time.Hour), Source: "ops:a"}, by(6))
	})
	facts := []central.Fact{
		{Holder: "HB:2", Kind: central.FactFever, At: engineT0.Add(time.Hour), Site: "CP-1", Temperature: physic.ZeroCelsius + 38500*physic.MilliKelvin, Source: "passage:T1/00/7"},
		{Holder: "HB:10", Kind: central.FactHome, At: engineT0, Area: "HB-WH-JA-C07", Source: "ops:a"},
		{Holder: "HB:2", Kind: central.FactWhitelist, At: engineT0, Area: "HB-WH", Value: "essential", Until: engineT0.AddDate(0, 0, 30), Source: "ops:a"},
		{Holder: "HB:2", Kind: central.FactTestNegative, At: engineT0.Add(2 * time.Hour), Source: "import:tests.csv:3"},
		{Holder: "p:00112233445566778899aabbccddeeff", Kind: central.FactManual, At: engineT0, Value: "red", Source: "ops:a"},
	}
	mustUpdate(t, s, func(tx central.EngineTx) error {
		for i, f := range facts {
			got, err := tx.AddFact(ctx, f, by(10+i))
			if err != nil {
				return err
			}
			if got.Seq != uint64(i+1) {
				return fmt.Errorf("fact %d got seq %d", i, got.Seq)
			}
		}
		_, err := tx.RemoveFact(ctx, 4, by(15))
		return err
	})
	for i, label := range []string{"v1", "v2"} {
		mustUpdate(t, s, func(tx central.EngineTx) error {
			r, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "HB", Label: label, Source: []byte("region HB\n"), Signed: []byte{0xd2, byte(i)}}, by(16+i))
			if err == nil && r.Number != uint64(i+1) {
				err = fmt.Errorf("deployment %d got number %d", i, r.Number)
			}
			return err
		})
	}
	mustUpdate(t, s, func(tx central.EngineTx) error {
		_, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "HB-WH", Label: "w1", Source: []byte("region HB-WH\n")}, by(18))
		return err
	})
}

func checkEngineSeed(t *testing.T, s central.Store) {
	t.Helper()
	ctx := context.Background()
	err := s.ViewEngine(ctx, func(r central.EngineReader) error {
		areas, err := r.Areas(ctx)
		if err != nil {
			return err
		}
		want := seedAreas()
		// By ID: HB, HB-WH, HB-WH-JA, HB-WH-JA-C07 is already that order.
		if !reflect.DeepEqual(areas, want) {
			t.Errorf("areas %+v, want %+v", areas, want)
		}
		sites, err := r.Sites(ctx)
		if err != nil {
			return err
		}
		if !reflect.DeepEqual(sites, []central.Site{{ID: "CP-1", Area: "HB-WH-JA", Name: "checkpoint 1"}}) {
			t.Errorf("sites %+v", sites)
		}
		grades, err := r.Grades(ctx)
		if err != nil {
			return err
		}
		wantG := []central.Grade{
			{Area: "HB-WH", Level: central.LevelMedium, Effective: engineT0.Add(-time.Hour), Source: "ops:a"},
			{Area: "HB-WH-JA", Level: central.LevelHigh, Effective: engineT0, Source: "ops:a"},
		}
		if !reflect.DeepEqual(grades, wantG) {
			t.Errorf("grades %+v, want %+v", grades, wantG)
		}
		hb2, err := r.Facts(ctx, "HB:2")
		if err != nil {
			return err
		}
		fever := central.Fact{Seq: 1, Holder: "HB:2", Kind: central.FactFever, At: engineT0.Add(time.Hour), Site: "CP-1", Area: "HB-WH-JA",
			Temperature: physic.ZeroCelsius + 38500*physic.MilliKelvin, Source: "passage:T1/00/7"}
		wl := central.Fact{Seq: 3, Holder: "HB:2", Kind: central.FactWhitelist, At: engineT0, Area: "HB-WH", Value: "essential", Until: engineT0.AddDate(0, 0, 30), Source: "ops:a"}
		if !reflect.DeepEqual(hb2, []central.Fact{fever, wl}) {
			t.Errorf("facts of HB:2 %+v,\nwant %+v", hb2, []central.Fact{fever, wl})
		}
		all, err := r.AllFacts(ctx)
		if err != nil {
			return err
		}
		var order []string
		for _, f := range all {
			order = append(order, fmt.Sprintf("%s/%d", f.Holder, f.Seq))
		}
		// Bytewise holder order: "HB:10" < "HB:2" < "p:…".
		if want := "[HB:10/2 HB:2/1 HB:2/3 p:00112233445566778899aabbccddeeff/5]"; fmt.Sprint(order) != want {
			t.Errorf("all facts %v, want %s", order, want)
		}
		if fs, err := r.Facts(ctx, "HB:1"); err != nil || len(fs) != 0 {
			t.Errorf("facts of HB:1 (a prefix of HB:10) %+v, %v; want none", fs, err)
		}
		rs, err := r.RuleSets(ctx)
		if err != nil {
			return err
		}
		var got []string
		for _, x := range rs {
			got = append(got, fmt.Sprintf("%s#%d %s %s %q %x %s", x.Region, x.Number, x.Label, x.By, x.Source, x.Signed, x.Deployed.Format(time.RFC3339)))
		}
		wantRS := []string{
			`HB#1 v1 ops:test "region HB\n" d200 2020-02-01T08:16:00Z`,
			`HB#2 v2 ops:test "region HB\n" d201 2020-02-01T08:17:00Z`,
			`HB-WH#1 w1 ops:test "region HB-WH\n"  2020-02-01T08:18:00Z`,
		}
		if fmt.Sprint(got) != fmt.Sprint(wantRS) {
			t.Errorf("rule sets\n%v\nwant\n%v", got, wantRS)
		}
		changes, err := r.Changes(ctx, 1, 0)
		if err != nil {
			return err
		}
		var acts []string
		for i, c := range changes {
			if c.Seq != uint64(i+1) || c.By != "ops:test" || c.Time.IsZero() || !json.Valid(c.Detail) {
				t.Errorf("change %d: %+v", i, c)
			}
			acts = append(acts, c.Action+" "+c.Subject)
		}
		wantActs := []string{"area-set HB", "area-set HB-WH", "area-set HB-WH-JA", "area-set HB-WH-JA-C07", "site-set CP-1",
			"grade-add HB-WH-JA", "grade-add HB-WH", "fact-add HB:2", "fact-add HB:10", "fact-add HB:2", "fact-add HB:2",
			"fact-add p:00112233445566778899aabbccddeeff", "fact-remove HB:2", "rules-deploy HB", "rules-deploy HB", "rules-deploy HB-WH"}
		if fmt.Sprint(acts) != fmt.Sprint(wantActs) {
			t.Errorf("audit\n%v\nwant\n%v", acts, wantActs)
		}
		if len(changes) == len(wantActs) {
			var removed central.Fact
			if err := json.Unmarshal(changes[12].Detail, &removed); err != nil || removed.Kind != central.FactTestNegative || removed.Seq != 4 {
				t.Errorf("the removal's audit names %+v (%v), want the test fact 4", removed, err)
			}
			if changes[12].Why != "change 15" || !changes[12].Time.Equal(engineT0.Add(15*time.Minute)) {
				t.Errorf("the removal's audit: %+v", changes[12])
			}
		}
		page, err := r.Changes(ctx, 14, 2)
		if err != nil {
			return err
		}
		if len(page) != 2 || page[0].Seq != 14 || page[1].Seq != 15 {
			t.Errorf("changes from 14, 2 of them: %+v", page)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testEngineRoundTrip(t *testing.T, s central.Store) {
	seedEngine(t, s)
	checkEngineSeed(t, s)
	ctx := context.Background()
	// A status the engine published is audited with its detail.
	mustUpdate(t, s, func(tx central.EngineTx) error {
		return tx.Audit(ctx, central.ChangeStatus, "HB:2", map[string]string{"to": "red"}, by(29))
	})
	_ = s.ViewEngine(ctx, func(r central.EngineReader) error {
		cs, err := r.Changes(ctx, 17, 0)
		if err != nil || len(cs) != 1 || cs[0].Action != central.ChangeStatus || cs[0].Subject != "HB:2" || string(cs[0].Detail) != `{"to":"red"}` {
			t.Errorf("status audit %+v, %v", cs, err)
		}
		return nil
	})
	// Renaming an area is allowed; moving it is not.
	mustUpdate(t, s, func(tx central.EngineTx) error {
		return tx.PutArea(ctx, central.Area{ID: "HB-WH", Kind: central.AreaCity, Parent: "HB", Name: "武汉"}, by(30))
	})
	err := s.UpdateEngine(ctx, func(tx central.EngineTx) error {
		return tx.PutArea(ctx, central.Area{ID: "HB-WH-JA", Kind: central.AreaCompound, Parent: "HB-WH"}, by(31))
	})
	if !errors.Is(err, central.ErrEngineInput) {
		t.Errorf("changing an area's kind: %v, want ErrEngineInput", err)
	}
	_ = s.ViewEngine(ctx, func(r central.EngineReader) error {
		areas, _ := r.Areas(ctx)
		if len(areas) != 4 || areas[1].Name != "武汉" || areas[2].Kind != central.AreaDistrict {
			t.Errorf("areas after the rename %+v", areas)
		}
		return nil
	})
}

func testEngineRefusals(t *testing.T, s central.Store) {
	ctx := context.Background()
	mustUpdate(t, s, func(tx central.EngineTx) error {
		return tx.PutArea(ctx, central.Area{ID: "ZJ", Kind: central.AreaProvince}, by(0))
	})
	for _, tc := range []struct {
		name string
		fn   func(tx central.EngineTx) error
		want error
	}{
		{"fact without holder", func(tx central.EngineTx) error {
			_, err := tx.AddFact(ctx, central.Fact{Kind: central.FactConfirmed, At: engineT0}, by(1))
			return err
		}, central.ErrEngineInput},
		{"fact of an unknown kind", func(tx central.EngineTx) error {
			_, err := tx.AddFact(ctx, central.Fact{Holder: "ZJ:1", Kind: "positive", At: engineT0}, by(1))
			return err
		}, central.ErrEngineInput},
		{"fact at an unknown site", func(tx central.EngineTx) error {
			_, err := tx.AddFact(ctx, central.Fact{Holder: "ZJ:1", Kind: central.FactVisit, At: engineT0, Site: "NOPE"}, by(1))
			return err
		}, central.ErrEngineInput},
		{"home in an unknown area", func(tx central.EngineTx) error {
			_, err := tx.AddFact(ctx, central.Fact{Holder: "ZJ:1", Kind: central.FactHome, At: engineT0, Area: "ZJ-HZ"}, by(1))
			return err
		}, central.ErrEngineInput},
		{"a change without who", func(tx central.EngineTx) error {
			_, err := tx.AddFact(ctx, central.Fact{Holder: "ZJ:1", Kind: central.FactConfirmed, At: engineT0}, central.ChangeBy{Time: engineT0})
			return err
		}, central.ErrEngineInput},
		{"area in an unknown area", func(tx central.EngineTx) error {
			return tx.PutArea(ctx, central.Area{ID: "HB-WH", Kind: central.AreaCity, Parent: "HB"}, by(1))
		}, central.ErrEngineInput},
		{"city in a city", func(tx central.EngineTx) error {
			if err := tx.PutArea(ctx, central.Area{ID: "ZJ-HZ", Kind: central.AreaCity, Parent: "ZJ"}, by(1)); err != nil {
				return err
			}
			return tx.PutArea(ctx, central.Area{ID: "ZJ-HZ-X", Kind: central.AreaCity, Parent: "ZJ-HZ"}, by(2))
		}, central.ErrEngineInput},
		{"bad area id", func(tx central.EngineTx) error {
			return tx.PutArea(ctx, central.Area{ID: "zj hz", Kind: central.AreaProvince}, by(1))
		}, central.ErrEngineInput},
		{"site in an unknown area", func(tx central.EngineTx) error {
			return tx.PutSite(ctx, central.Site{ID: "S", Area: "HB"}, by(1))
		}, central.ErrEngineInput},
		{"grade of an unknown area", func(tx central.EngineTx) error {
			return tx.AddGrade(ctx, central.Grade{Area: "HB", Level: central.LevelHigh, Effective: engineT0}, by(1))
		}, central.ErrEngineInput},
		{"grade of a bad level", func(tx central.EngineTx) error {
			return tx.AddGrade(ctx, central.Grade{Area: "ZJ", Level: "severe", Effective: engineT0}, by(1))
		}, central.ErrEngineInput},
		{"rule set without source", func(tx central.EngineTx) error {
			_, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "ZJ", Label: "v"}, by(1))
			return err
		}, central.ErrEngineInput},
		{"auditing one of the engine's own changes", func(tx central.EngineTx) error {
			return tx.Audit(ctx, central.ChangeFactAdd, "ZJ:1", nil, by(1))
		}, central.ErrEngineInput},
		{"removing a fact that is not there", func(tx central.EngineTx) error {
			_, err := tx.RemoveFact(ctx, 99, by(1))
			return err
		}, central.ErrNoFact},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := s.UpdateEngine(ctx, tc.fn)
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	// Nothing of the refused changes was kept: one area, one audit record.
	_ = s.ViewEngine(ctx, func(r central.EngineReader) error {
		areas, _ := r.Areas(ctx)
		changes, _ := r.Changes(ctx, 1, 0)
		facts, _ := r.AllFacts(ctx)
		if len(areas) != 1 || len(changes) != 1 || len(facts) != 0 {
			t.Errorf("after refusals: %d areas, %d audit records, %d facts; want 1, 1, 0", len(areas), len(changes), len(facts))
		}
		return nil
	})
}

func testEngineRollback(t *testing.T, s central.Store) {
	ctx := context.Background()
	boom := errors.New("publishing failed")
	err := s.UpdateEngine(ctx, func(tx central.EngineTx) error {
		if err := tx.PutArea(ctx, central.Area{ID: "ZJ", Kind: central.AreaProvince}, by(0)); err != nil {
			return err
		}
		if _, err := tx.AddFact(ctx, central.Fact{Holder: "ZJ:1", Kind: central.FactConfirmed, At: engineT0}, by(1)); err != nil {
			return err
		}
		if _, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "ZJ", Label: "v", Source: []byte("x")}, by(2)); err != nil {
			return err
		}
		// The transaction sees its own changes.
		if fs, err := tx.Facts(ctx, "ZJ:1"); err != nil || len(fs) != 1 {
			return fmt.Errorf("own fact not seen: %v %v", fs, err)
		}
		return boom
	})
	if err != boom {
		t.Fatalf("got %v, want fn's error as it is", err)
	}
	_ = s.ViewEngine(ctx, func(r central.EngineReader) error {
		areas, _ := r.Areas(ctx)
		changes, _ := r.Changes(ctx, 1, 0)
		facts, _ := r.AllFacts(ctx)
		rs, _ := r.RuleSets(ctx)
		if len(areas)+len(changes)+len(facts)+len(rs) != 0 {
			t.Errorf("after a rollback: %d areas, %d audit records, %d facts, %d rule sets; want none", len(areas), len(changes), len(facts), len(rs))
		}
		return nil
	})
	// The next deployment is still number 1.
	mustUpdate(t, s, func(tx central.EngineTx) error {
		if err := tx.PutArea(ctx, central.Area{ID: "ZJ", Kind: central.AreaProvince}, by(0)); err != nil {
			return err
		}
		r, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "ZJ", Label: "v", Source: []byte("x")}, by(2))
		if err == nil && r.Number != 1 {
			err = fmt.Errorf("number %d after a rollback, want 1", r.Number)
		}
		return err
	})
}

func testEngineEmpty(t *testing.T, s central.Store) {
	ctx := context.Background()
	err := s.ViewEngine(ctx, func(r central.EngineReader) error {
		facts, err1 := r.AllFacts(ctx)
		hf, err2 := r.Facts(ctx, "ZJ:1")
		areas, err3 := r.Areas(ctx)
		rs, err4 := r.RuleSets(ctx)
		ch, err5 := r.Changes(ctx, 1, 10)
		if err := errors.Join(err1, err2, err3, err4, err5); err != nil {
			return err
		}
		if len(facts)+len(hf)+len(areas)+len(rs)+len(ch) != 0 {
			t.Errorf("an empty store has data: %v %v %v %v %v", facts, hf, areas, rs, ch)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// testEngineSerialised deploys from several goroutines on several handles
// at once: every deployment gets its own number.
func testEngineSerialised(t *testing.T, stores []central.Store) {
	ctx := context.Background()
	mustUpdate(t, stores[0], func(tx central.EngineTx) error {
		return tx.PutArea(ctx, central.Area{ID: "ZJ", Kind: central.AreaProvince}, by(0))
	})
	const each = 6
	var wg sync.WaitGroup
	errs := make(chan error, len(stores)*each)
	for _, s := range stores {
		for range each {
			wg.Go(func() {
				errs <- s.UpdateEngine(ctx, func(tx central.EngineTx) error {
					_, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "ZJ", Label: "v", Source: []byte("x")}, by(1))
					return err
				})
			})
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	_ = stores[0].ViewEngine(ctx, func(r central.EngineReader) error {
		rs, err := r.RuleSets(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(rs) != len(stores)*each {
			t.Fatalf("%d deployments, want %d", len(rs), len(stores)*each)
		}
		for i, x := range rs {
			if x.Number != uint64(i+1) {
				t.Errorf("deployment %d has number %d", i, x.Number)
			}
		}
		return nil
	})
}

// testKeepFevers: fevers kept at ingest (central.KeepFevers) are facts of
// the engine exactly once per record: the same records again add
// nothing, whether in the same call or a later one; a fever at a site
// the engine does not know is kept with its site and no area, and also
// returned unplaced; one that names no site is returned siteless and
// keeps nothing.
func testKeepFevers(t *testing.T, s central.Store) {
	ctx := context.Background()
	seedEngine(t, s)
	reading := physic.ZeroCelsius + 38700*physic.MilliKelvin
	fever := func(holder string, seq uint64, site string) central.Fact {
		return central.Fact{Holder: holder, Kind: central.FactFever, At: engineT0.Add(time.Duration(seq) * time.Minute),
			Site: site, Temperature: reading, Source: central.FeverSource("T9", central.Epoch{0xe}, seq)}
	}
	in := []central.Fact{fever("HB:2", 1, "CP-1"), fever("HB:3", 2, "CP-1"), fever("HB:3", 2, "CP-1"), fever("HB:4", 3, "CP-9"), fever("HB:5", 4, "")}
	ingest := central.ChangeBy{Time: engineT0.Add(time.Hour), By: "ingest:T9", Why: "fever recorded at a checkpoint"}
	added, unplaced, siteless, err := central.KeepFevers(ctx, s, in, ingest)
	if err != nil {
		t.Fatal(err)
	}
	if len(added) != 4 || added[0].Holder != "HB:2" || added[1].Holder != "HB:3" || added[2].Holder != "HB:4" || added[3].Holder != "HB:5" || added[0].Seq == 0 || added[1].Seq == added[0].Seq {
		t.Fatalf("added %+v, want the fevers of HB:2, HB:3, HB:4 and HB:5 once each with their seq", added)
	}
	if len(unplaced) != 1 || unplaced[0].Site != "CP-9" || unplaced[0].Area != "" || unplaced[0].Seq != added[2].Seq {
		t.Fatalf("unplaced %+v, want the fever kept at CP-9, a site the engine does not know, with no area", unplaced)
	}
	// A fever that names no site (a terminal enrolled without one) is
	// kept with no place, and reported.
	if len(siteless) != 1 || siteless[0].Holder != "HB:5" || siteless[0].Seq != added[3].Seq || siteless[0].Site != "" || siteless[0].Area != "" {
		t.Fatalf("siteless %+v, want the fever of HB:5, which names no site, kept with no site or area", siteless)
	}
	if added[1].Area != "HB-WH-JA" || added[1].Temperature != reading || added[1].Source != "passage:T9/0e000000000000000000000000000000/2" {
		t.Errorf("kept %+v: want area HB-WH-JA (the site's), the reading and the record as source", added[1])
	}
	// The same records again (an upload sent twice, a replay) add nothing.
	again, _, _, err := central.KeepFevers(ctx, s, in, ingest)
	if err != nil || len(again) != 0 {
		t.Fatalf("the same fevers again: added %+v (%v), want none", again, err)
	}
	err = s.ViewEngine(ctx, func(r central.EngineReader) error {
		for holder, want := range map[string]int{"HB:2": 1, "HB:3": 1, "HB:4": 1, "HB:5": 1} {
			fs, err := r.Facts(ctx, holder)
			if err != nil {
				return err
			}
			n := 0
			for _, f := range fs {
				if f.Kind == central.FactFever && f.Source != "passage:T1/00/7" {
					n++
				}
			}
			if n != want {
				t.Errorf("%s has %d fevers from ingest, want %d", holder, n, want)
			}
		}
		changes, err := r.Changes(ctx, 1, 0)
		if err != nil {
			return err
		}
		last := changes[len(changes)-1]
		if last.By != "ingest:T9" || last.Action != central.ChangeFactAdd || last.Subject != "HB:5" {
			t.Errorf("the last audit record is %s %s by %s, want fact-add HB:5 by ingest:T9", last.Action, last.Subject, last.By)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := central.KeepFevers(ctx, s, []central.Fact{{Holder: "HB:2", Kind: central.FactVisit, At: engineT0, Site: "CP-1", Source: "x"}}, ingest); !errors.Is(err, central.ErrEngineInput) {
		t.Errorf("a visit given as a fever: got %v, want ErrEngineInput", err)
	}
}

// testIngestStep checks that the engine step of an ingest (the fevers of
// the admitted records) is kept in the ingest's transaction: a step that
// fails after adding its fact stores neither the fact nor the records,
// and the same batch sent again stores both, once.
func testIngestStep(t *testing.T, s central.Store) {
	ctx := context.Background()
	seedEngine(t, s)
	recs := Recs(1, 3, "fever")
	fever := central.Fact{Holder: "HB:7", Kind: central.FactFever, At: engineT0, Site: "CP-1",
		Temperature: physic.ZeroCelsius + 38900*physic.MilliKelvin, Source: central.FeverSource("T7", epochA, 2)}
	ingestBy := central.ChangeBy{Time: engineT0.Add(time.Hour), By: "ingest:T7", Why: "fever recorded at a checkpoint"}
	lost := errors.New("the process died before the commit")
	send := func(fail bool) (central.Link, error) {
		var kept []server.Record
		admit := syncstore.Admit(Checked(recs), recs, &kept)
		return s.IngestLinked(ctx, "T7", epochA, recs, nil, func(m central.Link) ([]central.Record, central.EngineStep, error) {
			rest, _, err := admit(m)
			return rest, func(ctx context.Context, tx central.EngineTx) error {
				if _, _, _, err := central.KeepFeversTx(ctx, tx, []central.Fact{fever}, ingestBy); err != nil {
					return err
				}
				if fail {
					return lost
				}
				return nil
			}, err
		})
	}
	fevers := func() int {
		t.Helper()
		n := 0
		err := s.ViewEngine(ctx, func(r central.EngineReader) error {
			fs, err := r.Facts(ctx, "HB:7")
			n = len(fs)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	if _, err := send(true); !errors.Is(err, lost) {
		t.Fatalf("a failing engine step: got %v, want its error", err)
	}
	highWater(t, s, "T7", epochA, 0)
	if n := fevers(); n != 0 {
		t.Fatalf("a failed ingest kept %d facts, want none", n)
	}
	for range 2 { // sent again after the failure, then once more
		if l, err := send(false); err != nil || l.Seq != 3 {
			t.Fatalf("the batch again: mark %d (%v), want 3", l.Seq, err)
		}
		highWater(t, s, "T7", epochA, 3)
		if n := fevers(); n != 1 {
			t.Fatalf("after the batch: %d facts, want the fever once", n)
		}
	}
}

// testAddFacts checks EngineTx.AddFacts: duplicates in the batch and
// against stored facts left out, sites and areas checked, one audit record
// per fact added, the same as AddFact's, and nothing kept on an error.
func testAddFacts(t *testing.T, s central.Store) {
	ctx := context.Background()
	seedEngine(t, s)
	contact := func(holder, cas, passage string, at time.Duration) central.Fact {
		return central.Fact{Holder: holder, Kind: central.FactContact, At: engineT0.Add(at), Site: "CP-1", Value: cas, Source: "derived:contact:" + passage}
	}
	var stored central.Fact
	mustUpdate(t, s, func(tx central.EngineTx) (err error) {
		stored, err = tx.AddFact(ctx, contact("HB:20", "HB:1", "T1/00/1", 0), by(30))
		return err
	})
	var lastChange uint64
	count := func() (facts, changes int) {
		t.Helper()
		if err := s.ViewEngine(ctx, func(r central.EngineReader) error {
			fs, err := r.AllFacts(ctx)
			if err != nil {
				return err
			}
			cs, err := r.Changes(ctx, 1, 0)
			facts, changes = len(fs), len(cs)
			if lastChange == 0 && len(cs) > 0 {
				lastChange = cs[len(cs)-1].Seq
			}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return facts, changes
	}
	facts0, changes0 := count()

	// Nothing kept when the batch names a site the store does not have,
	// or when the transaction fails after the batch.
	err := s.UpdateEngine(ctx, func(tx central.EngineTx) error {
		_, err := tx.AddFacts(ctx, []central.Fact{contact("HB:21", "HB:1", "T1/00/2", 0), contact("HB:22", "HB:1", "T1/00/3", 0)}, by(31))
		if err != nil {
			return err
		}
		f := contact("HB:23", "HB:1", "T1/00/4", 0)
		f.Site = "CP-9"
		_, err = tx.AddFacts(ctx, []central.Fact{f}, by(31))
		return err
	})
	if !errors.Is(err, central.ErrEngineInput) {
		t.Fatalf("a batch naming an unknown site: got %v, want ErrEngineInput", err)
	}
	boom := errors.New("publishing failed")
	if err := s.UpdateEngine(ctx, func(tx central.EngineTx) error {
		if _, err := tx.AddFacts(ctx, []central.Fact{contact("HB:21", "HB:1", "T1/00/2", 0)}, by(31)); err != nil {
			return err
		}
		return boom
	}); err != boom {
		t.Fatalf("got %v, want fn's error as it is", err)
	}
	if f, c := count(); f != facts0 || c != changes0 {
		t.Fatalf("after failed batches: %d facts, %d audit records; want %d, %d", f, c, facts0, changes0)
	}

	batch := []central.Fact{
		contact("HB:20", "HB:1", "T1/00/1", 0), // stored already
		contact("HB:21", "HB:1", "T1/00/2", 0),
		contact("HB:21", "HB:1", "T1/00/2", 0), // twice in the batch
		contact("HB:20", "HB:3", "T1/00/1", 0), // the same passage, another case
		{Holder: "HB:22", Kind: central.FactHome, At: engineT0, Area: "HB-WH-JA-C07", Source: "import:cases.csv:2"},
		// The same source and value at another time: another fact.
		{Holder: "HB:22", Kind: central.FactHome, At: engineT0.Add(time.Hour), Area: "HB-WH-JA-C07", Source: "import:cases.csv:2"},
		// The same home fact but for another area: another fact.
		{Holder: "HB:22", Kind: central.FactHome, At: engineT0, Area: "HB-WH-JA", Source: "import:cases.csv:2"},
		// The stored contact with its site's area given: the same fact.
		{Holder: "HB:20", Kind: central.FactContact, At: engineT0, Area: "HB-WH-JA", Site: "CP-1", Value: "HB:1", Source: "derived:contact:T1/00/1"},
	}
	var added []central.Fact
	mustUpdate(t, s, func(tx central.EngineTx) (err error) {
		added, err = tx.AddFacts(ctx, batch, by(32))
		if err != nil {
			return err
		}
		// Within the transaction a second go adds nothing.
		again, err := tx.AddFacts(ctx, batch, by(33))
		if err == nil && len(again) != 0 {
			err = fmt.Errorf("the same batch again added %d facts, want none", len(again))
		}
		return err
	})
	want := []central.Fact{batch[1], batch[3], batch[4], batch[5], batch[6]}
	want[0].Area, want[1].Area = "HB-WH-JA", "HB-WH-JA"
	// Numbers ascend in the order of the batch (PostgreSQL may skip
	// those a rolled back transaction took).
	for i := range want {
		if i < len(added) && (added[i].Seq <= stored.Seq || i > 0 && added[i].Seq <= added[i-1].Seq) {
			t.Errorf("fact %d added with seq %d after %d", i, added[i].Seq, stored.Seq)
		}
		if i < len(added) {
			want[i].Seq = added[i].Seq
		}
	}
	if !reflect.DeepEqual(added, want) {
		t.Fatalf("added:\n%+v\nwant:\n%+v", added, want)
	}
	if f, c := count(); f != facts0+len(want) || c != changes0+len(want) {
		t.Fatalf("after the batch: %d facts, %d audit records; want %d, %d", f, c, facts0+len(want), changes0+len(want))
	}
	_ = s.ViewEngine(ctx, func(r central.EngineReader) error {
		cs, err := r.Changes(ctx, lastChange+1, 0)
		if err != nil {
			t.Fatal(err)
		}
		for i, c := range cs {
			// The record AddFact writes for the same fact.
			w, err := central.NewEngineChange(central.ChangeFactAdd, want[i].Holder, want[i], by(32))
			if err != nil {
				t.Fatal(err)
			}
			if c.Action != w.Action || c.Subject != w.Subject || !c.Time.Equal(w.Time) ||
				c.By != w.By || c.Why != w.Why || string(c.Detail) != string(w.Detail) {
				t.Errorf("audit record %d:\n%+v\nwant:\n%+v", i, c, w)
			}
		}
		for _, h := range []string{"HB:20", "HB:21", "HB:22"} {
			fs, err := r.Facts(ctx, h)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range fs {
				if f.Seq > stored.Seq && !slices.ContainsFunc(want, func(w central.Fact) bool { return reflect.DeepEqual(w, f) }) {
					t.Errorf("stored %+v, not among those added", f)
				}
			}
		}
		return nil
	})
	mustUpdate(t, s, func(tx central.EngineTx) error {
		got, err := tx.AddFacts(ctx, nil, by(34))
		if err == nil && len(got) != 0 {
			err = fmt.Errorf("an empty batch added %v", got)
		}
		return err
	})
}
