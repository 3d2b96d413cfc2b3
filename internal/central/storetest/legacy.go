package storetest

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/status"
)

// ImportFunc imports the former status record of a data directory into a
// store (boltstore.ImportLegacyStatus).
type ImportFunc func(ctx context.Context, dataDir string, st central.StatusStore) error

// LegacyStatus checks the import of the former status record (the file
// boltstore/testdata/legacy-status/status.db, written by the release
// before) into s: the file's entries, revocations and version arrive; what
// s already held in a later form stays; the file is renamed and a second
// import changes nothing.
func LegacyStatus(t *testing.T, s central.Store, legacyFile string, imp ImportFunc) {
	t.Helper()
	ctx := context.Background()
	raw, err := os.ReadFile(legacyFile)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "status.db")
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	t0 := time.Date(2026, 11, 20, 8, 30, 0, 0, time.UTC)
	// Already in the store: a later change of HB-WH:7, one revocation,
	// a lower version.
	later := central.StatusEntry{Holder: Holder(t, "HB-WH:7"), Status: status.Green, Effective: t0.Add(48 * time.Hour), Reason: 4,
		Source: "ops:carol", SetAt: t0.Add(48 * time.Hour)}
	err = s.UpdateStatus(ctx, func(tx central.StatusTx) error {
		if _, _, err := tx.SetStatus(ctx, later); err != nil {
			return err
		}
		if _, err := tx.Revoke(ctx, "URN:UVCI:01:DE:LAPSES", t0.Add(time.Hour), t0.Add(400*24*time.Hour)); err != nil {
			return err
		}
		return tx.SetVersion(ctx, 3)
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := imp(ctx, dir, s); err != nil {
		t.Fatalf("import: %v", err)
	}
	if _, err := os.Stat(path); !os.IsNotExist(err) {
		t.Errorf("status.db after the import: got %v, want it renamed", err)
	}
	if _, err := os.Stat(path + ".imported"); err != nil {
		t.Errorf("status.db.imported: %v", err)
	}
	want := []central.StatusEntry{
		later,
		{Holder: Holder(t, "ZJ:1024"), Status: status.Yellow, Effective: t0, Until: t0.Add(7 * 24 * time.Hour), Reason: 1, Note: "trace of case 17", SetAt: t0},
		{Holder: Holder(t, "p:00112233445566778899aabbccddeeff"), Status: status.Withheld, Effective: t0.Add(2 * time.Hour), Reason: 9, SetAt: t0.Add(2 * time.Hour)},
	}
	wantRevs := []central.Revocation{
		{UCI: "URN:UVCI:01:AT:OLDFORM", RevokedAt: t0},
		{UCI: "URN:UVCI:01:DE:LAPSES", RevokedAt: t0.Add(time.Hour), Until: t0.Add(400 * 24 * time.Hour)},
	}
	check := func(when string) {
		t.Helper()
		err := s.ViewStatus(ctx, func(r central.StatusReader) error {
			n, _, err := r.Counts(ctx)
			if err != nil || n != len(want) {
				t.Errorf("%s: got %d entries (%v), want %d", when, n, err, len(want))
			}
			for _, w := range want {
				got, ok, err := r.Status(ctx, w.Holder)
				if !ok || err != nil || !sameStatus(got, w) {
					t.Errorf("%s: %s: got %+v %v %v, want %+v", when, w.Holder, got, ok, err, w)
				}
			}
			var i int
			for rv, err := range r.Revocations(ctx) {
				if err != nil {
					return err
				}
				if i >= len(wantRevs) || rv.UCI != wantRevs[i].UCI || !rv.RevokedAt.Equal(wantRevs[i].RevokedAt) || !rv.Until.Equal(wantRevs[i].Until) {
					t.Errorf("%s: revocation %d: got %+v, want %+v", when, i, rv, wantRevs[min(i, len(wantRevs)-1)])
				}
				i++
			}
			if i != len(wantRevs) {
				t.Errorf("%s: got %d revocations, want %d", when, i, len(wantRevs))
			}
			if v, err := r.Version(ctx); v != 7 || err != nil {
				t.Errorf("%s: version: got %d %v, want the file's 7", when, v, err)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	check("after the import")
	// A second start finds no file and changes nothing.
	if err := imp(ctx, dir, s); err != nil {
		t.Fatalf("second import: %v", err)
	}
	check("after a second start")
	// The base rebuilt from the store carries the imported statuses.
	err = s.ViewStatus(ctx, func(r central.StatusReader) error {
		b, err := central.BuildBase(ctx, r, t0.Add(3*time.Hour), central.BaseOptions{})
		if err != nil {
			return err
		}
		payload, err := b.MarshalBase()
		if err != nil {
			return err
		}
		p, err := status.ParseBase(payload)
		if err != nil {
			return err
		}
		if c := p.Counts(); c.Native != 2 || c.Pseudonyms != 1 || c.Revoked != 2 {
			t.Errorf("base: got %+v, want 2 native, 1 pseudonym and 2 revocations", c)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
