package terminal

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"sentinel/internal/gate"
	"sentinel/internal/passage"
	"sentinel/internal/ui"
	"sentinel/sync/journal"
)

// TestClosedJournalKeepsGateShut runs a passage against the real journal
// after it stopped committing: the outputs signal a fault, never admit.
func TestClosedJournalKeepsGateShut(t *testing.T) {
	j, err := journal.Open(journal.Path(t.TempDir()), journal.Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	out := &recOutputs{}
	g, err := gate.New(gate.Options{
		Lanes:   []gate.LaneConfig{{Name: "in-1", Outputs: out}},
		Journal: j, Clock: fixedClock{}, State: &gate.State{Policy: admitAll{}, Enrolled: true},
	})
	if err != nil {
		t.Fatal(err)
	}
	_, err = g.Process(context.Background(), "in-1", []byte("HCN1:anything"))
	if !errors.Is(err, gate.ErrJournal) || !errors.Is(err, journal.ErrClosed) {
		t.Errorf("got %v, want gate.ErrJournal wrapping journal.ErrClosed", err)
	}
	if !slices.Equal(out.calls, []string{"fault"}) {
		t.Errorf("got outputs %v, want only fault", out.calls)
	}
}

type recOutputs struct{ calls []string }

func (o *recOutputs) Admit() error  { o.calls = append(o.calls, "admit"); return nil }
func (o *recOutputs) Refuse() error { o.calls = append(o.calls, "refuse"); return nil }
func (o *recOutputs) Fault() error  { o.calls = append(o.calls, "fault"); return nil }

type fixedClock struct{}

func (fixedClock) Now() (time.Time, bool) { return time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC), true }

// admitAll admits everyone: the journal alone must keep the gate shut.
type admitAll struct{}

func (admitAll) Decide(*gate.Input) gate.Decision { return gate.Decision{Verdict: passage.Admit} }

// TestTodayCounts: the display's counters are rebuilt from the journal at
// start (issue 8: they restarted at 0 after every restart), for the site's
// day, over more records than one read.
func TestTodayCounts(t *testing.T) {
	j, err := journal.Open(journal.Path(t.TempDir()), journal.Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	cst := time.FixedZone("CST", 8*3600)
	now := time.Date(2026, 12, 7, 9, 0, 0, 0, cst) // 01:00 UTC
	yesterday := time.Date(2026, 12, 6, 23, 59, 0, 0, cst)
	var ps []*journal.Passage
	add := func(n int, at time.Time, d passage.Verdict, o *journal.Override) {
		for range n {
			ps = append(ps, &journal.Passage{Time: at, Lane: "in-1", Decision: d, Override: o})
		}
	}
	add(7, yesterday, passage.Admit, nil) // 15:59 UTC, the same UTC day
	add(3, yesterday, passage.Deny, nil)
	add(2*countChunk+5, now.Add(-time.Hour), passage.Admit, nil)
	add(4, now.Add(-time.Hour), passage.Deny, nil)
	add(2, now.Add(-time.Minute), passage.Refer, nil)
	add(1, now, passage.Admit, &journal.Override{Who: "guard-1", Why: "retake-normal", Of: 3})
	add(2, now, passage.Deny, &journal.Override{Why: "retake-normal", Of: 3}) // wrong PINs
	// Appended concurrently, so that the journal batches its commits.
	errs := make(chan error, len(ps))
	for _, p := range ps {
		go func() { _, err := j.Append(context.Background(), p); errs <- err }()
	}
	for range ps {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	got, err := todayCounts(j, now, cst)
	if err != nil {
		t.Fatal(err)
	}
	if want := (ui.Counts{Admitted: 2*countChunk + 5, Refused: 4, Referred: 2, Overrides: 1}); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if got, _ := todayCounts(j, now.AddDate(0, 0, 1), cst); got != (ui.Counts{}) {
		t.Errorf("the next day: got %+v, want zero", got)
	}
}
