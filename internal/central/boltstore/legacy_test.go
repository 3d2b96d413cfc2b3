package boltstore

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sentinel/internal/central"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/storetest"
)

const legacyFixture = "testdata/legacy-status/status.db"

func importLegacy(ctx context.Context, dir string, st central.StatusStore) error {
	_, err := ImportLegacyStatus(ctx, dir, st)
	return err
}

// TestImportLegacyStatus: a status.db of the release before is imported
// into central.db (and, by the same function, into any store) once.
func TestImportLegacyStatus(t *testing.T) {
	t.Run("bbolt", func(t *testing.T) {
		s, err := Open(filepath.Join(t.TempDir(), "central.db"), nil)
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		storetest.LegacyStatus(t, s, legacyFixture, importLegacy)
	})
	t.Run("memstore", func(t *testing.T) {
		storetest.LegacyStatus(t, memstore.New(nil), legacyFixture, importLegacy)
	})
}

// TestImportLegacyStatusRefusesDamage: a file that is not a status record
// imports nothing and stays where it is.
func TestImportLegacyStatusRefusesDamage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, LegacyStatusFile)
	if err := os.WriteFile(path, []byte("not a bbolt file"), 0o600); err != nil {
		t.Fatal(err)
	}
	st := memstore.New(nil)
	_, err := ImportLegacyStatus(context.Background(), dir, st)
	if err == nil || !strings.Contains(err.Error(), "move it aside") {
		t.Fatalf("got %v, want a refusal that says what to do", err)
	}
	if _, err := os.Stat(path); err != nil {
		t.Errorf("the damaged file: %v, want it left in place", err)
	}
	if n, _, _ := countEntries(st); n != 0 {
		t.Errorf("got %d entries, want none", n)
	}
}

func countEntries(st central.StatusStore) (n, r int, err error) {
	ctx := context.Background()
	err = st.ViewStatus(ctx, func(rd central.StatusReader) error {
		n, r, err = rd.Counts(ctx)
		return err
	})
	return n, r, err
}
