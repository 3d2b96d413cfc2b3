package main

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/server"
	"sentinel/internal/central/storetest"
)

// TestCompactCommand: compact refuses while the store is open, with what
// to do, and rewrites it once it is not, keeping every passage.
func TestCompactCommand(t *testing.T) {
	ctx := context.Background()
	data := t.TempDir()
	st, err := boltstore.Open(filepath.Join(data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	recs := storetest.Recs(1, 200, "c")
	if _, err := storetest.Ingest(ctx, st, "T-1", central.Epoch{1}, recs); err != nil {
		t.Fatal(err)
	}
	if _, err := st.PurgeBefore(ctx, recs[150].Time); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := runCLI("compact", "--data", data)
	if code != exitRefused || !strings.Contains(errOut, "stop it") {
		t.Fatalf("compact while the store is open: exit %d %q; want 1 and what to do", code, errOut)
	}
	st.Close()
	code, out, errOut := runCLI("compact", "--data", data, "--json")
	if code != exitOK {
		t.Fatalf("compact: exit %d %s", code, errOut)
	}
	var rep struct {
		BytesBefore int64 `json:"bytes_before"`
		BytesAfter  int64 `json:"bytes_after"`
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("compact --json: %v: %s", err, out)
	}
	if rep.BytesAfter <= 0 || rep.BytesAfter >= rep.BytesBefore {
		t.Errorf("compact: %d bytes before, %d after; want fewer", rep.BytesBefore, rep.BytesAfter)
	}
	st, err = boltstore.Open(filepath.Join(data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if got := len(storetest.All(t, st, central.Filter{})); got != 50 {
		t.Errorf("after compact: %d passages, want 50", got)
	}
}
