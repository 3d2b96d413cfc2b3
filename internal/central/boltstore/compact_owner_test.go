//go:build unix

package boltstore

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// TestCompactKeepsOwner: following docs/central.md, ops compact as root
// a store that serve opens as its own user: the compacted file keeps the
// store's owner, group and permissions. Before, it was root's with mode
// 0600, and serve could no longer open it.
func TestCompactKeepsOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root to give the store another owner")
	}
	path := filepath.Join(t.TempDir(), "central.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	const uid, gid = 4321, 4322
	if err := os.Chown(path, uid, gid); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o640); err != nil {
		t.Fatal(err)
	}
	if _, _, err := Compact(path, 0); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	if st.Uid != uid || st.Gid != gid || fi.Mode().Perm() != 0o640 {
		t.Errorf("compacted store: owner %d:%d, mode %v; want %d:%d, %v (the store's, which serve opens as its user)",
			st.Uid, st.Gid, fi.Mode().Perm(), uid, gid, os.FileMode(0o640))
	}
}
