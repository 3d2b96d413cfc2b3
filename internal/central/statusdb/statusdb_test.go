package statusdb

import (
	"errors"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/status"
)

var t0 = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

func open(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "status.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func holder(t *testing.T, s string) credential.Holder {
	t.Helper()
	h, err := credential.ParseHolder(s)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestSetValidates(t *testing.T) {
	db := open(t)
	for _, tc := range []struct {
		name string
		r    Record
		want error
	}{
		{"native red", Record{Holder: holder(t, "ZJ:7"), Status: status.Red, Effective: t0}, nil},
		{"pseudonym withheld", Record{Holder: holder(t, "p:00112233445566778899aabbccddeeff"), Status: status.Withheld, Effective: t0}, nil},
		{"unknown holder", Record{Status: status.Red, Effective: t0}, ErrHolder},
		{"no status", Record{Holder: holder(t, "ZJ:7"), Effective: t0}, ErrRecord},
		{"no effective", Record{Holder: holder(t, "ZJ:7"), Status: status.Red}, ErrRecord},
		{"until before effective", Record{Holder: holder(t, "ZJ:7"), Status: status.Red, Effective: t0, Until: t0}, ErrRecord},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := db.Update(func(tx *Tx) error { _, _, err := tx.Set(tc.r); return err })
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSetReplacesAndRollsBack(t *testing.T) {
	db := open(t)
	h := holder(t, "HB-WH:42")
	red := Record{Holder: h, Status: status.Red, Effective: t0, Until: t0.Add(14 * 24 * time.Hour), Reason: 3, Note: "contact", SetAt: t0}
	green := Record{Holder: h, Status: status.Green, Effective: t0.Add(time.Hour), SetAt: t0.Add(time.Hour)}
	if err := db.Update(func(tx *Tx) error {
		_, had, err := tx.Set(red)
		if had {
			t.Error("first set: had a previous entry")
		}
		return err
	}); err != nil {
		t.Fatal(err)
	}
	err := db.Update(func(tx *Tx) error {
		prev, had, err := tx.Set(green)
		if err != nil {
			return err
		}
		if !had || prev.Status != status.Red || prev.Note != "contact" || !prev.Until.Equal(red.Until) {
			t.Errorf("previous: got %+v had %v, want the red entry", prev, had)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// A failed transaction (a refused publication) leaves the record unchanged.
	boom := errors.New("publish refused")
	err = db.Update(func(tx *Tx) error {
		if _, _, err := tx.Set(red); err != nil {
			return err
		}
		if _, err := tx.Revoke("URN:UVCI:01:XX", t0, time.Time{}); err != nil {
			return err
		}
		if err := tx.SetVersion(9); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want %v", err, boom)
	}
	db.View(func(tx *Tx) error {
		r, ok, err := tx.Get(h)
		if err != nil || !ok || r.Status != status.Green {
			t.Errorf("after rollback: got %+v %v %v, want green", r, ok, err)
		}
		if n, rev := tx.Counts(); n != 1 || rev != 0 || tx.Version() != 0 {
			t.Errorf("after rollback: got %d entries, %d revoked, version %d; want 1, 0, 0", n, rev, tx.Version())
		}
		return nil
	})
}

func TestBase(t *testing.T) {
	db := open(t)
	now := t0.Add(30 * 24 * time.Hour)
	recs := []Record{
		{Holder: holder(t, "ZJ:1"), Status: status.Red, Effective: now.Add(-time.Hour)},                                         // kept
		{Holder: holder(t, "ZJ:2"), Status: status.Red, Effective: now.Add(-8 * 24 * time.Hour)},                                // too old for native
		{Holder: holder(t, "ZJ:3"), Status: status.Yellow, Effective: now.Add(-2 * time.Hour), Until: now.Add(-time.Hour)},      // lapsed
		{Holder: holder(t, "p:00112233445566778899aabbccddeeff"), Status: status.Red, Effective: now.Add(-20 * 24 * time.Hour)}, // pseudonyms stay
	}
	err := db.Update(func(tx *Tx) error {
		for _, r := range recs {
			if _, _, err := tx.Set(r); err != nil {
				return err
			}
		}
		if ok, err := tx.Revoke("URN:UVCI:01:AT:1", now, time.Time{}); !ok || err != nil {
			t.Errorf("revoke: got %v %v, want true", ok, err)
		}
		if ok, err := tx.Revoke("URN:UVCI:01:AT:1", now, time.Time{}); ok || err != nil {
			t.Errorf("revoke again: got %v %v, want false", ok, err)
		}
		return tx.SetVersion(5)
	})
	if err != nil {
		t.Fatal(err)
	}
	var payload []byte
	db.View(func(tx *Tx) error {
		if tx.Version() != 5 {
			t.Errorf("version: got %d, want 5", tx.Version())
		}
		b, err := tx.Base(now, BaseOptions{})
		if err != nil {
			t.Fatal(err)
		}
		payload, err = b.MarshalBase()
		return err
	})
	p, err := status.ParseBase(payload)
	if err != nil {
		t.Fatal(err)
	}
	if c := p.Counts(); c.Native != 1 || c.Pseudonyms != 1 || c.Revoked != 1 {
		t.Errorf("base counts: got %+v, want 1 native, 1 pseudonym, 1 revoked", c)
	}
}

func TestOpenWaitsForTheHolder(t *testing.T) {
	path := filepath.Join(t.TempDir(), "status.db")
	db, err := Open(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := Open(path, 50*time.Millisecond); err == nil || !strings.Contains(err.Error(), "wait and retry") {
		t.Fatalf("second open: got %v, want a timeout that says to wait and retry", err)
	}
}

// BenchmarkBase rebuilds a base payload from a record of 100,000 native
// entries.
func BenchmarkBase(b *testing.B) {
	db, err := Open(filepath.Join(b.TempDir(), "status.db"), 0)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	const n = 100_000
	err = db.Update(func(tx *Tx) error {
		for i := range n {
			h := credential.Holder{Kind: credential.HolderNative, Issuer: "ZJ", Index: uint32(i * 37)}
			if _, _, err := tx.Set(Record{Holder: h, Status: status.Red, Effective: t0.Add(-time.Duration(i) * time.Second), Reason: 1}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for range b.N {
		var size int
		err := db.View(func(tx *Tx) error {
			bl, err := tx.Base(t0, BaseOptions{})
			if err != nil {
				return err
			}
			p, err := bl.MarshalBase()
			size = len(p)
			return err
		})
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(size), "payload-bytes")
	}
}

// TestRevocationLapses: a revocation with an end is left out of every base
// published after it, and counted by LapsedBetween once; one recorded
// before revocations could lapse (the binary time alone) still reads and
// never lapses.
func TestRevocationLapses(t *testing.T) {
	db := open(t)
	end := t0.Add(10 * 24 * time.Hour)
	err := db.Update(func(tx *Tx) error {
		if _, err := tx.Revoke("URN:UVCI:01:AT:LAPSES", t0, end); err != nil {
			return err
		}
		if _, err := tx.Revoke("URN:UVCI:01:AT:BAD", t0, t0.Add(-time.Hour)); !errors.Is(err, ErrRecord) {
			t.Errorf("until before revoked: got %v, want ErrRecord", err)
		}
		// The old format: the binary time alone.
		v, _ := t0.MarshalBinary()
		return tx.tx.Bucket(bucketRevoked).Put([]byte("URN:UVCI:01:AT:OLD"), v)
	})
	if err != nil {
		t.Fatal(err)
	}
	revoked := func(at time.Time) []string {
		t.Helper()
		var out []string
		err := db.View(func(tx *Tx) error {
			b, err := tx.Base(at, BaseOptions{})
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
			l, err := status.New(status.Options{})
			if err != nil {
				return err
			}
			if err := l.ApplyBasePayload(1, p); err != nil {
				return err
			}
			for _, u := range []string{"URN:UVCI:01:AT:LAPSES", "URN:UVCI:01:AT:OLD"} {
				if l.Revoked(u) {
					out = append(out, u)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return out
	}
	if got := revoked(end.Add(-time.Second)); len(got) != 2 {
		t.Errorf("before the end: got %v revoked, want both", got)
	}
	if got := revoked(end); len(got) != 1 || got[0] != "URN:UVCI:01:AT:OLD" {
		t.Errorf("at the end: got %v revoked, want only the one without an end", got)
	}
	db.View(func(tx *Tx) error {
		if _, n, err := tx.LapsedBetween(t0, end.Add(-time.Second)); n != 0 || err != nil {
			t.Errorf("lapsed before the end: got %d %v, want 0", n, err)
		}
		if _, n, err := tx.LapsedBetween(end.Add(-time.Second), end); n != 1 || err != nil {
			t.Errorf("lapsed across the end: got %d %v, want 1", n, err)
		}
		return nil
	})
}
