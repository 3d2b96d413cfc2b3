package terminal

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/gate"
	"sentinel/internal/passage"
	"sentinel/internal/ui"
	"sentinel/sync/journal"
)

func TestJournalPassage(t *testing.T) {
	j, err := journal.Open(journal.Path(t.TempDir()), journal.Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	at := time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)
	p := &gate.Passage{
		Time: at, ClockTrusted: true, Lane: "in-1", Format: credential.FormatNative, Issuer: "ZJ", KeyID: []byte{1, 2},
		Holder:     credential.Holder{Kind: credential.HolderNative, Issuer: "ZJ", Index: 7},
		CodeColour: credential.ColourGreen, StatusColour: "red",
		Temperature: passage.Temperature{State: passage.TempOK, Value: physic.ZeroCelsius + 37*physic.Celsius, Ambient: physic.ZeroCelsius + 24*physic.Celsius, Confidence: 0.8},
		Verdict:     passage.Admit, Reasons: []string{gate.ReasonOverride}, PolicyVersion: 3,
		BundleVersions: map[trust.Kind]uint64{trust.KindTrust: 2, trust.KindStatusDelta: 0},
		Override:       &gate.Override{Guard: "guard-1", Reason: gate.OverrideRetakeNormal, Of: 41},
	}
	seq, err := gateJournal{j}.Append(context.Background(), p)
	if err != nil || seq != 1 {
		t.Fatalf("Append: %d %v, want 1", seq, err)
	}
	recs, _, err := j.Tail(1)
	if err != nil {
		t.Fatal(err)
	}
	r, err := journal.DecodeRecord(recs[0])
	if err != nil {
		t.Fatal(err)
	}
	if !r.Time.Equal(at) || !r.ClockTrusted || r.Lane != "in-1" || r.Format != credential.FormatNative || r.Issuer != "ZJ" ||
		r.CodeColour != credential.ColourGreen || r.StatusColour != "red" || r.Decision != passage.Admit ||
		!slices.Equal(r.Reasons, []string{gate.ReasonOverride}) || r.PolicyVersion != 3 {
		t.Errorf("got record %+v", r)
	}
	if len(r.Bundles) != 1 || r.Bundles["trust"] != 2 {
		t.Errorf("got bundles %v, want trust 2 only", r.Bundles)
	}
	if r.Override == nil || r.Override.Who != "guard-1" || r.Override.Why != gate.OverrideRetakeNormal || r.Override.Of != 41 {
		t.Errorf("got override %+v", r.Override)
	}
}

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
		Journal: gateJournal{j}, Clock: fixedClock{}, State: &gate.State{Policy: admitAll{}, Enrolled: true},
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
