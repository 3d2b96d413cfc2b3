// Package wallclock is the one time source the device drivers and the
// installer's hardware checks take: the system clock in production, and in
// a test that runs real I/O (ptys, child processes) a virtual clock, where
// a testing/synctest bubble cannot serve, since a goroutine blocked in a
// system call does not let the bubble's time move. Tests without real I/O
// run in a bubble on the system clock instead.
//
// It is a leaf: devices, internal/hardware and the commands share it
// without importing each other.
package wallclock

import "time"

// Clock tells the time and waits.
type Clock interface {
	Now() time.Time
	// After waits for d, like time.After.
	After(d time.Duration) <-chan time.Time
}

// System is the system clock (a synctest bubble's fake one inside a
// bubble).
type System struct{}

func (System) Now() time.Time                         { return time.Now() }
func (System) After(d time.Duration) <-chan time.Time { return time.After(d) }

// Or returns c, or System when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return System{}
	}
	return c
}
