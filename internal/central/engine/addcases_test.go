package engine

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"sentinel/internal/central"
)

func TestAddCases(t *testing.T) {
	ctx := context.Background()
	ps := []passageAt{
		{"ZJ:1", "SM-HZ-1", day(10, 10, 0), "admit"},
		{"ZJ:2", "SM-HZ-1", day(10, 10, 5), "admit"},
		{"ZJ:1", "KIOSK", day(10, 12, 0), "admit"}, // a site not placed in an area
		{"ZJ:3", "KIOSK", day(10, 12, 1), "admit"},
	}
	for name, st := range contactStores(t, ps) {
		t.Run(name, func(t *testing.T) {
			by := central.ChangeBy{Time: day(11), By: "ops:alice", Why: "daily cases"}
			src, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "rules", "zhejiang.rules"))
			if err != nil {
				t.Fatal(err)
			}
			err = st.UpdateEngine(ctx, func(tx central.EngineTx) error {
				for _, a := range []Area{{ID: "ZJ", Kind: Province}, {ID: "ZJ-HZ", Kind: City, Parent: "ZJ"}, {ID: "ZJ-HZ-XH", Kind: District, Parent: "ZJ-HZ"}} {
					if err := tx.PutArea(ctx, a, by); err != nil {
						return err
					}
				}
				if err := tx.PutSite(ctx, Site{ID: "SM-HZ-1", Area: "ZJ-HZ-XH"}, by); err != nil {
					return err
				}
				_, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "ZJ", Label: "2020-02-11.1", Source: src}, by)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			rows := []CaseRow{{Line: 2, Holder: "ZJ:1", Confirmed: day(11), Home: "ZJ-HZ-XH", Source: "import:cases.csv:2"}}
			// AddCases reads the cases' facts, never every holder's.
			rep, err := AddCases(ctx, noAllFacts{st}, rows, true, by, day(11, 12, 0))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Cases != 1 || rep.Homes != 1 || rep.Contacts != 2 || rep.Known != 0 || len(rep.PerCase) != 1 || rep.PerCase[0].Passages != 2 {
				t.Errorf("first import %+v", rep)
			}
			// Again: nothing new.
			rep, err = AddCases(ctx, noAllFacts{st}, rows, true, by, day(11, 12, 0))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Cases != 0 || rep.Known != 1 || rep.Contacts != 0 || rep.Homes != 0 {
				t.Errorf("second import %+v", rep)
			}
			// One import naming ZJ:4 twice at one time and again a day
			// later, from the same source: two cases, one known, one home
			// (the later row sees the home the earlier one added).
			again := []CaseRow{
				{Line: 2, Holder: "ZJ:4", Confirmed: day(11), Home: "ZJ-HZ-XH", Source: "import:more.csv"},
				{Line: 3, Holder: "ZJ:4", Confirmed: day(11), Home: "ZJ-HZ-XH", Source: "import:more.csv"},
				{Line: 4, Holder: "ZJ:4", Confirmed: day(12), Home: "ZJ-HZ-XH", Source: "import:more.csv"},
			}
			rep, err = AddCases(ctx, noAllFacts{st}, again, false, by, day(12, 12, 0))
			if err != nil {
				t.Fatal(err)
			}
			if rep.Cases != 2 || rep.Known != 1 || rep.Homes != 1 {
				t.Errorf("import naming one holder thrice %+v", rep)
			}
			var snap *Snapshot
			if err := st.ViewEngine(ctx, func(r central.EngineReader) (err error) { snap, err = Load(ctx, r); return err }); err != nil {
				t.Fatal(err)
			}
			if got := snap.Holder("ZJ:4").Facts; len(got) != 3 || got[1].Kind != KindConfirmed || got[2].Kind != KindConfirmed || !got[2].At.Equal(day(12)) {
				t.Errorf("ZJ:4's facts %+v, want a home and confirmations on the 11th and 12th", got)
			}
			w := snap.World()
			for h, want := range map[string]string{"ZJ:1": "confirmed", "ZJ:2": "close-contact", "ZJ:3": "close-contact"} {
				r, err := snap.Deployed.Evaluate(snap.Holder(h), w, day(12))
				if err != nil || r.Rule != want {
					t.Errorf("%s: %s by %q (%v), want %s", h, r.Status, r.Rule, err, want)
				}
			}
			f := snap.Holder("ZJ:3").Facts[0]
			if f.Site != "" || f.Value != "ZJ:1" || f.Source == "" || f.Kind != KindContact {
				t.Errorf("contact at an unplaced site: %+v", f)
			}
			if got := snap.Holder("ZJ:1").Facts; len(got) != 2 || got[1].Source != "import:cases.csv:2" {
				t.Errorf("case facts %+v", got)
			}
		})
	}
}

