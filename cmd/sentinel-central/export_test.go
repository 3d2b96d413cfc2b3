package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/ops"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/server"
	"sentinel/internal/central/storetest"
)

// opsBackend is a store the export and trace commands read, with the flags
// that select it.
type opsBackend struct {
	name  string
	data  string
	flags []string // --data DIR, and --postgres URL for PostgreSQL
	open  func(t *testing.T) central.Store
}

// opsBackends returns a fresh bbolt store and a fresh PostgreSQL database.
func opsBackends(t *testing.T) []func(t *testing.T) opsBackend {
	return []func(t *testing.T) opsBackend{
		func(t *testing.T) opsBackend {
			data := t.TempDir()
			return opsBackend{name: "bolt", data: data, flags: []string{"--data", data}, open: func(t *testing.T) central.Store {
				st, err := boltstore.Open(filepath.Join(data, server.StoreFile), &boltstore.Options{Timeout: time.Second})
				if err != nil {
					t.Fatal(err)
				}
				return st
			}}
		},
		func(t *testing.T) opsBackend {
			data := t.TempDir()
			conn := pgtest.NewDatabase(t)
			return opsBackend{name: "postgres", data: data, flags: []string{"--data", data, "--postgres", conn}, open: func(t *testing.T) central.Store {
				st, err := pgstore.Open(context.Background(), conn, nil)
				if err != nil {
					t.Fatal(err)
				}
				return st
			}}
		},
	}
}

// forBackends runs f against bbolt and PostgreSQL.
func forBackends(t *testing.T, f func(t *testing.T, b opsBackend)) {
	for i, mk := range opsBackends(t) {
		t.Run([]string{"bolt", "postgres"}[i], func(t *testing.T) { f(t, mk(t)) })
	}
}

// ingest stores batches of one device's epoch and closes the store, as
// the server would have before the operator runs the command.
func ingest(t *testing.T, b opsBackend, device string, recs []central.Record) {
	t.Helper()
	st := b.open(t)
	defer st.Close()
	if _, err := storetest.Ingest(context.Background(), st, device, central.Epoch{7}, recs); err != nil {
		t.Fatal(err)
	}
}

// auditLog reads the audit log with sentinel-central audit and flags
// (--data DIR, --postgres URL): from the store, or from the running serve's.
func auditLog(t *testing.T, flags ...string) []ops.Entry {
	t.Helper()
	var es []ops.Entry
	if err := json.Unmarshal([]byte(mustRun(t, append([]string{"audit", "--json"}, flags...)...)), &es); err != nil {
		t.Fatal(err)
	}
	return es
}

