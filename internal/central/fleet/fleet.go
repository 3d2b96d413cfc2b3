package fleet

import (
	"fmt"
	"strings"
	"time"

	"sentinel/internal/central"
	"sentinel/sync/protocol"
)

// Health is a terminal's latest health report as the fleet views show it.
type Health struct {
	ReceivedAt time.Time `json:"received_at"`
	// AgeSeconds is how old the report was when the view was made.
	AgeSeconds float64   `json:"age_seconds"`
	DeviceTime time.Time `json:"device_time"`
	// ClockOffsetSeconds is the terminal's clock minus the centre's.
	ClockOffsetSeconds float64  `json:"clock_offset_seconds"`
	Software           string   `json:"software,omitempty"`
	LastSeq            uint64   `json:"last_seq"`
	AckedSeq           uint64   `json:"acked_seq"`
	Backlog            uint64   `json:"backlog"`
	Alarms             uint64   `json:"alarms"`
	Bundles            []Bundle `json:"bundles"`
	Lanes              []Lane   `json:"lanes"`
	// Faults are the lanes whose device is not ok, as "camera: missing
	// (unplugged)".
	Faults []string `json:"faults"`
}

// Bundle is one installed bundle of the terminal.
type Bundle struct {
	Kind      string `json:"kind"`
	Version   uint64 `json:"version"`
	Freshness string `json:"freshness,omitempty"`
}

// Lane is the state of one device of the terminal's lane.
type Lane struct {
	Name   string `json:"name"`
	State  string `json:"state"`
	Reason string `json:"reason,omitempty"`
}

// View decodes a stored report at now.
func View(h central.Health, now time.Time) (*Health, error) {
	rep, err := protocol.DecodeHealth(h.Report)
	if err != nil {
		return nil, fmt.Errorf("fleet: health of %s: %w", h.Device, err)
	}
	v := &Health{
		ReceivedAt: h.ReceivedAt.UTC(), AgeSeconds: now.Sub(h.ReceivedAt).Seconds(), DeviceTime: rep.Time.UTC(),
		ClockOffsetSeconds: protocol.ClockOffset(rep.Time, h.ReceivedAt, 0).Seconds(),
		Software:           rep.Software, LastSeq: rep.Last, AckedSeq: rep.Acked, Backlog: rep.Backlog(), Alarms: rep.Alarms,
		Bundles: []Bundle{}, Lanes: []Lane{}, Faults: []string{},
	}
	for _, b := range rep.Bundles {
		v.Bundles = append(v.Bundles, Bundle(b))
	}
	for _, l := range rep.Lanes {
		v.Lanes = append(v.Lanes, Lane(l))
		if l.State != protocol.LaneOK {
			f := l.Name + ": " + l.State
			if l.Reason != "" {
				f += " (" + l.Reason + ")"
			}
			v.Faults = append(v.Faults, f)
		}
	}
	return v, nil
}

// BundleText is the bundles as one column: "trust 7 fresh, status 3 stale".
func (h *Health) BundleText() string {
	if len(h.Bundles) == 0 {
		return "none"
	}
	parts := make([]string, len(h.Bundles))
	for i, b := range h.Bundles {
		parts[i] = fmt.Sprintf("%s %d %s", b.Kind, b.Version, b.Freshness)
	}
	return strings.Join(parts, ", ")
}

// FaultText is the faults as one column: "none" when every device is ok.
func (h *Health) FaultText() string {
	if len(h.Faults) == 0 {
		return "none"
	}
	return strings.Join(h.Faults, "; ")
}

// OffsetText is the clock offset rounded to the second, signed: "+2s".
func (h *Health) OffsetText() string {
	d := time.Duration(h.ClockOffsetSeconds * float64(time.Second)).Round(time.Second)
	if d >= 0 {
		return "+" + d.String()
	}
	return d.String()
}

// AgeText is the report's age rounded to the second.
func (h *Health) AgeText() string {
	return time.Duration(h.AgeSeconds * float64(time.Second)).Round(time.Second).String()
}
