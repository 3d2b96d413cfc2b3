package boltstore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/storetest"
)

// TestCompact: bytes of purged passages stay in the file after the purge
// (bbolt frees pages without overwriting them); Compact rewrites the file
// without them, keeps every live passage and the marks, and refuses while
// the store is open.
func TestCompact(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "central.db")
	s := open(t, path)
	recs := storetest.Recs(1, 300, "kept")
	if _, err := storetest.Ingest(ctx, s, "t1", central.Epoch{1}, recs); err != nil {
		t.Fatal(err)
	}
	if _, err := storetest.Ingest(ctx, s, "t2", central.Epoch{2}, storetest.Recs(1, 50, "purged-secret")); err != nil {
		t.Fatal(err)
	}
	if n, err := s.PurgeBefore(ctx, recs[100].Time); err != nil || n != 150 {
		t.Fatalf("purge: %d, %v; want 150", n, err)
	}
	if _, _, err := Compact(path, 100*time.Millisecond); err == nil {
		t.Fatal("Compact of a store in use: got no error")
	}
	s.Close()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(raw, []byte("purged-secret")) {
		t.Log("the purged records' bytes were already overwritten before Compact")
	}

	before, after, err := Compact(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	raw, err = os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(raw, []byte("purged-secret")) {
		t.Error("the purged records' bytes are still in the file after Compact")
	}
	if after >= before || int64(len(raw)) != after {
		t.Errorf("size %d before, %d after (file %d): want it smaller", before, after, len(raw))
	}
	if _, err := os.Stat(path + ".compact-tmp"); !os.IsNotExist(err) {
		t.Errorf("the temporary file is left: %v", err)
	}
	s = open(t, path)
	if got := len(storetest.All(t, s, central.Filter{})); got != 200 {
		t.Errorf("after Compact: %d passages, want 200", got)
	}
	if hw, err := s.HighWater(ctx, "t2", central.Epoch{2}); err != nil || hw != 50 {
		t.Errorf("after Compact: t2's mark %d, %v; want 50", hw, err)
	}
}
