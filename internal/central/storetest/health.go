package storetest

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"sentinel/internal/central"
)

// testHealth checks a central.HealthStore: nothing before a report, the
// latest report replaces the one before, devices apart, refusals.
func testHealth(t *testing.T, s central.Store) {
	hs, ok := s.(central.HealthStore)
	if !ok {
		t.Skip("store keeps no health reports")
	}
	ctx := context.Background()
	if _, ok, err := hs.Health(ctx, "t1"); ok || err != nil {
		t.Fatalf("Health before a report: got ok %v, %v; want none", ok, err)
	}
	at := time.Date(2026, 11, 29, 14, 0, 0, 123456000, time.UTC) // microseconds: PostgreSQL's precision
	put := func(dev string, report []byte, at time.Time) {
		t.Helper()
		if err := hs.PutHealth(ctx, dev, report, at); err != nil {
			t.Fatalf("PutHealth %s: %v", dev, err)
		}
	}
	put("t1", []byte("first"), at)
	put("t2", []byte("other"), at.Add(time.Second))
	put("t1", []byte("second"), at.Add(time.Minute))
	tests := []struct {
		dev    string
		report []byte
		at     time.Time
	}{
		{"t1", []byte("second"), at.Add(time.Minute)},
		{"t2", []byte("other"), at.Add(time.Second)},
	}
	for _, tt := range tests {
		t.Run(tt.dev, func(t *testing.T) {
			h, ok, err := hs.Health(ctx, tt.dev)
			if err != nil || !ok {
				t.Fatalf("Health: got ok %v, %v; want a report", ok, err)
			}
			if h.Device != tt.dev || !bytes.Equal(h.Report, tt.report) || !h.ReceivedAt.Equal(tt.at) {
				t.Errorf("got %s %q at %v, want %s %q at %v", h.Device, h.Report, h.ReceivedAt, tt.dev, tt.report, tt.at)
			}
		})
	}
	for _, bad := range []struct {
		name, dev string
		report    []byte
	}{{"no device", "", []byte("x")}, {"empty report", "t1", nil}, {"huge report", "t1", make([]byte, central.MaxHealthReport+1)}} {
		if err := hs.PutHealth(ctx, bad.dev, bad.report, at); !errors.Is(err, central.ErrHealth) {
			t.Errorf("PutHealth %s: got %v, want ErrHealth", bad.name, err)
		}
	}
}
