package terminal

import (
	"time"

	"sentinel/internal/clock"
	"sentinel/internal/gate"
	"sentinel/sync/client"
)

// monitorClock is the gate's clock: the system clock, trusted when
// internal/clock's Monitor says so (NTP, the centre's signed time, or a
// battery clock).
type monitorClock struct{ m *clock.Monitor }

var _ gate.Clock = monitorClock{}

func (c monitorClock) Now() (time.Time, bool) {
	t, trusted, _ := c.m.Now()
	return t, trusted
}

var (
	_ client.TimeObserver        = monitorClock{}
	_ client.TimeFailureObserver = monitorClock{}
	_ clockStater                = monitorClock{}
)

// ObserveSignedTime gives the Monitor the centre's signed time, which the
// sync download fetches.
func (c monitorClock) ObserveSignedTime(t time.Time, rtt time.Duration) {
	c.m.ObserveSignedTime(t, rtt)
}

// SignedTimeUnavailable tells the Monitor why the sync download got no
// signed time, so that the display can say it.
func (c monitorClock) SignedTimeUnavailable(code, why string) {
	c.m.SignedTimeUnavailable(code, why)
}

// ClockState returns the clock's trust with its reason.
func (c monitorClock) ClockState() clock.State { return c.m.State() }

// Offset returns the system clock's offset from the centre's signed time
// (clock.Monitor.Offset).
func (c monitorClock) Offset() (offset, errBound time.Duration, ok bool) { return c.m.Offset() }

// clockOffsetter is a clock that knows its offset from the centre's time.
type clockOffsetter interface {
	Offset() (offset, errBound time.Duration, ok bool)
}

var _ clockOffsetter = monitorClock{}

// clockStater is a clock that says why it is not trusted.
type clockStater interface {
	ClockState() clock.State
}
