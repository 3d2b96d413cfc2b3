package boltstore

import (
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// TestCompactWaitingForAnother: a compaction that waited for the store's
// lock while another compaction renamed its new file over the store
// copies that new file, not the old one it first opened. Before, it
// copied the old file and renamed the copy over the store, throwing away
// what had been written to the new file meanwhile (a serve started
// between the two compactions: its passages were lost at its restart).
func TestCompactWaitingForAnother(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("watches /proc/self/fd to see the compaction wait for the lock")
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "central.db")
	put := func(p, key string) {
		t.Helper()
		db, err := bolt.Open(p, 0o600, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		err = db.Update(func(tx *bolt.Tx) error {
			b, err := tx.CreateBucketIfNotExists([]byte("b"))
			if err != nil {
				return err
			}
			return b.Put([]byte(key), []byte("v"))
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	put(path, "old")
	// The first compaction holds the old file's lock.
	holder, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, _, err := Compact(path, 30*time.Second)
		done <- err
	}()
	// Wait until the second compaction has the old file open (it then
	// polls for the lock).
	old, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(20 * time.Second); openCount(t, old) < 2; {
		if time.Now().After(deadline) {
			t.Fatal("the compaction never opened the store")
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The first compaction renames its file over the store, then a serve
	// writes to it; the first compaction lets go of the old file.
	put(path+".new", "old")
	if err := os.Rename(path+".new", path); err != nil {
		t.Fatal(err)
	}
	put(path, "written-after-the-first-compaction")
	if err := holder.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *bolt.Tx) error {
		if tx.Bucket([]byte("b")).Get([]byte("written-after-the-first-compaction")) == nil {
			t.Error("the second compaction copied the replaced file: what was written to the new one is lost")
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// openCount counts this process's open descriptors of the file fi.
func openCount(t *testing.T, fi os.FileInfo) int {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range ents {
		if st, err := os.Stat(filepath.Join("/proc/self/fd", e.Name())); err == nil && os.SameFile(st, fi) {
			n++
		}
	}
	return n
}
