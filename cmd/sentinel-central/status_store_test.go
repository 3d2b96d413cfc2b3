package main

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/status"
)

// TestStatusOnPostgres: with --postgres the statuses are in PostgreSQL and
// nothing of them is written to the data directory (no status.db, no
// central.db), nor are the bundles: they are in the database too, where
// every server on it reads them.
func TestStatusOnPostgres(t *testing.T) {
	cs := pgtest.NewDatabase(t)
	e := newStatusEnv(t)
	for i, h := range []string{"ZJ:1", "ZJ:2"} {
		code, p, errOut := e.status("set", "--holder", h, "--status", "red", "--reason", "confirmed", "--postgres", cs)
		if code != exitOK || p.Bundle.Version != uint64(i+1) {
			t.Fatalf("set %s: exit %d %+v %s", h, code, p, errOut)
		}
	}
	if code, p, errOut := e.status("revoke", "--dcc", "URN:UVCI:01:DE:PG", "--postgres", cs); code != exitOK || p.Bundle.Kind != trust.KindStatusDelta {
		t.Fatalf("revoke: exit %d %+v %s", code, p, errOut)
	}
	for _, f := range []string{"status.db", "central.db"} {
		if _, err := os.Stat(filepath.Join(e.data, f)); !os.IsNotExist(err) {
			t.Errorf("%s in the data directory: got %v, want none with --postgres", f, err)
		}
	}
	ctx := context.Background()
	st, err := pgstore.Open(ctx, cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	err = st.ViewStatus(ctx, func(r central.StatusReader) error {
		n, rev, err := r.Counts(ctx)
		v, _ := r.Version(ctx)
		if n != 2 || rev != 1 || v != 3 || err != nil {
			t.Errorf("PostgreSQL: got %d entries, %d revocations, version %d (%v); want 2, 1, 3", n, rev, v, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	tm := e.terminal(t)
	tm.shared = st // the bundles are in the database, for every server on it
	tm.sync(t, e)
	if c := tm.list.Counts(); c.Native != 2 || c.Revoked != 1 {
		t.Errorf("terminal: got %+v, want 2 native and 1 revoked", c)
	}
}

// TestStatusImportsTheOldRecord: the first status command after an
// upgrade imports DATA/status.db of the release before into central.db,
// renames it, and its next base carries the old entries with the new one.
func TestStatusImportsTheOldRecord(t *testing.T) {
	e := newStatusEnv(t)
	raw, err := os.ReadFile("../../internal/central/boltstore/testdata/legacy-status/status.db")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(e.data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(e.data, "status.db"), raw, 0o600); err != nil {
		t.Fatal(err)
	}
	code, out, errOut := runCLI("status", "set", "--holder", "ZJ:5", "--status", "red", "--reason", "confirmed",
		"--key", e.signer, "--delegation", e.del, "--root-pub", e.rootPub, "--data", e.data)
	if code != exitOK {
		t.Fatalf("set: exit %d %s %s", code, out, errOut)
	}
	if _, err := os.Stat(filepath.Join(e.data, "status.db.imported")); err != nil {
		t.Errorf("status.db.imported: %v", err)
	}
	if _, err := os.Stat(filepath.Join(e.data, "status.db")); !os.IsNotExist(err) {
		t.Errorf("status.db: got %v, want it renamed", err)
	}
	st, err := boltstore.Open(filepath.Join(e.data, "central.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ctx := context.Background()
	err = st.ViewStatus(ctx, func(r central.StatusReader) error {
		n, rev, _ := r.Counts(ctx)
		v, _ := r.Version(ctx)
		// The file's 3 entries and 2 revocations, then ZJ:5; the file was
		// at version 7 and the repository empty, so the set published a
		// base at 1 and recorded it.
		if n != 4 || rev != 2 || v != 1 {
			t.Errorf("got %d entries, %d revocations, version %d; want 4, 2, 1", n, rev, v)
		}
		h := mustHolder(t, "HB-WH:7")
		if got, ok, err := r.Status(ctx, h); !ok || err != nil || got.Status != status.Red || got.Note != "confirmed" {
			t.Errorf("HB-WH:7: got %+v %v %v, want the old red entry", got, ok, err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestStatusThroughServe: while serve holds central.db, status set with
// --key reaches the store through serve's socket and status set with
// --server through the operator API; serve records both and signs with
// its own key, and the entries carry who asked.
func TestStatusThroughServe(t *testing.T) {
	e := newStatusEnv(t)
	writeOpsTokens(t, e.data)
	s := startServe(t, "--data", e.data, "--root-pub", e.rootPub, "--key", e.signer, "--delegation", e.del,
		"--ops-listen", "127.0.0.1:0", "--no-time")
	code, p, errOut := e.status("set", "--holder", "ZJ:11", "--status", "red", "--reason", "confirmed")
	if code != exitOK || !strings.Contains(errOut, "running serve holds the store") {
		t.Fatalf("set through the socket: exit %d %+v %q, want it published by serve, saying so", code, p, errOut)
	}
	tok := filepath.Join(e.dir, "ops.token")
	writeTestFile(t, tok, []byte("ops-token\n"))
	code, out, errOut := runCLI("status", "set", "--holder", "ZJ:12", "--status", "yellow", "--reason", "close-contact",
		"--data", e.data, "--server", "https://"+s.ops, "--token-file", tok, "--json")
	if code != exitOK || !strings.Contains(out, `"source": "ops:olga"`) {
		t.Fatalf("set --server: exit %d %s %s, want the entry recorded for the token's holder", code, out, errOut)
	}
	if code, _, errOut := runCLI("status", "set", "--holder", "ZJ:13", "--status", "red", "--reason", "confirmed",
		"--data", e.data, "--server", "https://"+s.ops, "--token-file", tok, "--key", e.signer); code != exitUsage {
		t.Errorf("--server with --key: got exit %d %q, want a usage error", code, errOut)
	}
	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve exited %d\n%s", code, s.stderr)
	}
	st := e.store(t)
	defer st.Close()
	ctx := context.Background()
	for h, want := range map[string]status.Status{"ZJ:11": status.Red, "ZJ:12": status.Yellow} {
		got, ok, err := st.StatusOf(ctx, mustHolder(t, h))
		if !ok || err != nil || got.Status != want || !strings.HasPrefix(got.Source, "ops:") {
			t.Errorf("%s: got %+v %v %v, want %s with its source", h, got, ok, err, want)
		}
	}
	tm := e.terminal(t)
	tm.sync(t, e)
	if c := tm.list.Counts(); c.Native != 2 {
		t.Errorf("terminal: got %+v, want both entries", c)
	}
}

// BenchmarkStatusSetDeltaPostgres is BenchmarkStatusSetDelta with the
// statuses in PostgreSQL: keys read, the store opened (a connection, the
// schema checked), the version row locked, the entry written, the delta
// signed, checked and written, the transaction committed.
func BenchmarkStatusSetDeltaPostgres(b *testing.B) {
	cs := pgtest.NewDatabase(b)
	e := newStatusEnv(b)
	if code, _, errOut := e.status("set", "--holder", "ZJ:0", "--status", "red", "--reason", "confirmed", "--postgres", cs); code != exitOK {
		b.Fatal(errOut)
	}
	args := []string{"--status", "red", "--reason", "confirmed", "--key", e.signer, "--delegation", e.del, "--root-pub", e.rootPub, "--data", e.data, "--postgres", cs}
	b.ResetTimer()
	for i := range b.N {
		if i > 0 && i%900 == 0 {
			b.StopTimer() // stay under the chain bound: a new repository on a new database
			cs = pgtest.NewDatabase(b)
			e = newStatusEnv(b)
			e.status("set", "--holder", "ZJ:0", "--status", "red", "--reason", "confirmed", "--postgres", cs)
			args = []string{"--status", "red", "--reason", "confirmed", "--key", e.signer, "--delegation", e.del, "--root-pub", e.rootPub, "--data", e.data, "--postgres", cs}
			b.StartTimer()
		}
		code, _, errOut := runCLI(append([]string{"status", "set", "--holder", "ZJ:" + strconv.Itoa(i+1)}, args...)...)
		if code != exitOK {
			b.Fatal(errOut)
		}
	}
}
