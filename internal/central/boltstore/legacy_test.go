package boltstore

import (
	"context"
	"errors"
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

// FuzzDecodeStatus feeds arbitrary keys and values to the decoders of
// stored entries and revocations (the former status.db's, read at its
// import): they decode or refuse with ErrStatusDamaged, never crash, and
// what decodes encodes back to the same entry.
func FuzzDecodeStatus(f *testing.F) {
	f.Add([]byte("ZJ:1024"), []byte(`{"status":"yellow","effective":"2026-11-20T08:30:00Z","until":"2026-11-27T08:30:00Z","reason":1,"note":"trace","set_at":"2026-11-20T08:30:00Z"}`))
	f.Add([]byte("p:00112233445566778899aabbccddeeff"), []byte(`{"status":"withheld","effective":"2026-11-20T10:30:00Z","reason":9,"set_at":"2026-11-20T10:30:00Z"}`))
	f.Add([]byte("URN:UVCI:01:DE:X"), []byte(`{"revoked_at":"2026-11-20T08:30:00Z","until":"2027-09-16T08:30:00Z"}`))
	f.Add([]byte("URN:UVCI:01:AT:OLD"), []byte{1, 0, 0, 0, 14, 224, 200, 115, 8, 0, 0, 0, 0, 255, 255})
	f.Add([]byte("Zhang San"), []byte(`{"status":"red"}`))
	f.Add([]byte("ZJ:1"), []byte(`{"status":"purple","effective":"2026-11-20T08:30:00Z"}`))
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, key, val []byte) {
		e, err := decodeStatus(key, val)
		if err != nil {
			if !errors.Is(err, central.ErrStatusDamaged) {
				t.Fatalf("decodeStatus: got %v, want ErrStatusDamaged", err)
			}
		} else {
			b, err := encodeStatus(e)
			if err != nil {
				t.Fatalf("encode %+v: %v", e, err)
			}
			again, err := decodeStatus([]byte(e.Holder.String()), b)
			if err != nil || again.Holder != e.Holder || again.Status != e.Status || !again.Effective.Equal(e.Effective) || again.Note != e.Note {
				t.Fatalf("round trip: got %+v %v, want %+v", again, err, e)
			}
		}
		if _, err := decodeRevocation(key, val); err != nil && !errors.Is(err, central.ErrStatusDamaged) {
			t.Fatalf("decodeRevocation: got %v, want ErrStatusDamaged", err)
		}
	})
}
