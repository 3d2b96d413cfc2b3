package boltstore

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"
	bolterrors "go.etcd.io/bbolt/errors"

	"sentinel/internal/atomicfile"
)

// compactTxSize bounds the bytes one transaction of Compact copies.
const compactTxSize = 64 << 20

// Compact rewrites the store file at path without its free pages and
// returns its size before and after. bbolt reuses the pages that deletes
// free (a purge, an expiry) but does not overwrite them: the bytes of a
// purged passage can stay in the file, and in every copy of it, until the
// pages are written again. Compact copies the live data into a new file
// beside path (path.compact-tmp), syncs it and renames it over path while
// it still holds the old file's lock, so that no other process writes to
// the old file meanwhile; the old file's blocks are then free in the file
// system, which may keep their bytes until it reuses them.
//
// The store must not be open: Compact takes the file's lock and fails
// after timeout (5 seconds when 0) while a server or a command holds it.
func Compact(path string, timeout time.Duration) (before, after int64, err error) {
	if timeout == 0 {
		timeout = 5 * time.Second
	}
	fi, err := os.Stat(path)
	if err != nil {
		return 0, 0, fmt.Errorf("boltstore: compact %s: %w", path, err)
	}
	before = fi.Size()
	// openLocked, not bolt.Open: a compaction that waited for the lock
	// while another one renamed its file over path must copy that file,
	// not the old one, or its rename would throw away what a server
	// started meanwhile wrote to the new one.
	src, err := openLocked(path, &bolt.Options{Timeout: timeout, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, bolterrors.ErrTimeout) {
			err = fmt.Errorf("%w: stop the server first", err)
		}
		return before, 0, fmt.Errorf("boltstore: compact %s: %w (is a sentinel-central using it?)", path, err)
	}
	defer src.Close()
	if fi, err := os.Stat(path); err == nil {
		before = fi.Size()
	}
	tmp := path + ".compact-tmp"
	if err := os.Remove(tmp); err != nil && !errors.Is(err, os.ErrNotExist) {
		return before, 0, fmt.Errorf("boltstore: compact %s: remove the leftover %s: %w", path, tmp, err)
	}
	dst, err := bolt.Open(tmp, 0o600, &bolt.Options{Timeout: timeout, FreelistType: bolt.FreelistMapType})
	if err == nil {
		err = bolt.Compact(dst, src, compactTxSize)
		if cerr := dst.Close(); err == nil {
			err = cerr
		}
	}
	if err == nil {
		// The new file is the store: the server's user must open it
		// whoever ran the compaction (root, following docs/central.md).
		var fi os.FileInfo
		if fi, err = os.Stat(path); err == nil {
			err = sameOwner(tmp, fi)
		}
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return before, 0, fmt.Errorf("boltstore: compact %s: %w (the store is unchanged)", path, err)
	}
	if err := atomicfile.SyncDir(filepath.Dir(path)); err != nil {
		return before, 0, fmt.Errorf("boltstore: compact %s: %w", path, err)
	}
	if fi, err := os.Stat(path); err == nil {
		after = fi.Size()
	}
	return before, after, nil
}
