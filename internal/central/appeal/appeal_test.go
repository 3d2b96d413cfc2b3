package appeal_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/appeal"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/storetest"
	"sentinel/internal/passage"
)

// TestFindForkedPassage: a terminal restored from a backup journals on
// under its journal's epoch, and its display shows references made from
// that epoch; the centre stores the restored copy's records from the
// fork on under a branch epoch (and a branch of the branch when it is
// restored again). Each record is found by the reference its display
// showed, and the original copy's records still by theirs.
func TestFindForkedPassage(t *testing.T) {
	ctx := context.Background()
	st := memstore.New(nil)
	epoch := central.Epoch{0xa}
	later := func(recs []central.Record, d time.Duration) []central.Record {
		for i := range recs {
			recs[i].Time = recs[i].Time.Add(d)
		}
		return recs
	}
	original := storetest.Journal(storetest.Recs(1, 10, "a"))
	if _, err := storetest.Ingest(ctx, st, "T-1", epoch, original); err != nil {
		t.Fatal(err)
	}
	// The restored copy: 1..5 as stored, its own 6..12 a day later.
	other := storetest.Journal(storetest.Recs(1, 5, "a"), later(storetest.Recs(6, 12, "b"), 24*time.Hour))
	var fe *central.ForkError
	if _, err := storetest.Ingest(ctx, st, "T-1", epoch, other[5:]); !errors.As(err, &fe) {
		t.Fatalf("the restored copy's upload: %v, want a fork", err)
	}
	if _, err := storetest.Ingest(ctx, st, "T-1", fe.Fork.Branch, other[5:]); err != nil {
		t.Fatal(err)
	}
	// Restored again from a copy of 1..8: its own 9 two days later.
	third := storetest.Journal(other[:8], later(storetest.Recs(9, 9, "c"), 48*time.Hour))[5:]
	var fe2 *central.ForkError
	if _, err := storetest.Ingest(ctx, st, "T-1", fe.Fork.Branch, third); !errors.As(err, &fe2) {
		t.Fatalf("the second restored copy's upload: %v, want a fork of the branch", err)
	}
	if _, err := storetest.Ingest(ctx, st, "T-1", fe2.Fork.Branch, third[3:]); err != nil {
		t.Fatal(err)
	}

	counted := &forkCounter{Store: st}
	for _, tt := range []struct {
		name   string
		rec    central.Record
		stored central.Epoch
		forks  int // look-ups of forks: none when a record matches directly
	}{
		{"the original copy", original[6], epoch, 0},
		{"the restored copy", other[6], fe.Fork.Branch, 1},
		{"the copy restored twice", third[3], fe2.Fork.Branch, 1},
	} {
		// What the terminal's display showed: the journal's epoch.
		ref := passage.NewRef("T-1", epoch, tt.rec.Seq, tt.rec.Time)
		counted.n = 0
		found, err := appeal.Find(ctx, counted, ref)
		if counted.n != tt.forks {
			t.Errorf("%s: %d look-ups of forks, want %d", tt.name, counted.n, tt.forks)
		}
		if err != nil || len(found) != 1 || found[0].Epoch != tt.stored || found[0].Seq != tt.rec.Seq || string(found[0].Stored) != string(tt.rec.Stored) {
			t.Errorf("%s: reference %s finds %+v (%v), want record %d stored under %s", tt.name, ref, found, err, tt.rec.Seq, tt.stored)
			continue
		}
		h, err := appeal.HolderOf(ctx, st, ref)
		if err != nil || h.String() != tt.rec.Holder {
			t.Errorf("%s: holder of %s: %v (%v), want %s", tt.name, ref, h, err, tt.rec.Holder)
		}
	}
	// A reference no record has is not found, and says so.
	if _, err := appeal.HolderOf(ctx, st, passage.NewRef("T-2", epoch, 7, other[6].Time)); !errors.Is(err, appeal.ErrNotFound) {
		t.Errorf("another device's reference: %v, want ErrNotFound", err)
	}
}

// forkCounter counts the look-ups of forks.
type forkCounter struct {
	central.Store
	n int
}

func (c *forkCounter) Fork(ctx context.Context, device string, branch central.Epoch) (central.Fork, bool, error) {
	c.n++
	return c.Store.Fork(ctx, device, branch)
}
