package boltstore

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"sentinel/internal/central"
	"sentinel/internal/central/storetest"
)

// open opens a store in a temporary directory whose cleanup checks the
// file's consistency.
func open(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(path, &Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func check(t *testing.T, path string) {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: 1})
	if err != nil {
		t.Fatalf("consistency check: %v", err)
	}
	defer db.Close()
	if err := db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		t.Errorf("consistency check of %s: %v", path, err)
	}
}

func TestConformance(t *testing.T) {
	storetest.Run(t, storetest.Harness{
		New: func(t *testing.T) central.Store {
			path := filepath.Join(t.TempDir(), "central.db")
			t.Cleanup(func() { check(t, path) })
			return open(t, path)
		},
		Reopen: func(t *testing.T, s central.Store) central.Store {
			path := s.(*Store).Path()
			if err := s.Close(); err != nil {
				t.Fatal(err)
			}
			return open(t, path)
		},
	})
}

func TestOpenLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "central.db")
	s := open(t, path)
	defer s.Close()
	if s2, err := Open(path, &Options{Timeout: 1}); err == nil {
		s2.Close()
		t.Fatal("Open of a file another store holds: got no error")
	}
}

func TestBackupWhileServing(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "central.db")
	s := open(t, path)
	defer s.Close()
	if _, err := storetest.Ingest(ctx, s, "t1", central.Epoch{1}, storetest.Recs(1, 500, "a")); err != nil {
		t.Fatal(err)
	}
	// Ingest keeps running during the backup; the copy holds a consistent
	// prefix of it.
	done := make(chan error)
	go func() {
		var err error
		for i := uint64(0); i < 20 && err == nil; i++ {
			_, err = storetest.Ingest(ctx, s, "t1", central.Epoch{1}, storetest.Recs(501+i*10, 510+i*10, "b"))
		}
		done <- err
	}()
	var buf bytes.Buffer
	n, err := s.Backup(ctx, &buf)
	if err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n != int64(buf.Len()) {
		t.Errorf("Backup: got n=%d, wrote %d bytes", n, buf.Len())
	}
	copyPath := filepath.Join(t.TempDir(), "copy.db")
	if err := os.WriteFile(copyPath, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	check(t, copyPath)
	c := open(t, copyPath)
	defer c.Close()
	hw, err := c.HighWater(ctx, "t1", central.Epoch{1})
	if err != nil || hw < 500 || hw > 700 || (hw-500)%10 != 0 {
		t.Fatalf("HighWater of the copy: got %d, %v; want 500..700 on a batch boundary", hw, err)
	}
	ps := storetest.All(t, c, central.Filter{})
	if uint64(len(ps)) != hw {
		t.Fatalf("Passages of the copy: got %d, want %d", len(ps), hw)
	}
	ctxDone, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Backup(ctxDone, &bytes.Buffer{}); err == nil {
		t.Error("Backup with a cancelled context: got no error")
	}
}

func TestRecordRoundTrip(t *testing.T) {
	for _, r := range append(storetest.Recs(1, 10, "x"), central.Record{Seq: 99, Stored: []byte{0}, Time: storetest.Recs(1, 1, "")[0].Time}) {
		got, err := decodeRecord(r.Seq, appendRecord(nil, &r))
		if err != nil {
			t.Fatal(err)
		}
		if !got.Time.Equal(r.Time) || got.Site != r.Site || got.Holder != r.Holder || got.Decision != r.Decision ||
			!slices.Equal(got.Reasons, r.Reasons) || !bytes.Equal(got.Stored, r.Stored) {
			t.Errorf("round trip of seq %d: got %+v, want %+v", r.Seq, got, r)
		}
	}
}

func FuzzDecodeRecord(f *testing.F) {
	for _, r := range storetest.Recs(1, 5, "seed") {
		f.Add(appendRecord(nil, &r))
	}
	f.Add([]byte{1, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff})
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeRecord(7, b)
		if err != nil {
			return
		}
		// Whatever decodes re-encodes to the same bytes, apart from a nil
		// versus empty reason list, which encode alike.
		if got := appendRecord(nil, &r); !bytes.Equal(got, b) {
			t.Fatalf("re-encoding: got %x, want %x", got, b)
		}
	})
}

func TestLastSeenFromClock(t *testing.T) {
	now := time.Date(2026, 11, 29, 8, 30, 0, 0, time.UTC)
	s, err := Open(filepath.Join(t.TempDir(), "central.db"), &Options{Now: func() time.Time { return now }, NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if _, err := storetest.Ingest(context.Background(), s, "t1", central.Epoch{1}, storetest.Recs(1, 2, "a")); err != nil {
		t.Fatal(err)
	}
	ds, err := s.Devices(context.Background())
	if err != nil || len(ds) != 1 || !ds[0].LastSeen.Equal(now) {
		t.Fatalf("Devices: got %+v, %v; want t1 last seen %v", ds, err, now)
	}
}

// TestOldMarksAndRecords reads a file written before the chain hash was
// kept: 8-byte marks and version 1 records.
func TestOldMarksAndRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "central.db")
	s := open(t, path)
	ctx := context.Background()
	ep := central.Epoch{1}
	rec := central.Record{Seq: 1, Stored: []byte("r1"), Time: time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC), Site: "gate-1", Holder: "ZJ:1", Decision: "admit", Reasons: []string{"ok"}}
	v1 := appendRecord(nil, &rec)
	v1 = v1[:len(v1)-1] // drop the empty break
	v1[0] = 1
	if err := s.db.Update(func(tx *bolt.Tx) error {
		d, err := tx.Bucket(bucketDevices).CreateBucket([]byte("t1"))
		if err != nil {
			return err
		}
		m, _ := d.CreateBucket(bucketMarks)
		e, _ := d.CreateBucket(bucketEpochs)
		eb, _ := e.CreateBucket(ep[:])
		if err := eb.Put(be64(1), v1); err != nil {
			return err
		}
		return m.Put(ep[:], be64(1))
	}); err != nil {
		t.Fatal(err)
	}
	if l, err := s.Link(ctx, "t1", ep); err != nil || l != (central.Link{Seq: 1}) {
		t.Fatalf("got %+v (%v), want seq 1 without a hash", l, err)
	}
	got := storetest.All(t, s, central.Filter{})
	if len(got) != 1 || !bytes.Equal(got[0].Stored, rec.Stored) || got[0].Holder != "ZJ:1" || got[0].Break != "" {
		t.Fatalf("got %+v, want the version 1 record", got)
	}
	rec.Seq, rec.Hash, rec.Stored = 2, [32]byte{7}, []byte("r2")
	if hw, err := storetest.Ingest(ctx, s, "t1", ep, []central.Record{rec}); err != nil || hw != 2 {
		t.Fatalf("got %d (%v), want 2", hw, err)
	}
	if l, _ := s.Link(ctx, "t1", ep); l != (central.Link{Seq: 2, Hash: [32]byte{7}}) {
		t.Fatalf("got %+v, want seq 2 with its hash", l)
	}
	s.Close()
	check(t, path)
}