// noAllFacts is a store whose engine reads refuse AllFacts.
type noAllFacts struct{ central.Store }

func (s noAllFacts) ViewEngine(ctx context.Context, fn func(central.EngineReader) error) error {
	return s.Store.ViewEngine(ctx, func(r central.EngineReader) error { return fn(noAllReader{r}) })
}

type noAllReader struct{ central.EngineReader }

func (noAllReader) AllFacts(context.Context) ([]central.Fact, error) {
	return nil, errors.New("read every holder's facts")
}

// TestAddCasesCountsWhatIsAdded: the report counts the facts the store
// really added. A home differing only in area from one stored at the same
// time and source is another home and is added; a home the store already
// has is not counted.
func TestAddCasesCountsWhatIsAdded(t *testing.T) {
	ctx := context.Background()
	for name, st := range contactStores(t, nil) {
		t.Run(name, func(t *testing.T) {
			by := central.ChangeBy{Time: day(11), By: "ops:alice", Why: "daily cases"}
			const src = "import:fix.csv:2"
			err := st.UpdateEngine(ctx, func(tx central.EngineTx) error {
				for _, a := range []Area{{ID: "ZJ", Kind: Province}, {ID: "ZJ-HZ", Kind: City, Parent: "ZJ"}, {ID: "ZJ-HZ-XH", Kind: District, Parent: "ZJ-HZ"}} {
					if err := tx.PutArea(ctx, a, by); err != nil {
						return err
					}
				}
				// ZJ:5 was confirmed with the wrong home; ops removed the
				// confirmation by hand to import it again.
				if _, err := tx.AddFact(ctx, Fact{Holder: "ZJ:5", Kind: KindHome, At: day(11), Area: "ZJ-HZ", Source: src}, by); err != nil {
					return err
				}
				// ZJ:6 has the row's home already, then another at the
				// same time that wins.
				for _, area := range []string{"ZJ-HZ-XH", "ZJ-HZ"} {
					if _, err := tx.AddFact(ctx, Fact{Holder: "ZJ:6", Kind: KindHome, At: day(11), Area: area, Source: src}, by); err != nil {
						return err
					}
				}
				return nil
			})
			if err != nil {
				t.Fatal(err)
			}
			rows := []CaseRow{
				{Line: 2, Holder: "ZJ:5", Confirmed: day(11), Home: "ZJ-HZ-XH", Source: src},
				{Line: 3, Holder: "ZJ:6", Confirmed: day(11), Home: "ZJ-HZ-XH", Source: src},
			}
			rep, err := AddCases(ctx, st, rows, false, by, day(11, 12, 0))
			if err != nil {
				t.Fatal(err)
			}
			var homes []string
			var ch int
			if err := st.ViewEngine(ctx, func(r central.EngineReader) error {
				fs, err := r.Facts(ctx, "ZJ:5")
				for _, f := range fs {
					if f.Kind == KindHome {
						homes = append(homes, f.Area)
					}
				}
				if err != nil {
					return err
				}
				cs, err := r.Changes(ctx, 1, 0)
				for _, c := range cs {
					if c.Action == central.ChangeFactAdd && c.Time.Equal(by.Time) {
						ch++
					}
				}
				return err
			}); err != nil {
				t.Fatal(err)
			}
			if want := []string{"ZJ-HZ", "ZJ-HZ-XH"}; !slices.Equal(homes, want) {
				t.Errorf("ZJ:5's homes %v, want %v", homes, want)
			}
			// Added: ZJ:5's home, both confirmations (and the 3 seeded
			// homes before them).
			if rep.Cases != 2 || rep.Known != 0 || rep.Homes != 1 || ch != 3+3 {
				t.Errorf("report %+v with %d facts added in the audit; want 2 cases, 1 home", rep, ch)
			}
		})
	}
}
