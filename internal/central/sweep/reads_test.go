package sweep_test

import (
	"context"
	"iter"
	"strconv"
	"testing"
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
