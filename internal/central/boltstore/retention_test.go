package boltstore

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/storetest"
)

// TestPurgeBefore: records before the horizon go, the rest stay, the mark
// stays (a resent old record is still a duplicate), and purging again
// finds nothing. Before the fix the bbolt store had no purge at all.
func TestPurgeBefore(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "central.db")
	s := open(t, path)
	recs := storetest.Recs(1, 300, "a") // one a minute
	if _, err := storetest.Ingest(ctx, s, "t1", central.Epoch{1}, recs); err != nil {
		t.Fatal(err)
	}
	if _, err := storetest.Ingest(ctx, s, "t2", central.Epoch{2}, storetest.Recs(1, 50, "b")); err != nil {
		t.Fatal(err)
	}
	horizon := recs[100].Time // records 1..100 lie before it
	n, err := s.PurgeBefore(ctx, horizon)
	if err != nil {
		t.Fatal(err)
	}
	if n != 100+50 {
		t.Errorf("purged %d, want 150", n)
	}
	left := storetest.All(t, s, central.Filter{})
	if len(left) != 200 {
		t.Fatalf("left %d passages, want 200", len(left))
	}
	for _, p := range left {
		if p.Time.Before(horizon) {
			t.Errorf("passage %s/%d at %s is before the horizon %s", p.Device, p.Seq, p.Time, horizon)
		}
	}
	if hw, err := s.HighWater(ctx, "t2", central.Epoch{2}); err != nil || hw != 50 {
		t.Errorf("high water of the purged epoch: got %d %v, want 50", hw, err)
	}
	if hw, err := storetest.Ingest(ctx, s, "t2", central.Epoch{2}, storetest.Recs(40, 50, "b")); err != nil || hw != 50 {
		t.Errorf("resending purged records: got %d %v, want dropped as duplicates at 50", hw, err)
	}
	if got := len(storetest.All(t, s, central.Filter{Device: "t2"})); got != 0 {
		t.Errorf("resent purged records were stored again: %d", got)
	}
	if n, err := s.PurgeBefore(ctx, horizon); n != 0 || err != nil {
		t.Errorf("second purge: got %d %v, want 0", n, err)
	}
	if n, err := s.PurgeBefore(ctx, horizon.Add(24*time.Hour)); n != 200 || err != nil {
		t.Errorf("purge all: got %d %v, want 200", n, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check(t, path)
}

// TestPurgeBeforeBatches purges more records than one transaction takes.
func TestPurgeBeforeBatches(t *testing.T) {
	ctx := context.Background()
	s := open(t, filepath.Join(t.TempDir(), "central.db"))
	defer s.Close()
	const n = purgeBatch + 123
	for from := uint64(1); from <= n; from += 5000 {
		if _, err := storetest.Ingest(ctx, s, "t1", central.Epoch{1}, storetest.Recs(from, min(from+4999, n), "a")); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.PurgeBefore(ctx, time.Now().Add(100*365*24*time.Hour))
	if err != nil || got != n {
		t.Fatalf("purged %d %v, want %d", got, err, n)
	}
}
