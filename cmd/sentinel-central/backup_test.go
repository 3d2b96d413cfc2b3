package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestBackupOffline(t *testing.T) {
	data := filepath.Join(t.TempDir(), "central")
	seedCentral(t, data, 55)
	out := filepath.Join(t.TempDir(), "copy.db")
	code, stdout, stderr := runCLI("backup", "--data", data, "--out", out)
	if code != exitOK {
		t.Fatalf("got exit %d, want 0: %s", code, stderr)
	}
	if !strings.Contains(stdout, "55 passages of 1 device,") {
		t.Errorf("got %q, want 55 passages of 1 device reported", stdout)
	}
	sum, err := checkBackup(out)
	if err != nil || sum.passages != 55 {
		t.Errorf("got %+v, %v, want 55 passages in the copy", sum, err)
	}
}

func TestBackupUsage(t *testing.T) {
	data := filepath.Join(t.TempDir(), "central")
	for _, tc := range []struct {
		name string
		args []string
		want int
		msg  string
	}{
		{"no out", []string{"backup", "--data", data}, exitUsage, "--out"},
		{"no store", []string{"backup", "--data", data, "--out", filepath.Join(t.TempDir(), "x.db")}, exitRefused, "no central store"},
		{"token without server", []string{"backup", "--out", "x.db", "--token-file", "t"}, exitUsage, "--server"},
		{"server without token", []string{"backup", "--out", "x.db", "--server", "https://127.0.0.1:1"}, exitUsage, "--token-file"},
		{"plain http", []string{"backup", "--out", "x.db", "--server", "http://127.0.0.1:1", "--token-file", "t"}, exitUsage, "https"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(tc.args...)
			if code != tc.want || !strings.Contains(stderr, tc.msg) {
				t.Errorf("got exit %d %q, want %d mentioning %s", code, stderr, tc.want, tc.msg)
			}
		})
	}
}

// TestBackupThroughServer: offline backup of a served store is refused
// with a pointer to --server; through the server, an admin token gets a
// checked copy holding every passage, an ops token gets nothing, and a
// failed attempt leaves the previous copy in place.
func TestBackupThroughServer(t *testing.T) {
	s, data := startOpsServe(t, 70)
	dir := t.TempDir()
	out := filepath.Join(dir, "copy.db")

	code, _, stderr := runCLI("backup", "--data", data, "--out", out)
	if code != exitRefused || !strings.Contains(stderr, "running server") || !strings.Contains(stderr, "--server") {
		t.Errorf("offline backup of a served store: got exit %d %q, want refused pointing to --server", code, stderr)
	}

	admin, opsTok := filepath.Join(dir, "admin.token"), filepath.Join(dir, "ops.token")
	writeTestFile(t, admin, []byte("admin-token\n"))
	writeTestFile(t, opsTok, []byte("ops-token\n"))
	code, stdout, stderr := runCLI("backup", "--server", "https://"+s.ops, "--token-file", admin, "--data", data, "--out", out)
	if code != exitOK {
		t.Fatalf("got exit %d, want 0: %s\nserver: %s", code, stderr, s.stderr)
	}
	if !strings.Contains(stdout, "70 passages of 1 device,") {
		t.Errorf("got %q, want 70 passages reported", stdout)
	}
	first, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}

	code, _, stderr = runCLI("backup", "--server", "https://"+s.ops, "--token-file", opsTok,
		"--ca", filepath.Join(data, "enrol", "ca.pem"), "--out", out)
	if code != exitRefused || !strings.Contains(stderr, "403") {
		t.Errorf("ops token: got exit %d %q, want refused with 403", code, stderr)
	}
	if after, err := os.ReadFile(out); err != nil || string(after) != string(first) {
		t.Errorf("a refused backup changed the previous copy (%v)", err)
	}
	if es := auditLog(t, "--data", data); len(es) != 0 {
		t.Errorf("got %d audit entries, want none for backups", len(es))
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "copy.db.tmp-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestBackupRefusesLiveStore: issue 9 finding 5. A backup through the
// running server renamed over DATA/central.db left the server writing to
// a deleted file; now every --out that is the live store or lies inside
// the data directory (relative, through symbolic links) is refused, the
// live file is untouched and the server keeps every passage.
func TestBackupRefusesLiveStore(t *testing.T) {
	s, data := startOpsServe(t, 70)
	dir := t.TempDir()
	admin := filepath.Join(dir, "admin.token")
	writeTestFile(t, admin, []byte("admin-token\n"))
	live := filepath.Join(data, "central.db")
	before, err := os.Stat(live)
	if err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link")
	if err := os.Symlink(data, link); err != nil {
		t.Fatal(err)
	}
	elsewhere := t.TempDir() // a data dir that is not the server's
	remote := func(out, dataDir string) []string {
		return []string{"backup", "--server", "https://" + s.ops, "--token-file", admin,
			"--ca", filepath.Join(data, "enrol", "ca.pem"), "--data", dataDir, "--out", out}
	}
	for _, tc := range []struct {
		name string
		args []string
		msg  string
		cd   string
	}{
		{"live store", remote(live, data), "data directory", ""},
		{"new file in the data dir", remote(filepath.Join(data, "copy.db"), data), "data directory", ""},
		{"through a symlink", remote(filepath.Join(link, "central.db"), data), "data directory", ""},
		{"data dir given as a symlink", remote(live, link), "data directory", ""},
		{"relative", remote("central.db", data), "data directory", "data"},
		{"relative with dot-dot", remote(filepath.Join("..", "central", "central.db"), data), "data directory", "data"},
		{"live store, other --data", remote(live, elsewhere), "locked", ""},
		{"offline, live store", []string{"backup", "--data", data, "--out", live}, "data directory", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.cd != "" {
				t.Chdir(data)
			}
			code, _, stderr := runCLI(tc.args...)
			if code != exitRefused || !strings.Contains(stderr, tc.msg) || !strings.Contains(stderr, "another directory") {
				t.Errorf("got exit %d %q, want refused (1) mentioning %q and where to put the copy", code, stderr, tc.msg)
			}
		})
	}
	after, err := os.Stat(live)
	if err != nil || !os.SameFile(before, after) || after.Size() != before.Size() {
		t.Fatalf("the live store was replaced or changed (%v)", err)
	}
	if left, _ := filepath.Glob(filepath.Join(data, "*.tmp-*")); len(left) != 0 {
		t.Errorf("temporary files left in the data directory: %v", left)
	}
	out := filepath.Join(dir, "copy.db")
	code, stdout, stderr := runCLI(remote(out, data)...)
	if code != exitOK || !strings.Contains(stdout, "70 passages") {
		t.Errorf("a backup outside the data directory: got exit %d %q %q, want 70 passages", code, stdout, stderr)
	}
}
