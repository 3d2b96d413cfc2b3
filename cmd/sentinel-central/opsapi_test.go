package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sentinel/internal/central/ops"
)

// TestExportTraceThroughServer: while serve holds the bbolt store, export
// and trace go through its operator API with --server and an ops token;
// the server audits them under the token's name. A name as holder is
// refused before the server is asked.
func TestExportTraceThroughServer(t *testing.T) {
	s, data := startOpsServe(t, 30)
	dir := t.TempDir()
	tok, admin := filepath.Join(dir, "ops.token"), filepath.Join(dir, "admin.token")
	writeTestFile(t, tok, []byte("ops-token\n"))
	writeTestFile(t, admin, []byte("admin-token\n"))
	server := []string{"--server", "https://" + s.ops, "--token-file", tok, "--data", data}

	// The store is locked: the offline path says so.
	code, _, stderr := runCLI("export", "--data", data, "--from", "2000-01-01T00:00:00Z", "--to", "2100-01-01T00:00:00Z", "--format", "csv", "--purpose", "p", "--operator", "ana")
	if code != exitRefused || !strings.Contains(stderr, "--server") {
		t.Errorf("offline export of a served store: got exit %d %q, want refused pointing to --server", code, stderr)
	}

	out := filepath.Join(dir, "passages.jsonl")
	code, _, stderr = runCLI(append([]string{"export", "--from", "2000-01-01T00:00:00Z", "--to", "2100-01-01T00:00:00Z",
		"--format", "jsonl", "--purpose", "case 4711", "--out", out}, server...)...)
	if code != exitOK || !strings.Contains(stderr, "exported 30 passages") {
		t.Fatalf("export --server: got exit %d %q, want 30 passages\nserver: %s", code, stderr, s.stderr)
	}
	if b, err := os.ReadFile(out); err != nil || strings.Count(string(b), "\n") != 30 {
		t.Errorf("got %d lines in %s (%v), want 30", strings.Count(string(b), "\n"), out, err)
	}

	code, stdout, stderr := runCLI(append([]string{"trace", "--holder", "ZJ:3", "--purpose", "case 4711", "--days", "366", "--json"}, server...)...)
	if code != exitOK {
		t.Fatalf("trace --server: got exit %d %q", code, stderr)
	}
	var res ops.TraceResult
	if err := json.Unmarshal([]byte(stdout), &res); err != nil || res.Holder != "ZJ:3" {
		t.Errorf("trace --server: got %q (%v), want the trace of ZJ:3", stdout, err)
	}

	code, _, stderr = runCLI(append([]string{"trace", "--holder", "Zhang San", "--purpose", "p"}, server...)...)
	if code != exitUsage || !strings.Contains(stderr, "ISSUER:INDEX") {
		t.Errorf("trace --server of a name: got exit %d %q, want a usage error", code, stderr)
	}
	code, _, stderr = runCLI("export", "--server", "https://"+s.ops, "--token-file", admin, "--data", data,
		"--from", "2000-01-01T00:00:00Z", "--to", "2100-01-01T00:00:00Z", "--format", "csv", "--purpose", "p")
	if code != exitRefused || !strings.Contains(stderr, "403") || !strings.Contains(stderr, "ops token") {
		t.Errorf("export with an admin token: got exit %d %q, want refused 403 naming the ops token", code, stderr)
	}

	// The fleet view: the store's side through the server.
	code, stdout, stderr = runCLI(append([]string{"devices", "list", "--json"}, server...)...)
	var fleet []deviceOut
	if err := json.Unmarshal([]byte(stdout), &fleet); code != exitOK || err != nil {
		t.Fatalf("devices list --server: exit %d %q (%v)", code, stderr, err)
	}
	if len(fleet) != 1 || fleet[0].ID != "dev-a" || !fleet[0].StoreRead || fleet[0].Acked != 30 || fleet[0].LastSeen == nil {
		t.Errorf("devices list --server: got %+v, want dev-a with 30 records acknowledged", fleet)
	}
	code, _, stderr = runCLI("devices", "list", "--data", data)
	if code != exitOK || !strings.Contains(stderr, "--server") {
		t.Errorf("devices list of a served store: got exit %d %q, want the registry and a pointer to --server", code, stderr)
	}

	es := auditLog(t, "--data", data) // through the running serve
	if len(es) != 2 || es[0].Action != ops.ActionExport || es[0].Operator != "olga" || es[0].Rows != 30 ||
		es[1].Action != ops.ActionTrace || es[1].Query.Holder != "ZJ:3" {
		t.Errorf("got audit %+v, want olga's export of 30 rows and trace of ZJ:3", es)
	}
}

func TestOpsServerUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"plain http", []string{"trace", "--holder", "ZJ:1", "--purpose", "p", "--server", "http://127.0.0.1:1", "--token-file", "t"}, "https"},
		{"no token", []string{"trace", "--holder", "ZJ:1", "--purpose", "p", "--server", "https://127.0.0.1:1"}, "--token-file"},
		{"token without server", []string{"export", "--from", "2000-01-01T00:00:00Z", "--to", "2001-01-01T00:00:00Z", "--format", "csv", "--purpose", "p", "--token-file", "t"}, "--server"},
		{"devices list token without server", []string{"devices", "list", "--token-file", "t"}, "--server"},
		{"server and postgres", []string{"export", "--from", "2000-01-01T00:00:00Z", "--to", "2001-01-01T00:00:00Z", "--format", "csv", "--purpose", "p", "--server", "https://127.0.0.1:1", "--postgres", "postgres://x"}, "choose one"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, stderr := runCLI(tc.args...)
			if code != exitUsage || !strings.Contains(stderr, tc.want) {
				t.Errorf("got exit %d %q, want %d and %q", code, stderr, exitUsage, tc.want)
			}
		})
	}
}
