package fleet_test

import (
	"fmt"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/fleet"
	"sentinel/sync/protocol"
)

func ExampleView() {
	recv := time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC)
	rep, _ := protocol.EncodeHealth(&protocol.Health{Device: "T-1", Time: recv.Add(4 * time.Second), Last: 30, Acked: 28,
		Bundles: []protocol.BundleHealth{{Kind: "trust", Version: 9, Freshness: "fresh"}}})
	v, err := fleet.View(central.Health{Device: "T-1", ReceivedAt: recv, Report: rep}, recv.Add(time.Minute))
	if err != nil {
		panic(err)
	}
	fmt.Println(v.Backlog, v.OffsetText(), v.BundleText(), v.FaultText(), v.AgeText())
	// Output: 2 +4s trust 9 fresh none 1m0s
}
