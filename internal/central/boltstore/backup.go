package boltstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
)

// BackupFile writes a consistent copy of the store to the file path while
// the store keeps serving, as `sentinel-central backup` does: it writes a
// temporary file beside path, syncs it, renames it over path and syncs the
// directory, so that path holds either the old copy or the whole new one.
// It returns the number of bytes written.
func (s *Store) BackupFile(ctx context.Context, path string) (int64, error) {
	abs, err1 := filepath.Abs(path)
	own, err2 := filepath.Abs(s.db.Path())
	same := err1 == nil && err2 == nil && abs == own
	if fi, err := os.Stat(path); err == nil {
		if st, err := os.Stat(s.db.Path()); err == nil && os.SameFile(fi, st) {
			same = true // through a symbolic or hard link
		}
	}
	if same {
		return 0, fmt.Errorf("boltstore: backup to %s: that is the store itself: name another file", path)
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*")
	if err != nil {
		return 0, fmt.Errorf("boltstore: backup to %s: %w", path, err)
	}
	tmp := f.Name()
	n, err := s.Backup(ctx, f)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, path)
	}
	if err != nil {
		os.Remove(tmp)
		return n, fmt.Errorf("boltstore: backup to %s: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		err = d.Sync()
		d.Close()
		if err != nil {
			return n, fmt.Errorf("boltstore: backup to %s: sync directory: %w", path, err)
		}
	}
	return n, nil
}
