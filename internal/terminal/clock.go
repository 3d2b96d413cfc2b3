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

// clockStater is a clock that says why it is not trusted.
type clockStater interface {
	ClockState() clock.State
}
