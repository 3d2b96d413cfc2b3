package servertest

import (
	"context"
	"errors"
	"sync"
	"testing"

	"sentinel/sync/journal"
	"sentinel/sync/protocol"
	"sentinel/sync/server"
)

// RunStoreTests is the contract every server.Store must pass: exactly
// once across re-uploads, overlaps and concurrent duplicates, gaps refused
// with the mark and nothing stored, a link to the stored mark checked,
// devices and epochs kept apart. newStore returns an empty store.
func RunStoreTests(t *testing.T, newStore func(t *testing.T) server.Store) {
	j := Journal(t, 400)
	recs := Stored(t, j, 1, 0)
	ep := j.Epoch()
	batch := func(t *testing.T, device string, first, last journal.Seq) *server.Batch {
		t.Helper()
		r, err := journal.DecodeRecord(recs[first-1])
		if err != nil {
			t.Fatal(err)
		}
		b, err := server.Check(&protocol.Upload{Device: device, Epoch: ep, First: first, Prev: r.Prev, Records: recs[first-1 : last]})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	ctx := context.Background()
	ingest := func(t *testing.T, s server.Store, b *server.Batch, wantMark journal.Seq, wantKept int) {
		t.Helper()
		res, err := s.Ingest(ctx, b)
		if err != nil {
			t.Fatalf("ingest %d..: %v", b.Records[0].Seq, err)
		}
		if res.Mark.Seq != wantMark || len(res.Kept) != wantKept {
			t.Fatalf("got mark %d, %d kept, want %d, %d", res.Mark.Seq, len(res.Kept), wantMark, wantKept)
		}
		if res.Mark.Hash != b.Records[len(b.Records)-1].Hash && wantKept > 0 && b.Records[len(b.Records)-1].Seq == wantMark {
			t.Fatalf("got mark hash %v, want the last record's", res.Mark.Hash)
		}
		hw, err := s.HighWater(ctx, b.Device, b.Epoch)
		if err != nil || hw != res.Mark {
			t.Fatalf("got high water %+v (%v), want %+v", hw, err, res.Mark)
		}
	}
	t.Run("exactly once", func(t *testing.T) {
		s := newStore(t)
		ingest(t, s, batch(t, "a", 1, 100), 100, 100)
		ingest(t, s, batch(t, "a", 1, 100), 100, 0)
		ingest(t, s, batch(t, "a", 51, 150), 150, 50)
		ingest(t, s, batch(t, "a", 10, 20), 150, 0)
	})
	t.Run("gap", func(t *testing.T) {
		s := newStore(t)
		ingest(t, s, batch(t, "a", 1, 10), 10, 10)
		_, err := s.Ingest(ctx, batch(t, "a", 12, 20))
		var gap *server.GapError
		if !errors.As(err, &gap) || gap.Mark != 10 || !errors.Is(err, server.ErrGap) {
			t.Fatalf("got %v, want a gap at 10", err)
		}
		if hw, _ := s.HighWater(ctx, "a", ep); hw.Seq != 10 {
			t.Fatalf("got high water %d after a gap, want 10", hw.Seq)
		}
		ingest(t, s, batch(t, "a", 11, 20), 20, 10)
	})
	t.Run("link to the mark", func(t *testing.T) {
		s := newStore(t)
		ingest(t, s, batch(t, "a", 1, 10), 10, 10)
		b := batch(t, "a", 11, 20)
		b.Records[0].Rec.Prev[0] ^= 1 // as if record 10 at the centre differed
		res, err := s.Ingest(ctx, b)
		if err != nil || len(res.Kept) != 10 || res.Kept[0].Break != server.BreakMark {
			t.Fatalf("got %v, %d kept, want the first flagged %q", err, len(res.Kept), server.BreakMark)
		}
		b.Records[0].Rec.Prev[0] ^= 1
	})
	t.Run("devices and epochs apart", func(t *testing.T) {
		s := newStore(t)
		ingest(t, s, batch(t, "a", 1, 10), 10, 10)
		// An epoch belongs to the device that uploaded it first.
		for _, b := range []*server.Batch{batch(t, "b", 1, 5), batch(t, "b", 11, 12), batch(t, "b", 30, 31)} {
			if _, err := s.Ingest(ctx, b); !errors.Is(err, server.ErrEpochOwned) {
				t.Fatalf("b uploading a's epoch from %d: got %v, want ErrEpochOwned", b.Records[0].Seq, err)
			}
		}
		if hw, _ := s.HighWater(ctx, "b", ep); hw != (server.Mark{}) {
			t.Fatalf("got high water %+v for b after its refused uploads, want zero", hw)
		}
		other := batch(t, "a", 1, 3)
		other.Epoch[0] ^= 1
		ingest(t, s, other, 3, 3)
		if hw, _ := s.HighWater(ctx, "a", ep); hw.Seq != 10 {
			t.Fatalf("got high water %d for a, want 10", hw.Seq)
		}
		if hw, _ := s.HighWater(ctx, "c", ep); hw != (server.Mark{}) {
			t.Fatalf("got high water %+v for an unknown device, want zero", hw)
		}
	})
	t.Run("fork", func(t *testing.T) { testFork(t, newStore(t)) })
	t.Run("concurrent duplicates", func(t *testing.T) {
		s := newStore(t)
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			kept int
		)
		for i := range 16 {
			wg.Go(func() {
				last := journal.Seq(100 * (1 + i%4))
				for first := journal.Seq(1); first <= last; first += 100 {
					res, err := s.Ingest(ctx, batch(t, "a", first, first+99))
					if errors.Is(err, server.ErrGap) {
						continue // another writer has not got there yet
					}
					if err != nil {
						t.Error(err)
						return
					}
					mu.Lock()
					kept += len(res.Kept)
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		hw, _ := s.HighWater(ctx, "a", ep)
		if hw.Seq != journal.Seq(kept) {
			t.Fatalf("got %d records kept and high water %d, want them equal", kept, hw.Seq)
		}
	})
}

// testFork: a restored copy of a journal uploads records that differ from
// those stored at the same seqs; the store answers a *ForkError at the
// first (the same branch each time) and stores nothing, then takes the
// copy's records from there under the branch, exactly once.
func testFork(t *testing.T, s server.Store) {
	ctx := context.Background()
	a, b := ForkedJournals(t, 5, 10)
	batch := func(j *journal.Journal, first, last journal.Seq, branch journal.Epoch) *server.Batch {
		t.Helper()
		recs := Stored(t, j, first, last)
		r, err := journal.DecodeRecord(recs[0])
		if err != nil {
			t.Fatal(err)
		}
		bt, err := server.Check(&protocol.Upload{Device: "a", Epoch: j.Epoch(), First: first, Prev: r.Prev, Records: recs})
		if err != nil {
			t.Fatal(err)
		}
		bt.Branch = branch
		return bt
	}
	res, err := s.Ingest(ctx, batch(a, 1, 15, journal.Epoch{}))
	if err != nil || res.Mark.Seq != 15 {
		t.Fatalf("got %+v, %v, want the original stored up to 15", res.Mark, err)
	}
	// The restored copy agrees up to 5: no fork yet, the centre holds more.
	if res, err := s.Ingest(ctx, batch(b, 2, 5, journal.Epoch{})); err != nil || res.Mark.Seq != 15 || len(res.Kept) != 0 {
		t.Fatalf("the copy's common records: got %+v, %v, want nothing kept, mark 15", res, err)
	}
	var fork *server.ForkError
	for range 2 {
		_, err := s.Ingest(ctx, batch(b, 3, 12, journal.Epoch{}))
		var fe *server.ForkError
		if !errors.As(err, &fe) || !errors.Is(err, server.ErrFork) || fe.At != 6 || fe.Mark != res.Mark || fe.Branch == (journal.Epoch{}) || fe.Branch == a.Epoch() {
			t.Fatalf("got %v, want a fork at 6 against the mark %+v", err, res.Mark)
		}
		if fork != nil && fe.Branch != fork.Branch {
			t.Fatalf("the fork found again names branch %s, want %s", fe.Branch, fork.Branch)
		}
		fork = fe
	}
	if hw, _ := s.HighWater(ctx, "a", a.Epoch()); hw != res.Mark {
		t.Fatalf("got mark %+v after the fork, want %+v", hw, res.Mark)
	}
	// Under the branch: records before the fork are refused, a gap past
	// it answered with the fork's seq - 1, then exactly once.
	if _, err := s.Ingest(ctx, batch(b, 5, 15, fork.Branch)); !errors.Is(err, server.ErrInvalid) {
		t.Fatalf("branch upload from before the fork: got %v, want ErrInvalid", err)
	}
	var gap *server.GapError
	if _, err := s.Ingest(ctx, batch(b, 8, 15, fork.Branch)); !errors.As(err, &gap) || gap.Mark != 5 {
		t.Fatalf("branch upload past the fork: got %v, want a gap at 5", err)
	}
	for i, want := range []int{7, 3, 0} {
		last := []journal.Seq{12, 15, 15}[i]
		res, err := s.Ingest(ctx, batch(b, 6, last, fork.Branch))
		if err != nil || len(res.Kept) != want || res.Mark.Seq != last {
			t.Fatalf("branch upload 6..%d: got %+v, %v, want %d kept", last, res, err, want)
		}
	}
	if hw, _ := s.HighWater(ctx, "a", fork.Branch); hw.Seq != 15 {
		t.Fatalf("got branch mark %d, want 15", hw.Seq)
	}
	unknown := fork.Branch
	unknown[0] ^= 1
	if _, err := s.Ingest(ctx, batch(b, 6, 15, unknown)); !errors.Is(err, server.ErrUnknownBranch) {
		t.Fatalf("upload to an unknown branch: got %v, want ErrUnknownBranch", err)
	}
	// The original goes on untouched.
	if hw, _ := s.HighWater(ctx, "a", a.Epoch()); hw != res.Mark {
		t.Fatalf("got mark %+v of the original, want %+v", hw, res.Mark)
	}
}
