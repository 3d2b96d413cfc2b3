package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMissingDataDir checks that the commands that read the centre's
// state refuse a data directory that does not exist, naming the flag,
// instead of answering as if the centre were empty.
func TestMissingDataDir(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-dir")
	for _, args := range [][]string{
		{"devices", "list"},
		{"devices", "list", "--json"},
		{"devices", "revoke", "--device", "t-0123456789abcdef"},
		{"bundles", "list"},
		{"export", "--from", "2026-01-01T00:00:00Z", "--to", "2026-01-02T00:00:00Z", "--format", "csv", "--purpose", "p", "--operator", "ana"},
		{"trace", "--holder", "ZJ:1", "--purpose", "p", "--operator", "ana"},
	} {
		t.Run(strings.Join(args[:min(2, len(args))], " "), func(t *testing.T) {
			code, stdout, stderr := sentinel(t, append(args, "--data", missing)...)
			if code != exitRefused || stdout != "" || !strings.Contains(stderr, "no centre data directory at "+missing) || !strings.Contains(stderr, "--data DIR") {
				t.Errorf("got exit %d, %q, %q, want %d and the missing directory with --data", code, stdout, stderr, exitRefused)
			}
			if _, err := os.Stat(missing); err == nil {
				t.Errorf("%s was created", missing)
			}
		})
	}
	t.Run("default", func(t *testing.T) {
		if _, err := os.Stat(defaultCentralData); err == nil {
			t.Skipf("%s exists on this machine: the default cannot be tested missing", defaultCentralData)
		}
		code, stdout, stderr := sentinel(t, "devices", "list")
		if code != exitRefused || strings.Contains(stdout, "no terminals enrolled") || !strings.Contains(stderr, defaultCentralData) {
			t.Errorf("got exit %d, %q, %q, want %d naming %s", code, stdout, stderr, exitRefused, defaultCentralData)
		}
	})
}
