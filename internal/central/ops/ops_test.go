package ops_test

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/ops"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/storetest"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// t0 is the traced holder's passage at "hall".
var t0 = time.Date(2026, 11, 20, 12, 0, 0, 0, time.UTC)

// traceCase is one passage of the trace fixture and whether it is a
// contact of holder "ZJ:1" at t0.
type traceCase struct {
	name    string
	device  string
	at      time.Time
	site    string
	holder  string
	contact bool
}

var traceCases = []traceCase{
	{"traced", "dev-a", t0, "hall", "ZJ:1", false},
	{"inside after", "dev-a", t0.Add(29 * time.Minute), "hall", "ZJ:2", true},
	{"edge before", "dev-b", t0.Add(-30 * time.Minute), "hall", "HB:3", true},
	{"edge after", "dev-b", t0.Add(30 * time.Minute), "hall", "HB:4", true},
	{"outside after", "dev-a", t0.Add(31 * time.Minute), "hall", "ZJ:5", false},
	{"outside before", "dev-b", t0.Add(-30*time.Minute - time.Second), "hall", "ZJ:6", false},
	{"other site", "dev-c", t0.Add(time.Minute), "gym", "ZJ:7", false},
	{"no holder", "dev-c", t0.Add(2 * time.Minute), "hall", "", false},
	{"traced elsewhere", "dev-c", t0.Add(3 * time.Hour), "gym", "ZJ:1", false},
}

// seed ingests the trace fixture and the storetest records of "dev-s".
func seed(t *testing.T, st central.Store) {
	t.Helper()
	ctx := context.Background()
	byDev := map[string][]central.Record{}
	for _, c := range traceCases {
		recs := byDev[c.device]
		recs = append(recs, central.Record{Seq: uint64(len(recs) + 1), Stored: []byte(c.name), Time: c.at,
			Site: c.site, Holder: c.holder, Decision: "pass"})
		byDev[c.device] = recs
	}
	for dev, recs := range byDev {
		e := central.Epoch{1} // an epoch of each device's own
		copy(e[1:], dev)
		if _, err := storetest.Ingest(ctx, st, dev, e, recs); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := storetest.Ingest(ctx, st, "dev-s", central.Epoch{2}, storetest.Recs(1, 20, "ops")); err != nil {
		t.Fatal(err)
	}
}

// stores opens every implementation the queries must work on.
func stores(t *testing.T) map[string]func(t *testing.T) central.Store {
	return map[string]func(t *testing.T) central.Store{
		"mem": func(t *testing.T) central.Store { return memstore.New(nil) },
		"bolt": func(t *testing.T) central.Store {
			st, err := boltstore.Open(filepath.Join(t.TempDir(), "central.db"), &boltstore.Options{NoSync: true})
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
		"postgres": func(t *testing.T) central.Store {
			st, err := pgstore.Open(context.Background(), pgtest.NewDatabase(t), nil)
			if err != nil {
				t.Fatal(err)
			}
			return st
		},
	}
}

func TestQueries(t *testing.T) {
	for name, open := range stores(t) {
		t.Run(name, func(t *testing.T) {
			st := open(t)
			t.Cleanup(func() { st.Close() })
			seed(t, st)
			t.Run("trace", func(t *testing.T) { testTrace(t, st) })
			t.Run("export", func(t *testing.T) { testExport(t, st) })
		})
	}
}

func testTrace(t *testing.T, st central.Store) {
	ctx := context.Background()
	res, err := ops.Trace(ctx, st, ops.TraceQuery{Holder: "ZJ:1", From: t0.AddDate(0, 0, -14), To: t0.Add(24 * time.Hour), Window: 30 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Visits) != 2 {
		t.Fatalf("got %d visits, want 2: %+v", len(res.Visits), res.Visits)
	}
	var got []string
	for _, c := range res.Visits[0].Contacts {
		got = append(got, c.Holder+"@"+c.Delta.String())
	}
	var want []string
	for _, c := range traceCases {
		if c.contact {
			want = append(want, c.holder+"@"+c.at.Sub(t0).String())
		}
	}
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Errorf("got contacts %v, want %v", got, want)
	}
	if v := res.Visits[1]; v.Site != "gym" || len(v.Contacts) != 0 {
		t.Errorf("got second visit %+v, want gym without contacts (ZJ:7 passed 3h earlier)", v)
	}
	if got, want := res.Rows(), len(want)+1; got != want {
		t.Errorf("got %d rows, want %d", got, want)
	}

	// The window is a bound: 0 finds nothing, a wide one finds the rest.
	res, err = ops.Trace(ctx, st, ops.TraceQuery{Holder: "ZJ:1", From: t0.Add(-time.Hour), To: t0.Add(time.Hour), Window: 0})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Visits) != 1 || len(res.Visits[0].Contacts) != 0 {
		t.Errorf("window 0: got %+v, want one visit without contacts", res.Visits)
	}

	res, err = ops.Trace(ctx, st, ops.TraceQuery{Holder: "XX:404", From: t0.AddDate(0, 0, -14), To: t0.Add(time.Hour), Window: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Visits) != 0 || res.Rows() != 0 {
		t.Errorf("unknown holder: got %+v, want no visits", res.Visits)
	}

	for _, name := range []string{"Zhang San", "", "zj:1"} {
		if res, err := ops.Trace(ctx, st, ops.TraceQuery{Holder: name, From: t0.AddDate(0, 0, -14), To: t0.Add(time.Hour), Window: time.Hour}); !errors.Is(err, credential.ErrHolderID) {
			t.Errorf("trace %q: got %v, %v, want ErrHolderID", name, res, err)
		}
	}
}

func testExport(t *testing.T, st central.Store) {
	ctx := context.Background()
	f := central.Filter{From: t0.Add(-time.Hour), To: t0.Add(time.Hour), Site: "hall"}
	var want []central.Passage
	for p, err := range st.Passages(ctx, f) {
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, p)
	}
	if len(want) != 7 {
		t.Fatalf("fixture: got %d passages at hall, want 7", len(want))
	}

	var buf bytes.Buffer
	n, err := ops.Export(ctx, st, f, ops.CSV, &buf)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(&buf).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if n != len(want) || len(recs) != len(want)+1 {
		t.Fatalf("csv: got %d rows (%d lines), want %d", n, len(recs), len(want))
	}
	if !slices.Equal(recs[0], ops.CSVHeader) {
		t.Errorf("got header %v, want %v", recs[0], ops.CSVHeader)
	}
	for i, p := range want {
		r := recs[i+1]
		if r[0] != p.Device || r[1] != p.Epoch.String() || r[3] != p.Time.UTC().Format(time.RFC3339Nano) || r[4] != p.Site || r[5] != p.Holder {
			t.Errorf("csv row %d: got %v, want %s %s", i, r, p.Device, p.Time)
		}
	}

	buf.Reset()
	all := central.Filter{From: storetest.Recs(1, 1, "")[0].Time, To: t0.AddDate(0, 1, 0), Device: "dev-s"}
	n, err = ops.Export(ctx, st, all, ops.JSONL, &buf)
	if err != nil {
		t.Fatal(err)
	}
	dec := json.NewDecoder(&buf)
	var rows []ops.Row
	for dec.More() {
		var r ops.Row
		if err := dec.Decode(&r); err != nil {
			t.Fatal(err)
		}
		rows = append(rows, r)
	}
	if n != 20 || len(rows) != 20 {
		t.Fatalf("jsonl: got %d rows (%d decoded), want 20", n, len(rows))
	}
	src := storetest.Recs(1, 20, "ops")
	for i, r := range rows {
		s := src[i]
		if r.Seq != s.Seq || !r.Time.Equal(s.Time) || r.Holder != s.Holder || r.Site != s.Site || r.Decision != s.Decision || len(r.Reasons) != len(s.Reasons) {
			t.Errorf("jsonl row %d: got %+v, want %+v", i, r, s)
		}
	}
	if strings.Contains(buf.String(), "rec 1 ops") {
		t.Error("export carries the stored bytes")
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ops.Format
		ok   bool
	}{{"csv", ops.CSV, true}, {"JSONL", ops.JSONL, true}, {"xlsx", "", false}, {"", "", false}} {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ops.ParseFormat(tc.in)
			if got != tc.want || (err == nil) != tc.ok {
				t.Errorf("got %q, %v, want %q, ok=%v", got, err, tc.want, tc.ok)
			}
		})
	}
}

