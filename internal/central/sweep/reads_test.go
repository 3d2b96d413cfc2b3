package sweep_test

import (
	"context"
	"fmt"
	"iter"
	"strconv"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/sweep"
	"sentinel/internal/status"
)

// countingStore counts the status entries a sweep reads.
type countingStore struct {
	*memstore.Store
	all, read int // Entries calls; entries read by EntriesOf and HeldBy
}

func (s *countingStore) ViewStatus(ctx context.Context, fn func(central.StatusReader) error) error {
	return s.Store.ViewStatus(ctx, func(r central.StatusReader) error { return fn(&countingReader{r, s}) })
}

type countingReader struct {
	central.StatusReader
	s *countingStore
}

func (r *countingReader) Entries(ctx context.Context) iter.Seq2[central.StatusEntry, error] {
	r.s.all++
	return r.StatusReader.Entries(ctx)
}

func (r *countingReader) EntriesOf(ctx context.Context, hs []credential.Holder) ([]central.StatusEntry, error) {
	es, err := r.StatusReader.EntriesOf(ctx, hs)
	r.s.read += len(es)
	return es, err
}

func (r *countingReader) HeldBy(ctx context.Context, source string, at time.Time) iter.Seq2[central.StatusEntry, error] {
	return func(yield func(central.StatusEntry, error) bool) {
		for e, err := range r.StatusReader.HeldBy(ctx, source, at) {
			r.s.read++
			if !yield(e, err) {
				return
			}
		}
	}
}