func TestExport(t *testing.T) {
	forBackends(t, func(t *testing.T, b opsBackend) {
		recs := storetest.Recs(1, 30, "export")
		ingest(t, b, "dev-1", recs)
		from, to := recs[4].Time, recs[24].Time // seq 5..24
		args := func(extra ...string) []string {
			a := append([]string{"export", "--from", from.Format(time.RFC3339), "--to", to.Format(time.RFC3339), "--operator", "ana"}, b.flags...)
			return append(a, extra...)
		}

		out := filepath.Join(t.TempDir(), "gate1.csv")
		mustRun(t, args("--site", "gate-1", "--format", "csv", "--purpose", "outbreak 42", "--out", out)...)
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		rows, err := csv.NewReader(f).ReadAll()
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		var want []central.Record
		for _, r := range recs[4:24] {
			if r.Site == "gate-1" {
				want = append(want, r)
			}
		}
		if len(rows) != len(want)+1 {
			t.Fatalf("got %d csv lines, want header and %d rows", len(rows), len(want))
		}
		for i, r := range want {
			row := rows[i+1]
			if row[0] != "dev-1" || row[2] != strconv.FormatUint(r.Seq, 10) || row[4] != "gate-1" || row[5] != r.Holder || row[6] != r.Decision || row[7] != strings.Join(r.Reasons, ";") {
				t.Errorf("row %d: got %v, want seq %d holder %s", i, row, r.Seq, r.Holder)
			}
		}

		code, stdout, stderr := sentinel(t, args("--format", "jsonl", "--purpose", "audit sample")...)
		if code != exitOK {
			t.Fatalf("jsonl: exit %d: %s", code, stderr)
		}
		lines := strings.Split(strings.TrimSpace(stdout), "\n")
		if len(lines) != 20 {
			t.Fatalf("jsonl: got %d lines, want 20", len(lines))
		}
		var first ops.Row
		if err := json.Unmarshal([]byte(lines[0]), &first); err != nil {
			t.Fatal(err)
		}
		if first.Seq != 5 || first.Holder != recs[4].Holder || !first.Time.Equal(recs[4].Time) {
			t.Errorf("got first row %+v, want seq 5", first)
		}

		es := auditLog(t, b.flags...)
		if len(es) != 2 {
			t.Fatalf("got %d audit entries, want 2", len(es))
		}
		if e := es[0]; e.Action != ops.ActionExport || e.Operator != "ana" || e.Purpose != "outbreak 42" || e.Rows != len(want) ||
			e.Format != "csv" || e.Query.Site != "gate-1" || !e.Query.From.Equal(from) || !e.Query.To.Equal(to) {
			t.Errorf("got audit entry %+v, want the csv export of %d rows", e, len(want))
		}
		if e := es[1]; e.Rows != 20 || e.Format != "jsonl" || e.Purpose != "audit sample" {
			t.Errorf("got audit entry %+v, want the jsonl export of 20 rows", e)
		}
	})
}

func TestExportRefused(t *testing.T) {
	data := t.TempDir()
	st, err := boltstore.Open(filepath.Join(data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := storetest.Ingest(context.Background(), st, "dev-1", central.Epoch{1}, storetest.Recs(1, 3, "x")); err != nil {
		t.Fatal(err)
	}
	base := []string{"export", "--data", data, "--from", "2026-01-01", "--to", "2027-01-01", "--operator", "ana"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"no purpose", []string{"--format", "csv"}, exitUsage, "--purpose is required"},
		{"no format", []string{"--purpose", "p"}, exitUsage, "--format"},
		{"bad format", []string{"--format", "xlsx", "--purpose", "p"}, exitUsage, "csv or jsonl"},
		{"no time", []string{"export", "--data", data, "--format", "csv", "--purpose", "p"}, exitUsage, "--from and --to"},
		{"running server", []string{"--format", "csv", "--purpose", "p"}, exitRefused, "the store is in use by a running server: ask it with --server"},
		{"no store", []string{"--format", "csv", "--purpose", "p", "--data", t.TempDir()}, exitRefused, "no central store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			args := append(append([]string{}, base...), tc.args...)
			if tc.args[0] == "export" {
				args = tc.args
			}
			code, stdout, stderr := sentinel(t, args...)
			if code != tc.code || !strings.Contains(stderr, tc.msg) {
				t.Errorf("got exit %d, %q, want %d, %q", code, stderr, tc.code, tc.msg)
			}
			if stdout != "" {
				t.Errorf("got output %q, want none", stdout)
			}
		})
	}
	// The store stayed open all along (a running server): nothing ran, so
	// nothing was recorded.
	if es, err := st.Audit(context.Background(), central.AuditFilter{}); err != nil || len(es) != 0 {
		t.Errorf("got %d audit entries (%v), want 0", len(es), err)
	}
	st.Close()
	code, _, stderr := sentinel(t, append(base, "--format", "csv", "--purpose", "p", "--out", filepath.Join(data, "missing", "x.csv"))...)
	if code != exitRefused || !strings.Contains(stderr, "does its directory exist") {
		t.Errorf("--out in a missing directory: got exit %d, %q, want 1 and a hint", code, stderr)
	}
	mustRun(t, append(base, "--format", "csv", "--purpose", "p")...)
	if es := auditLog(t, "--data", data); len(es) != 1 || es[0].Rows != 3 {
		t.Errorf("got %+v, want one entry of 3 rows", es)
	}
}
