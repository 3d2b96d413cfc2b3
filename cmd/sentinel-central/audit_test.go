package main

import (
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