// TestSweepReadsWhatItJudges: with many holders green by hand or by the
// engine and no facts, a sweep reads the entries of the holders with
// facts and of those the engine holds at a colour, never every entry;
// and a holder the engine holds red whose facts were all removed is
// judged and published green again.
func TestSweepReadsWhatItJudges(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	mem, pub, by := hubei(t, now)
	st := &countingStore{Store: mem}
	pub.Store = st
	// 500 holders green (lapsed or set green), none with facts.
	var es []central.StatusEntry
	for i := range 500 {
		h, _ := credential.ParseHolderID("HB:" + strconv.Itoa(1000+i))
		e := central.StatusEntry{Holder: h, Status: status.Green, Effective: now.Add(-48 * time.Hour), Source: "engine", SetAt: now.Add(-48 * time.Hour)}
		if i%2 == 0 {
			e.Status, e.Until = status.Red, now.Add(-time.Hour) // lapsed
		}
		es = append(es, e)
	}
	if _, err := pub.Publish(ctx, func(ctx context.Context, tx central.StatusTx, delta *status.Builder) error {
		for _, e := range es {
			if _, _, err := tx.SetStatus(ctx, e); err != nil {
				return err
			}
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	// HB:1 gets a fever in Wuhan: red.
	var fever central.Fact
	err := st.UpdateEngine(ctx, func(tx central.EngineTx) (err error) {
		fever, err = tx.AddFact(ctx, central.Fact{Holder: "HB:1", Kind: central.FactFever, At: now.Add(-time.Minute), Site: "CP-WH",
			Temperature: physic.ZeroCelsius + 38400*physic.MilliKelvin, Source: "ops:test"}, by)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	run := func(at time.Time) sweep.Report {
		t.Helper()
		st.all, st.read = 0, 0
		rep, err := sweep.Run(ctx, st, pub, at, central.ChangeBy{Time: at, By: "engine", Why: "test"})
		if err != nil {
			t.Fatal(err)
		}
		if st.all != 0 {
			t.Errorf("the sweep read every status entry %d times", st.all)
		}
		return rep
	}
	rep := run(now)
	if len(rep.Changes) != 1 || rep.Changes[0].Holder != "HB:1" || rep.Changes[0].To != "red" || st.read != 0 {
		t.Fatalf("first sweep: changes %+v, %d entries read; want HB:1 red, none read (HB:1 had none)", rep.Changes, st.read)
	}
	// The fever is removed (entered by mistake): HB:1 has no facts but is
	// held red by the engine, so the next sweep judges it green.
	err = st.UpdateEngine(ctx, func(tx central.EngineTx) error { _, err := tx.RemoveFact(ctx, fever.Seq, by); return err })
	if err != nil {
		t.Fatal(err)
	}
	rep = run(now.Add(time.Minute))
	if len(rep.Changes) != 1 || rep.Changes[0].Holder != "HB:1" || rep.Changes[0].To != "green" || st.read != 1 {
		t.Fatalf("after the fact's removal: changes %+v, %d entries read; want HB:1 green, its entry alone read", rep.Changes, st.read)
	}
	rep = run(now.Add(2 * time.Minute))
	if len(rep.Changes) != 0 || st.read != 0 {
		t.Fatalf("third sweep: changes %+v, %d entries read; want none", rep.Changes, st.read)
	}
}

// TestRunHolders: a sweep of named holders judges and publishes them
// alone and reads only their entries; a holder with facts who is not
// named waits for the next full sweep, which finds nothing more to do for
// the named ones.
func TestRunHolders(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	mem, pub, by := hubei(t, now)
	st := &countingStore{Store: mem}
	pub.Store = st
	fever := func(holder, site string) central.Fact {
		return central.Fact{Holder: holder, Kind: central.FactFever, At: now.Add(-time.Minute), Site: site,
			Temperature: physic.ZeroCelsius + 38400*physic.MilliKelvin, Source: "ops:test"}
	}
	err := st.UpdateEngine(ctx, func(tx central.EngineTx) error {
		for _, f := range []central.Fact{fever("HB:1", "CP-WH"), fever("HB:2", "CP-YC"), fever("HB:3", "CP-WH")} {
			if _, err := tx.AddFact(ctx, f, by); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sweep.RunHolders(ctx, st, pub, now, []string{"HB:3", "HB:1", "HB:3", "HB:9"}, central.ChangeBy{Time: now, By: "engine"})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range rep.Changes {
		got = append(got, c.Holder+" "+c.To)
	}
	if fmt.Sprint(got) != "[HB:1 red HB:3 red]" || st.all != 0 {
		t.Fatalf("RunHolders changed %v (Entries read %d times), want HB:1 and HB:3 red, no full read", got, st.all)
	}
	if _, ok, _ := st.StatusOf(ctx, storetestHolder(t, "HB:2")); ok {
		t.Error("HB:2, not named, got a status")
	}
	rep, err = sweep.Run(ctx, st, pub, now.Add(time.Second), central.ChangeBy{Time: now, By: "engine"})
	if err != nil || len(rep.Changes) != 1 || rep.Changes[0].Holder != "HB:2" || rep.Changes[0].To != "withheld" {
		t.Fatalf("the full sweep after: %+v (%v), want HB:2 withheld alone", rep.Changes, err)
	}
}

// TestRunHoldersReadsEveryCaseWhenRulesDo: under rules that count the
// confirmed cases of a compound (cases_in), judging one holder needs every
// case, so RunHolders sweeps everyone.
func TestRunHoldersReadsEveryCaseWhenRulesDo(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Second)
	st, pub, by := hubei(t, now)
	src := `region HB
version cases
rule compound
  match f.kind == "home" && cases_in(f.area, now - duration("336h")) > 0
  from last_case_in(f.area)
  red confirmed
`
	err := st.UpdateEngine(ctx, func(tx central.EngineTx) error {
		if _, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "HB", Label: "cases", Source: []byte(src)}, by); err != nil {
			return err
		}
		for _, f := range []central.Fact{
			{Holder: "HB:1", Kind: central.FactHome, At: now.Add(-48 * time.Hour), Area: "HB-WH", Source: "ops:test"},
			{Holder: "HB:2", Kind: central.FactHome, At: now.Add(-48 * time.Hour), Area: "HB-WH", Source: "ops:test"},
			{Holder: "HB:2", Kind: central.FactConfirmed, At: now.Add(-time.Hour), Source: "ops:test"},
		} {
			if _, err := tx.AddFact(ctx, f, by); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	rep, err := sweep.RunHolders(ctx, st, pub, now, []string{"HB:1"}, central.ChangeBy{Time: now, By: "engine"})
	if err != nil || len(rep.Changes) != 2 {
		t.Fatalf("RunHolders under rules reading cases: %+v (%v), want HB:1 and HB:2 red by their compound's case", rep.Changes, err)
	}
}

// TestFeverEventJudgesItsHolder: the event path judges a fever's holder
// alone; Notify (an event about anyone) sweeps everyone.
func TestFeverEventJudgesItsHolder(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		now := time.Now().UTC()
		mem, pub, by := hubei(t, now)
		st := &countingStore{Store: mem}
		pub.Store = st
		// HB:5's fever was recorded by ops, with no event.
		err := st.UpdateEngine(ctx, func(tx central.EngineTx) error {
			_, err := tx.AddFact(ctx, central.Fact{Holder: "HB:5", Kind: central.FactFever, At: now.Add(-time.Hour), Site: "CP-WH",
				Temperature: physic.ZeroCelsius + 38400*physic.MilliKelvin, Source: "ops:test"}, by)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		ev := (&sweep.Runner{Store: st, Publisher: pub}).Events()
		ev.Start(ctx)
		defer ev.Stop()
		added, _, _, err := central.KeepFevers(ctx, st, []central.Fact{{Holder: "HB:1", Kind: central.FactFever, At: now.Add(-time.Minute), Site: "CP-WH",
			Temperature: physic.ZeroCelsius + 38400*physic.MilliKelvin, Source: central.FeverSource("T1", central.Epoch{1}, 1)}}, central.ChangeBy{Time: now, By: "ingest"})
		if err != nil || len(added) != 1 {
			t.Fatal(added, err)
		}
		ev.OnFever(added[0])
		synctest.Wait()
		red := func(h string) bool {
			e, ok, err := st.StatusOf(ctx, storetestHolder(t, h))
			return err == nil && ok && e.Status == status.Red
		}
		if !red("HB:1") || red("HB:5") || st.all != 0 {
			t.Fatalf("after HB:1's fever: HB:1 red %v, HB:5 red %v, every entry read %d times; want HB:1 alone judged", red("HB:1"), red("HB:5"), st.all)
		}
		ev.Notify()
		synctest.Wait()
		if !red("HB:5") {
			t.Fatal("Notify did not sweep everyone: HB:5 is not red")
		}
	})
}

func storetestHolder(t *testing.T, s string) credential.Holder {
	t.Helper()
	h, err := credential.ParseHolderID(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}
