package signal

import (
	"errors"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"

	"sentinel/internal/wallclock"
)

// Errors returned by this package. Match them with errors.Is.
var (
	// ErrPulseLength means a pulse length was zero, negative or longer
	// than MaxPulse.
	ErrPulseLength = errors.New("signal: pulse length must be positive and at most MaxPulse")

	// ErrRelayStuck means the relay pin could not be driven back to
	// inactive: the gate may be held open.
	ErrRelayStuck = errors.New("signal: relay could not be released, the gate may be held open: switch off the relay's power and check its wiring")

	// ErrHalted means Halt was called while the call waited for its turn.
	ErrHalted = errors.New("signal: halted")

	// ErrPattern means a buzzer pattern is empty, has a non-positive step
	// or is too long.
	ErrPattern = errors.New("signal: invalid buzzer pattern")
)

// levels returns the active and inactive levels for a polarity.
func levels(activeLow bool) (active, inactive gpio.Level) {
	if activeLow {
		return gpio.Low, gpio.High
	}
	return gpio.High, gpio.Low
}

// halter lets Halt interrupt a wait in another goroutine: a wait selects
// on the current channel, Halt closes it and installs a fresh one, so the
// output can be used again afterwards.
type halter struct {
	mu sync.Mutex
	ch chan struct{}
}

func (h *halter) done() <-chan struct{} {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ch == nil {
		h.ch = make(chan struct{})
	}
	return h.ch
}

func (h *halter) halt() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.ch != nil {
		close(h.ch)
	}
	h.ch = make(chan struct{})
}

// wait returns after d, or early (false) when halted.
func wait(c wallclock.Clock, halted <-chan struct{}, d time.Duration) bool {
	select {
	case <-c.After(d):
		return true
	case <-halted:
		return false
	}
}
