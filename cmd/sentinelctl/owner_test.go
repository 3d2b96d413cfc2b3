package main

import (
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"
)

// The installer enrols as root, but sentineld runs as the user that owns the
// data directory: what enrol writes must be that user's, or the daemon cannot
// read its own key.
func TestEnrolAsRootGivesFilesToDataDirOwner(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: the installer's case is enrol run as root into a directory the daemon's user owns")
	}
	const uid, gid = 4242, 4243 // sentinel:sentinel on a real terminal
	c := newEnrolCentre(t)
	data := filepath.Join(t.TempDir(), "sentinel")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(data, uid, gid); err != nil {
		t.Fatal(err)
	}
	if code, _, errOut := runCmd(t, "enrol", "--token", c.ticket(t).String(), "--data-dir", data); code != exitOK {
		t.Fatalf("enrol: exit %d: %s", code, errOut)
	}
	n := 0
	err := filepath.WalkDir(data, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		st := info.Sys().(*syscall.Stat_t)
		if st.Uid != uid || st.Gid != gid {
			t.Errorf("%s is owned by %d:%d, want the data directory's owner %d:%d", path, st.Uid, st.Gid, uid, gid)
		}
		n++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if n < 4 {
		t.Fatalf("walked %d entries: enrol wrote nothing?", n)
	}
}

// A data directory that root owns (a test, a terminal run as root) is left
// as it is.
func TestHandToDataDirOwnerLeavesRootsDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "f"), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	uid, err := handToDataDirOwner(dir)
	if err != nil || uid != -1 {
		t.Fatalf("got uid %d, %v; want -1 (nothing to do), no error", uid, err)
	}
}
