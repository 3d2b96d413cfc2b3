package storetest

import (
	"context"
	"errors"
	"testing"

	"sentinel/internal/central"
)

// testEpochOwner: an epoch belongs to the device that stored under it
// first; another device's batch for it, at any seq, is refused with
// ErrEpochOwned naming the owner, and nothing of it is stored.
func testEpochOwner(t *testing.T, s central.Store) {
	ctx := context.Background()
	ingest(t, s, "t1", epochA, Recs(1, 3, "a"), 3)
	for _, recs := range [][]central.Record{Recs(1, 3, "a"), Recs(1, 5, "evil"), Recs(4, 6, "evil"), Recs(9, 9, "evil")} {
		_, err := Ingest(ctx, s, "t2", epochA, recs)
		var owned *central.EpochOwnerError
		if !errors.As(err, &owned) || !errors.Is(err, central.ErrEpochOwned) || owned.Owner != "t1" || owned.Device != "t2" || owned.Epoch != epochA {
			t.Fatalf("t2 uploading t1's epoch from %d: got %v, want an *EpochOwnerError naming t1", recs[0].Seq, err)
		}
	}
	highWater(t, s, "t2", epochA, 0)
	if ps := All(t, s, central.Filter{Device: "t2"}); len(ps) != 0 {
		t.Fatalf("got %d passages stored for t2, want none", len(ps))
	}
	// The owner goes on; the other device's own epochs are its own.
	ingest(t, s, "t1", epochA, Recs(4, 5, "a"), 5)
	ingest(t, s, "t2", epochB, Recs(1, 2, "b"), 2)
	if _, err := Ingest(ctx, s, "t1", epochB, Recs(1, 2, "b")); !errors.Is(err, central.ErrEpochOwned) {
		t.Fatalf("t1 uploading t2's epoch: got %v, want ErrEpochOwned", err)
	}
	checkPassages(t, s, central.Filter{}, sortPassages(append(passages("t1", epochA, Recs(1, 5, "a")), passages("t2", epochB, Recs(1, 2, "b"))...)))
}

// wantFork checks that err is a *ForkError at seq at against mark, whose
// branch is named by the batch's record at at, and returns the fork.
func wantFork(t *testing.T, err error, epoch, journal central.Epoch, at, mark uint64, stored []byte) central.Fork {
	t.Helper()
	var fe *central.ForkError
	if !errors.As(err, &fe) || !errors.Is(err, central.ErrFork) {
		t.Fatalf("got %v, want a *ForkError at %d", err, at)
	}
	f := fe.Fork
	if f.Epoch != epoch || f.Journal != journal || f.At != at || f.Mark != mark || f.Branch != central.ForkBranch(epoch, at, stored) || f.Found.IsZero() {
		t.Fatalf("got fork %+v, want epoch %s (journal %s) at %d, mark %d, its branch", f, epoch, journal, at, mark)
	}
	return f
}

// testFork: a batch whose records at or below the mark differ from those
// stored (a restored or cloned journal) stores nothing, records the fork
// once and names its branch; the branch then takes the other copy's
// records from the fork on, exactly once, and can fork again; the fork
// shows in Devices and survives a restart.
func testFork(t *testing.T, h Harness) {
	s := h.New(t)
	defer func() { s.Close() }()
	ctx := context.Background()
	ingest(t, s, "t1", epochA, Recs(1, 10, "a"), 10)

	// The restored copy holds 1..5 as stored and its own 6..12.
	other := Journal(Recs(1, 5, "a"), Recs(6, 12, "b"))
	_, err := Ingest(ctx, s, "t1", epochA, other[3:])
	f := wantFork(t, err, epochA, epochA, 6, 10, other[5].Stored)
	highWater(t, s, "t1", epochA, 10)
	// Found again (a lost answer): the same fork, recorded once.
	_, err = Ingest(ctx, s, "t1", epochA, other[5:8])
	if again := wantFork(t, err, epochA, epochA, 6, 10, other[5].Stored); !again.Found.Equal(f.Found) {
		t.Fatalf("the fork found again got a new time %v, want the first %v", again.Found, f.Found)
	}
	// The original copy goes on.
	ingest(t, s, "t1", epochA, append(Recs(9, 10, "a"), Recs(11, 12, "a")...), 12)

	// The branch starts at the fork: a batch past it is a gap at 5.
	_, err = Ingest(ctx, s, "t1", f.Branch, other[7:])
	wantGap(t, err, 5, 8)
	ingest(t, s, "t1", f.Branch, other[5:9], 9)
	ingest(t, s, "t1", f.Branch, other[5:], 12) // resent: stored once
	if _, err := Ingest(ctx, s, "t2", f.Branch, other[5:]); !errors.Is(err, central.ErrEpochOwned) {
		t.Fatalf("another device uploading the branch: got %v, want ErrEpochOwned", err)
	}

	// The branch itself forks (restored again from a later copy).
	third := Journal(other[:8], Recs(9, 9, "c"))[5:]
	_, err = Ingest(ctx, s, "t1", f.Branch, third)
	f2 := wantFork(t, err, f.Branch, epochA, 9, 12, third[3].Stored)
	ingest(t, s, "t1", f2.Branch, third[3:], 9)

	want := append(passages("t1", epochA, Recs(1, 12, "a")), passages("t1", f.Branch, other[5:])...)
	want = append(want, passages("t1", f2.Branch, third[3:])...)
	check := func(t *testing.T, s central.Store) {
		t.Helper()
		checkPassages(t, s, central.Filter{Device: "t1"}, sortPassages(want))
		ds, err := s.Devices(ctx)
		if err != nil || len(ds) != 1 {
			t.Fatalf("Devices: got %+v (%v), want t1", ds, err)
		}
		forks := ds[0].Forks
		if len(forks) != 2 || forks[0].Branch != f.Branch || forks[1].Branch != f2.Branch || forks[0].At != 6 || forks[1].At != 9 {
			t.Fatalf("Devices: got forks %+v, want the fork at 6 then the one at 9", forks)
		}
		// The sync server finds a branch by its epoch; both carry the
		// journal's epoch.
		for _, want := range []central.Fork{f, f2} {
			got, ok, err := s.Fork(ctx, "t1", want.Branch)
			if err != nil || !ok || got.Journal != epochA || got.At != want.At || got.Epoch != want.Epoch || !got.Found.Equal(want.Found) {
				t.Fatalf("Fork(%s): got %+v, %v (%v), want %+v of journal %s", want.Branch, got, ok, err, want, epochA)
			}
		}
		if _, ok, err := s.Fork(ctx, "t2", f.Branch); ok || err != nil {
			t.Fatalf("Fork of another device: got %v (%v), want none", ok, err)
		}
	}
	check(t, s)
	if h.Reopen == nil {
		return
	}
	s = h.Reopen(t, s)
	check(t, s)
	// After a restart the fork is still known: found again, same branch.
	_, err = Ingest(ctx, s, "t1", epochA, other[5:6])
	wantFork(t, err, epochA, epochA, 6, 10, other[5].Stored)
}
