package boltstore

import (
	"context"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"sentinel/internal/central"
	"sentinel/internal/central/storetest"
	"sentinel/internal/status"
)

// TestHeldIndexBuiltOnOpen: a file whose statuses were written before the
// index of held entries existed gets it when it is opened; until then a
// read of HeldBy reads every entry.
func TestHeldIndexBuiltOnOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "central.db")
	s := open(t, path)
	t0 := time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)
	err := s.UpdateStatus(ctx, func(tx central.StatusTx) error {
		for i, st := range []status.Status{status.Red, status.Green, status.Yellow, status.Withheld} {
			e := central.StatusEntry{Holder: storetest.Holder(t, "ZJ:"+string(rune('1'+i))), Status: st, Effective: t0,
				Until: t0.Add(time.Duration(i+1) * 24 * time.Hour), Source: "engine", SetAt: t0}
			if _, _, err := tx.SetStatus(ctx, e); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// As an older build left it: no index.
	if err := s.db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketStatusHeld) }); err != nil {
		t.Fatal(err)
	}
	held := func(s *Store) []string {
		t.Helper()
		var out []string
		err := s.ViewStatus(ctx, func(r central.StatusReader) error {
			for e, err := range r.HeldBy(ctx, "engine", t0.Add(36*time.Hour)) {
				if err != nil {
					return err
				}
				out = append(out, e.Holder.String())
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	want := []string{"ZJ:3", "ZJ:4"}
	if got := held(s); !slices.Equal(got, want) {
		t.Errorf("without the index: %q, want %q", got, want)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = open(t, path)
	defer s.Close()
	if err := s.db.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketStatusHeld) == nil {
			t.Error("the index was not built on open")
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if got := held(s); !slices.Equal(got, want) {
		t.Errorf("with the index built on open: %q, want %q", got, want)
	}
}
