package main

import (
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// handToDataDirOwner gives what this command wrote under the terminal's data
// directory to the directory's owner.
//
// The installer runs sentinelctl as root (docs/install.md), while sentineld
// runs as the unprivileged user that owns the data directory (the unit's
// User=sentinel). Files that enrol, calibrate or salvage leave owned by root
// (a 0600 device key, a 0700 device directory) would stop the daemon at its
// next start with "permission denied". So when the command runs as root and
// the directory belongs to someone else, every entry under it that root owns
// is handed to that owner. As any other user it does nothing: the files are
// the caller's, as they should be.
//
// It returns the uid the files were given to (-1 when nothing was done).
func handToDataDirOwner(dir string) (int, error) {
	if os.Geteuid() != 0 {
		return -1, nil
	}
	st, err := os.Stat(dir)
	if err != nil {
		return -1, err
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok || sys.Uid == 0 {
		return -1, nil
	}
	uid, gid := int(sys.Uid), int(sys.Gid)
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		if s, ok := info.Sys().(*syscall.Stat_t); ok && s.Uid == 0 {
			if err := os.Lchown(path, uid, gid); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return -1, fmt.Errorf("giving %s to its owner (uid %d), the user sentineld runs as: %w; run 'chown -R %d:%d %s'", dir, uid, err, uid, gid, dir)
	}
	return uid, nil
}
