package main

import (
	"path/filepath"
	"strings"
	"testing"

	"sentinel/internal/central/pgtest"
)

// TestPostgresNeedsNoDataDir: on a centre that keeps its state in
// PostgreSQL, the ops commands docs/scaling.md runs from an ops host
// (devices list, export, trace, with --postgres or --postgres-replica)
// read the database and need no data directory there. They refused with
// "no centre data directory at /var/lib/sentinel-central" before.
func TestPostgresNeedsNoDataDir(t *testing.T) {
	db := pgtest.NewDatabase(t)
	none := filepath.Join(t.TempDir(), "no-such-dir")
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"devices", "list", "--postgres", db}, "no terminals enrolled"},
		{[]string{"devices", "list", "--postgres-replica", db}, "no terminals enrolled"},
		{[]string{"export", "--from", "2026-12-01T00:00:00Z", "--to", "2026-12-02T00:00:00Z", "--format", "csv", "--purpose", "audit", "--postgres", db}, "device,epoch,seq"},
		{[]string{"trace", "--holder", "ZJ:1", "--purpose", "appeal", "--postgres", db}, "nothing to trace"},
	} {
		out := mustRun(t, append(tt.args, "--data", none)...)
		if !strings.Contains(out, tt.want) {
			t.Errorf("%s: %q, want %q", strings.Join(tt.args, " "), out, tt.want)
		}
	}
	// Without --postgres the missing directory is still refused.
	code, _, errOut := sentinel(t, "devices", "list", "--data", none)
	if code != exitRefused || !strings.Contains(errOut, "no centre data directory") {
		t.Errorf("devices list of no directory: exit %d, %q", code, errOut)
	}
}
