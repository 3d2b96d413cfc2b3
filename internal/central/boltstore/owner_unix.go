//go:build unix

package boltstore

import (
	"os"
	"syscall"
)

// sameOwner gives the file at path the owner, group and permissions of
// fi: a compaction run as root must leave a store that the server's own
// user can still open.
func sameOwner(path string, fi os.FileInfo) error {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		if err := os.Chown(path, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	return os.Chmod(path, fi.Mode().Perm())
}
