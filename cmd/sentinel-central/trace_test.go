package main

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/ops"
)

func TestTrace(t *testing.T) {
	forBackends(t, func(t *testing.T, b opsBackend) {
		// The command looks back from now, so the passages are recent.
		at := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Second)
		passages := []struct {
			off     time.Duration
			site    string
			holder  string
			contact bool
		}{
			{0, "hall", "ZJ:1", false}, // the traced holder
			{10 * time.Minute, "hall", "ZJ:2", true},
			{-30 * time.Minute, "hall", "HB:3", true}, // on the edge
			{31 * time.Minute, "hall", "ZJ:4", false},
			{-45 * time.Minute, "hall", "ZJ:5", false},
			{5 * time.Minute, "gym", "ZJ:6", false},
			{-20 * 24 * time.Hour, "hall", "ZJ:1", false}, // before --days 14
			{-20*24*time.Hour + time.Minute, "hall", "ZJ:7", false},
		}
		var recs []central.Record
		for _, p := range passages {
			recs = append(recs, central.Record{Stored: []byte(p.holder), Time: at.Add(p.off), Site: p.site, Holder: p.holder, Decision: "pass"})
		}
		slices.SortFunc(recs, func(a, b central.Record) int { return a.Time.Compare(b.Time) })
		for i := range recs {
			recs[i].Seq = uint64(i + 1)
		}
		ingest(t, b, "dev-1", recs)
		args := func(extra ...string) []string {
			return append(append([]string{"trace", "--operator", "ana", "--purpose", "case 9"}, b.flags...), extra...)
		}

		out := mustRun(t, args("--holder", "ZJ:1", "--json")...)
		var res ops.TraceResult
		if err := json.Unmarshal([]byte(out), &res); err != nil {
			t.Fatalf("%v in %s", err, out)
		}
		if len(res.Visits) != 1 || !res.Visits[0].Time.Equal(at) || res.Visits[0].Site != "hall" {
			t.Fatalf("got visits %+v, want one at hall at %s", res.Visits, at)
		}
		var got, want []string
		for _, c := range res.Visits[0].Contacts {
			got = append(got, c.Holder+" "+c.Delta.String())
		}
		for _, p := range passages {
			if p.contact {
				want = append(want, p.holder+" "+p.off.String())
			}
		}
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) {
			t.Errorf("got contacts %v, want %v", got, want)
		}

		text := mustRun(t, args("--holder", "ZJ:1", "--window", "15m")...)
		if !strings.Contains(text, "ZJ:2") || !strings.Contains(text, "+10m0s") || strings.Contains(text, "HB:3") {
			t.Errorf("--window 15m: got\n%s\nwant ZJ:2 at +10m0s and not HB:3", text)
		}
		text = mustRun(t, args("--holder", "ZJ:1", "--days", "30")...)
		if !strings.Contains(text, "ZJ:7") || !strings.Contains(text, "2 passages of ZJ:1") {
			t.Errorf("--days 30: got\n%s\nwant the older passage with contact ZJ:7", text)
		}

		text = mustRun(t, args("--holder", "XX:404")...)
		if want := "no passages of XX:404 in the last 14 days"; !strings.Contains(text, want) {
			t.Errorf("got %q, want %q", text, want)
		}

		// What is not a holder identifier (a name, an ID number) is
		// refused before anything is searched or recorded.
		for _, typed := range []string{"Zhang San", "110101199003077777", "zj:1", "ZJ:1 "} {
			code, stdout, stderr := sentinel(t, args("--holder", typed)...)
			if code != exitUsage || stdout != "" || !strings.Contains(stderr, "ISSUER:INDEX") {
				t.Errorf("--holder %q: got exit %d, %q, %q, want %d and the two forms", typed, code, stdout, stderr, exitUsage)
			}
		}

		es := auditLog(t, b.flags...)
		if len(es) != 4 {
			t.Fatalf("got %d audit entries, want 4", len(es))
		}
		if e := es[0]; e.Action != ops.ActionTrace || e.Operator != "ana" || e.Purpose != "case 9" || e.Query.Holder != "ZJ:1" ||
			e.Query.Window != 30*time.Minute || e.Rows != len(want) {
			t.Errorf("got audit entry %+v, want the trace of ZJ:1 with %d rows", e, len(want))
		}
		if e := es[3]; e.Query.Holder != "XX:404" || e.Rows != 0 {
			t.Errorf("got audit entry %+v, want the empty trace of XX:404", e)
		}
	})
}

func TestTraceRefused(t *testing.T) {
	data := t.TempDir()
	for _, tc := range []struct {
		name string
		args []string
		msg  string
	}{
		{"no purpose", []string{"--holder", "ZJ:1"}, "--purpose is required"},
		{"no holder", []string{"--purpose", "p"}, "--holder is required"},
		{"bad days", []string{"--holder", "ZJ:1", "--purpose", "p", "--days", "0"}, "--days"},
		{"bad window", []string{"--holder", "ZJ:1", "--purpose", "p", "--window", "-1m"}, "--window"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, stdout, stderr := sentinel(t, append([]string{"trace", "--data", data, "--operator", "ana"}, tc.args...)...)
			if code != exitUsage || !strings.Contains(stderr, tc.msg) || stdout != "" {
				t.Errorf("got exit %d, %q, %q, want %d, %q", code, stdout, stderr, exitUsage, tc.msg)
			}
		})
	}
	if es := auditLog(t, "--data", data); len(es) != 0 {
		t.Errorf("got %d audit entries, want 0", len(es))
	}
}
