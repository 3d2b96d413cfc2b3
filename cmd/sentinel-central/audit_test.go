package main

import (
	"strings"
	"testing"
	"time"

	"sentinel/internal/central"
)

// TestQueryText: the audit log's QUERY column shows no zero time for a
// look-up that reads no span (a whitelist listing printed
// "0001-01-01T00:00:00Z..0001-01-01T00:00:00Z") or reads from the start.
func TestQueryText(t *testing.T) {
	from := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	to := from.Add(24 * time.Hour)
	for _, tt := range []struct {
		q    central.AuditQuery
		want string
	}{
		{central.AuditQuery{}, "-"},
		{central.AuditQuery{Holder: "ZJ:1"}, "holder=ZJ:1"},
		{central.AuditQuery{To: to, Holder: "ZJ:1"}, "..2026-12-02T00:00:00Z holder=ZJ:1"},
		{central.AuditQuery{From: from, To: to, Site: "SM-1", Window: 30 * time.Minute}, "2026-12-01T00:00:00Z..2026-12-02T00:00:00Z site=SM-1 window=30m0s"},
	} {
		if got := queryText(tt.q); got != tt.want {
			t.Errorf("queryText(%+v) = %q, want %q", tt.q, got, tt.want)
		}
	}
}

// TestAuditEngineAction: a kind that the engine's audit has not is a usage
// error naming the kinds; it printed "no changes in the engine's audit"
// and exited 0, as if nothing had changed.
func TestAuditEngineAction(t *testing.T) {
	data := t.TempDir()
	mustRun(t, "areas", "set", "ZJ", "--kind", "province", "--why", "the province", "--data", data)
	code, _, errOut := sentinel(t, "audit", "--engine", "--action", "area-add", "--data", data)
	if code != exitUsage || !strings.Contains(errOut, "area-set") || !strings.Contains(errOut, "status-publish") {
		t.Errorf("audit --engine --action area-add: exit %d, %q; want a usage error naming the kinds", code, errOut)
	}
	if out := mustRun(t, "audit", "--engine", "--action", "area-set", "--data", data); !strings.Contains(out, "the province") {
		t.Errorf("audit --engine --action area-set: %q", out)
	}
}
