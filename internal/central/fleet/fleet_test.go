package fleet_test

import (
	"errors"
	"testing"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/fleet"
	"sentinel/sync/protocol"
)

func TestView(t *testing.T) {
	recv := time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)
	rep, err := protocol.EncodeHealth(&protocol.Health{
		Device: "t1", Time: recv.Add(-3 * time.Second), Software: "1.0", Last: 12, Acked: 2, Alarms: 1,
		Bundles: []protocol.BundleHealth{{Kind: "trust", Version: 7, Freshness: "fresh"}},
		Lanes: []protocol.LaneHealth{{Name: "scanner", State: protocol.LaneOK},
			{Name: "camera", State: protocol.LaneMissing, Reason: "unplugged"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	v, err := fleet.View(central.Health{Device: "t1", ReceivedAt: recv, Report: rep}, recv.Add(90*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct{ name, got, want string }{
		{"bundles", v.BundleText(), "trust 7 fresh"},
		{"faults", v.FaultText(), "camera: missing (unplugged)"},
		{"offset", v.OffsetText(), "-3s"},
		{"age", v.AgeText(), "1m30s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got != tt.want {
				t.Errorf("got %q, want %q", tt.got, tt.want)
			}
		})
	}
	if v.Backlog != 10 || v.Alarms != 1 || v.Software != "1.0" {
		t.Errorf("got backlog %d alarms %d software %q, want 10, 1, 1.0", v.Backlog, v.Alarms, v.Software)
	}
	if _, err := fleet.View(central.Health{Device: "t1", ReceivedAt: recv, Report: []byte{0xa0}}, recv); !errors.Is(err, protocol.ErrMalformed) {
		t.Errorf("damaged report: got %v, want ErrMalformed", err)
	}
}
