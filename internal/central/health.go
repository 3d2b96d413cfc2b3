package central

import (
	"context"
	"errors"
	"time"
)

// MaxHealthReport bounds a stored health report in bytes.
const MaxHealthReport = 64 << 10

// Health is the latest health report of a terminal as the centre keeps
// it: the report's bytes unchanged (protocol.DecodeHealth opens them) and
// the centre's clock when it arrived.
type Health struct {
	Device     string
	ReceivedAt time.Time
	Report     []byte
}

// HealthStore keeps the latest health report of each device.
// *boltstore.Store and *pgstore.Store are.
type HealthStore interface {
	// PutHealth replaces the device's report.
	PutHealth(ctx context.Context, device string, report []byte, receivedAt time.Time) error
	// Health returns the device's latest report; ok is false when the
	// device never reported.
	Health(ctx context.Context, device string) (h Health, ok bool, err error)
}

// ErrHealth is wrapped by PutHealth's refusal of an empty device or a
// report that is empty or larger than MaxHealthReport.
var ErrHealth = errors.New("central: malformed health report")

// CheckHealth checks a report before a store keeps it; the error wraps
// ErrHealth.
func CheckHealth(device string, report []byte, receivedAt time.Time) error {
	switch {
	case device == "":
		return errors.Join(ErrHealth, errors.New("empty device name"))
	case len(report) == 0 || len(report) > MaxHealthReport:
		return errors.Join(ErrHealth, errors.New("report must be 1 to 64 KiB"))
	case receivedAt.IsZero():
		return errors.Join(ErrHealth, errors.New("no time of receipt"))
	}
	return nil
}
