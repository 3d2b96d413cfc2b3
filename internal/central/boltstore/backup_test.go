package boltstore

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"sentinel/internal/central"
	"sentinel/internal/central/storetest"
)

func TestBackupFile(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	path := filepath.Join(dir, "central.db")
	s := open(t, path)
	defer s.Close()
	recs := storetest.Recs(1, 300, "a")
	for i := range recs {
		recs[i].Hash = [32]byte{byte(i), 1}
	}
	if _, err := s.IngestLinked(ctx, "t1", central.Epoch{1}, recs, [][]byte{[]byte("key")}, func(central.Link) ([]central.Record, central.EngineStep, error) { return recs, nil, nil }); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	if err := os.Symlink(dir, filepath.Join(other, "link")); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		path    string
		wantErr bool
	}{
		{"new file", filepath.Join(dir, "backup.db"), false},
		{"over an old copy", filepath.Join(dir, "backup.db"), false},
		{"the store itself", path, true},
		{"the store through a symbolic link", filepath.Join(other, "link", "central.db"), true},
		{"missing directory", filepath.Join(dir, "no", "backup.db"), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n, err := s.BackupFile(ctx, tt.path)
			if (err != nil) != tt.wantErr {
				t.Fatalf("got %v, want error %v", err, tt.wantErr)
			}
			if tt.wantErr {
				return
			}
			if fi, err := os.Stat(tt.path); err != nil || fi.Size() != n {
				t.Fatalf("got a file of %v bytes (%v), want %d", fi.Size(), err, n)
			}
			check(t, tt.path)
			c := open(t, tt.path)
			defer c.Close()
			if l, err := c.Link(ctx, "t1", central.Epoch{1}); err != nil || l != (central.Link{Seq: 300, Hash: recs[299].Hash}) {
				t.Fatalf("got mark %+v (%v), want 300 with its hash", l, err)
			}
			if ps := storetest.All(t, c, central.Filter{}); len(ps) != 300 {
				t.Fatalf("got %d passages in the copy, want 300", len(ps))
			}
			if keys, err := c.Keys(ctx, "t1", central.Epoch{1}); err != nil || len(keys) != 1 {
				t.Fatalf("got %d keys (%v), want 1", len(keys), err)
			}
		})
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(left) != 0 {
		t.Errorf("got temporary files left %v, want none", left)
	}
}
