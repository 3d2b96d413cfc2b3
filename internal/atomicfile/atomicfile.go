// Package atomicfile replaces files so that a crash or power cut at any
// instant leaves either the old content or the whole new one: the data goes
// to a temporary file beside the target, is synced, renamed over the
// target, and the directory is synced so that the rename itself is durable.
//
// Terminals run on SD cards and lose power without warning; every piece of
// state Sentinel writes outside bbolt (bundles, keys, calibration, the token
// store) goes through WriteFile.
package atomicfile

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
)

// WriteFile atomically replaces path with data, with permissions perm. The
// directory is created if it is missing. When path already holds exactly
// data, nothing is written: an SD card wears with every write.
func WriteFile(path string, data []byte, perm os.FileMode) (err error) {
	if old, err := os.ReadFile(path); err == nil && bytes.Equal(old, data) {
		return nil
	}
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
			err = fmt.Errorf("write %s: %w", path, err)
		}
	}()
	if err := f.Chmod(perm); err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		return err
	}
	if err := f.Sync(); err != nil {
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp, path); err != nil {
		return err
	}
	return SyncDir(dir)
}

// SyncDir syncs directory dir, so that a rename, a new file or a removal
// in it survives a power cut.
func SyncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("sync directory %s: %w", dir, err)
	}
	return nil
}