// TestAuditLog: the store's audit log refuses an entry without who or
// why, or with a name for a holder, and keeps concurrent appends whole and
// in order (the conformance suite, storetest.RunRegistry, holds every
// store to the rest).
func TestAuditLog(t *testing.T) {
	log := memstore.New(nil)
	ctx := context.Background()
	e := ops.Entry{Time: t0, Operator: "ana", Action: ops.ActionExport, Purpose: "outbreak 42",
		Query: ops.Query{From: t0, To: t0.Add(time.Hour), Site: "hall"}, Store: "postgres", Format: "csv", Rows: 7}
	if err := log.AppendAudit(ctx, e); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		edit func(*ops.Entry)
		want error
	}{
		{"no purpose", func(e *ops.Entry) { e.Purpose = "" }, ops.ErrNoPurpose},
		{"no operator", func(e *ops.Entry) { e.Operator = "" }, ops.ErrNoOperator},
		{"a name as holder", func(e *ops.Entry) { e.Query.Holder = "Zhang San" }, credential.ErrHolderID},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bad := e
			tc.edit(&bad)
			if err := log.AppendAudit(ctx, bad); !errors.Is(err, tc.want) {
				t.Errorf("got %v, want %v", err, tc.want)
			}
		})
	}
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Go(func() {
			e2 := e
			e2.Rows = i
			if err := log.AppendAudit(ctx, e2); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	got, err := log.Audit(ctx, central.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 21 {
		t.Fatalf("got %d entries, want 21", len(got))
	}
	if g := got[0]; !g.Time.Equal(e.Time) || g.Operator != "ana" || g.Purpose != "outbreak 42" || g.Query.Site != "hall" || g.Rows != 7 {
		t.Errorf("got %+v, want %+v", g, e)
	}
}
