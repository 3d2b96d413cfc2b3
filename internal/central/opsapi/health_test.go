package opsapi

import (
	"context"
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"sentinel/sync/protocol"
)

func TestDevicesHealth(t *testing.T) {
	f := newFixture(t, false, nil)
	now := time.Now().UTC()
	rep, err := protocol.EncodeHealth(&protocol.Health{Device: "dev-a", Time: now.Add(2 * time.Second), Last: 45, Acked: 40,
		Bundles: []protocol.BundleHealth{{Kind: "trust", Version: 4, Freshness: "grace"}},
		Lanes:   []protocol.LaneHealth{{Name: "thermometer", State: protocol.LaneUnavailable, Reason: "no answer"}}})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.store.PutHealth(context.Background(), "dev-a", rep, now); err != nil {
		t.Fatal(err)
	}
	resp := f.do(t, http.MethodGet, DevicesPath, opsToken, "")
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("got status %d, want 200", resp.StatusCode)
	}
	var got struct{ Devices []DeviceOut }
	if err := json.NewDecoder(resp.Body).Decode(&got); err != nil {
		t.Fatal(err)
	}
	if len(got.Devices) != 1 || got.Devices[0].Health == nil {
		t.Fatalf("got %+v, want dev-a with its health", got.Devices)
	}
	h := got.Devices[0].Health
	if h.Backlog != 5 || h.BundleText() != "trust 4 grace" || h.FaultText() != "thermometer: unavailable (no answer)" || h.OffsetText() != "+2s" {
		t.Errorf("got backlog %d, bundles %q, faults %q, offset %s; want 5, trust 4 grace, the thermometer, +2s",
			h.Backlog, h.BundleText(), h.FaultText(), h.OffsetText())
	}
}
