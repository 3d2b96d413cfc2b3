package protocol

import (
	"fmt"
	"time"
	"unicode/utf8"

	"sentinel/crypto/cose"
)

// Health limits and content type.
const (
	// HealthType is the content type of a health report.
	HealthType = "application/x-sentinel-health"
	// MaxHealth bounds an encoded health report in bytes.
	MaxHealth = 16 << 10
	// MaxHealthItems bounds the bundles and the lanes of one report.
	MaxHealthItems = 32
	// MaxHealthText bounds a name, state, reason or version string in bytes.
	MaxHealthText = 256
)

// Lane states of a health report.
const (
	LaneOK          = "ok"
	LaneMissing     = "missing"
	LaneUnavailable = "unavailable"
)

// HealthPath is the HTTP path of a health report in protocol version v.
func HealthPath(v int) string { return fmt.Sprintf("/v%d/health", v) }

// Health is a terminal's report of its state to the centre.
type Health struct {
	Version  int
	Device   string
	Time     time.Time // the terminal's clock when it built the report
	Software string    // the terminal's software version
	Last     uint64    // the journal's last sequence number
	Acked    uint64    // the last sequence number the centre acknowledged
	Alarms   uint64    // alarms in the journal
	Bundles  []BundleHealth
	Lanes    []LaneHealth
}

// Backlog is the number of journal records not yet acknowledged.
func (h *Health) Backlog() uint64 {
	if h.Acked >= h.Last {
		return 0
	}
	return h.Last - h.Acked
}

// BundleHealth is one installed bundle.
type BundleHealth struct {
	Kind      string
	Version   uint64
	Freshness string // fresh, grace, stale or blocked
}

// LaneHealth is the state of one device of the lane.
type LaneHealth struct {
	Name   string // scanner, camera, thermometer
	State  string // LaneOK, LaneMissing or LaneUnavailable
	Reason string // short, empty when ok
}

type wireHealth struct {
	Version  uint64       `cbor:"1,keyasint"`
	Device   string       `cbor:"2,keyasint"`
	Time     int64        `cbor:"3,keyasint"` // Unix milliseconds
	Software string       `cbor:"4,keyasint,omitempty"`
	Last     uint64       `cbor:"5,keyasint,omitempty"`
	Acked    uint64       `cbor:"6,keyasint,omitempty"`
	Alarms   uint64       `cbor:"7,keyasint,omitempty"`
	Bundles  []wireBundle `cbor:"8,keyasint,omitempty"`
	Lanes    []wireLane   `cbor:"9,keyasint,omitempty"`
}

type wireBundle struct {
	Kind      string `cbor:"1,keyasint"`
	Version   uint64 `cbor:"2,keyasint,omitempty"`
	Freshness string `cbor:"3,keyasint,omitempty"`
}

type wireLane struct {
	Name   string `cbor:"1,keyasint"`
	State  string `cbor:"2,keyasint"`
	Reason string `cbor:"3,keyasint,omitempty"`
}

func text(field string, s string, empty bool) error {
	if (!empty && s == "") || len(s) > MaxHealthText || !utf8.ValidString(s) {
		return malformed("%s must be up to %d bytes of UTF-8", field, MaxHealthText)
	}
	return nil
}

// Check reports whether h is within the protocol's bounds.
func (h *Health) Check() error {
	switch {
	case h.Version < MinVersion || h.Version > Version:
		return &Error{Kind: ErrVersion, Detail: fmt.Sprintf("version %d, this side serves %d to %d: upgrade the terminal or the centre", h.Version, MinVersion, Version)}
	case h.Device == "" || len(h.Device) > MaxDeviceLen || !utf8.ValidString(h.Device):
		return malformed("device id must be 1 to %d bytes of UTF-8", MaxDeviceLen)
	case h.Time.IsZero() || h.Time.UnixMilli() == 0:
		return malformed("no device time")
	case len(h.Bundles) > MaxHealthItems || len(h.Lanes) > MaxHealthItems:
		return &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("%d bundles and %d lanes, at most %d each", len(h.Bundles), len(h.Lanes), MaxHealthItems)}
	}
	if err := text("software", h.Software, true); err != nil {
		return err
	}
	for i, b := range h.Bundles {
		if err := text(fmt.Sprintf("bundle %d kind", i), b.Kind, false); err != nil {
			return err
		}
		if err := text(fmt.Sprintf("bundle %d freshness", i), b.Freshness, true); err != nil {
			return err
		}
	}
	for i, l := range h.Lanes {
		if err := text(fmt.Sprintf("lane %d name", i), l.Name, false); err != nil {
			return err
		}
		switch l.State {
		case LaneOK, LaneMissing, LaneUnavailable:
		default:
			return malformed("lane %d state %q, want ok, missing or unavailable", i, l.State)
		}
		if err := text(fmt.Sprintf("lane %d reason", i), l.Reason, true); err != nil {
			return err
		}
	}
	return nil
}

// EncodeHealth checks h and returns its canonical CBOR. A zero h.Version
// means Version.
func EncodeHealth(h *Health) ([]byte, error) {
	if h.Version == 0 {
		c := *h
		c.Version = Version
		h = &c
	}
	if err := h.Check(); err != nil {
		return nil, fmt.Errorf("protocol: encode health: %w", err)
	}
	w := wireHealth{
		Version: uint64(h.Version), Device: h.Device, Time: h.Time.UnixMilli(), Software: h.Software,
		Last: h.Last, Acked: h.Acked, Alarms: h.Alarms,
	}
	for _, b := range h.Bundles {
		w.Bundles = append(w.Bundles, wireBundle(b))
	}
	for _, l := range h.Lanes {
		w.Lanes = append(w.Lanes, wireLane(l))
	}
	b, err := cose.EncMode().Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("protocol: encode health: %w", err)
	}
	if len(b) > MaxHealth {
		return nil, fmt.Errorf("protocol: encode health: %w", &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("%d bytes, at most %d", len(b), MaxHealth)})
	}
	return b, nil
}

// DecodeHealth decodes a health report strictly: at most MaxHealth bytes,
// canonical CBOR without unknown fields, a served version, fields in
// bounds.
func DecodeHealth(b []byte) (*Health, error) {
	if len(b) > MaxHealth {
		return nil, &Error{Kind: ErrTooLarge, Detail: fmt.Sprintf("health report of %d bytes, at most %d", len(b), MaxHealth)}
	}
	var w wireHealth
	if err := decodeCanonical(b, &w); err != nil {
		return nil, err
	}
	if w.Version < MinVersion || w.Version > Version {
		return nil, &Error{Kind: ErrVersion, Detail: fmt.Sprintf("version %d, this side serves %d to %d: upgrade the terminal or the centre", w.Version, MinVersion, Version)}
	}
	h := &Health{
		Version: int(w.Version), Device: w.Device, Software: w.Software,
		Last: w.Last, Acked: w.Acked, Alarms: w.Alarms,
	}
	if w.Time != 0 {
		h.Time = time.UnixMilli(w.Time).UTC()
	}
	for _, x := range w.Bundles {
		h.Bundles = append(h.Bundles, BundleHealth(x))
	}
	for _, x := range w.Lanes {
		h.Lanes = append(h.Lanes, LaneHealth(x))
	}
	if err := h.Check(); err != nil {
		return nil, err
	}
	return h, nil
}

// ClockOffset is the terminal's clock minus the centre's: device time
// minus the time the centre received the report, plus half the request's
// round trip when known (the report was built before it travelled).
func ClockOffset(device, received time.Time, rtt time.Duration) time.Duration {
	return device.Sub(received) + rtt/2
}
