package main

import (
	"context"
	"os"
	"path/filepath"
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
// central.db); the bundles are.
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
