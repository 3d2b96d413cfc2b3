package protocol_test

import (
	"fmt"
	"time"

	"sentinel/sync/protocol"
)

func ExampleEncodeHealth() {
	b, err := protocol.EncodeHealth(&protocol.Health{
		Device: "T-1", Time: time.Date(2026, 11, 29, 14, 0, 0, 0, time.UTC), Last: 12, Acked: 9,
		Lanes: []protocol.LaneHealth{{Name: "camera", State: protocol.LaneMissing, Reason: "unplugged"}},
	})
	if err != nil {
		panic(err)
	}
	h, err := protocol.DecodeHealth(b)
	if err != nil {
		panic(err)
	}
	fmt.Println(h.Device, h.Backlog(), h.Lanes[0].State, protocol.HealthPath(protocol.Version))
	// Output: T-1 3 missing /v1/health
}
