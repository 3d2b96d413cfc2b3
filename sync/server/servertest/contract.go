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
		ingest(t, s, batch(t, "b", 1, 5), 5, 5)
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
