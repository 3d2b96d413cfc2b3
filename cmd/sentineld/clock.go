package main

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

var _ client.TimeObserver = monitorClock{}

// ObserveSignedTime gives the Monitor the centre's signed time, which the
// sync download fetches.
func (c monitorClock) ObserveSignedTime(t time.Time, rtt time.Duration) {
	c.m.ObserveSignedTime(t, rtt)
}
