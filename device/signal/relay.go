package signal

import (
	"errors"
	"fmt"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/gpio"

	"sentinel/internal/wallclock"
)

// MaxPulse is the longest pulse a Relay gives, whatever it is asked: the
// relay is pulsed, never held.
const MaxPulse = 10 * time.Second

// DefaultPulseLength suits a turnstile's pulse input. Door strikes usually
// need 3 to 5 s, for the person to push the door.
const DefaultPulseLength = 500 * time.Millisecond

// releaseAttempts is how many times the pin is driven inactive before
// ErrRelayStuck is returned.
const releaseAttempts = 3

// RelayOpts configures a Relay. The zero value gives an active-high relay
// pulsed for DefaultPulseLength.
type RelayOpts struct {
	// ActiveLow is set for relay boards that switch on a low input (most
	// opto-isolated boards for the Raspberry Pi).
	ActiveLow bool
	// PulseLength is the length of Trigger's pulse; zero means
	// DefaultPulseLength. At most MaxPulse.
	PulseLength time.Duration
	// Clock times the pulses; nil means the system clock.
	Clock wallclock.Clock
}

// Relay drives the turnstile or door relay with pulses.
//
// It is safe for concurrent use: pulses take turns, and Halt interrupts
// the current one.
type Relay struct {
	pin              gpio.PinOut
	active, inactive gpio.Level
	length           time.Duration
	clock            wallclock.Clock
	halter           halter

	// turn holds a token for the length of a pulse. A channel rather than
	// a mutex, so that a waiting pulse can be cancelled.
	turn chan struct{}
}

var _ conn.Resource = (*Relay)(nil)

// NewRelay returns a Relay on p and drives p inactive at once, releasing a
// line that a crashed predecessor may have left active. opts may be nil.
func NewRelay(p gpio.PinOut, opts *RelayOpts) (*Relay, error) {
	if p == nil {
		return nil, errors.New("signal: new relay: nil pin")
	}
	o := RelayOpts{}
	if opts != nil {
		o = *opts
	}
	if o.PulseLength == 0 {
		o.PulseLength = DefaultPulseLength
	}
	if o.PulseLength < 0 || o.PulseLength > MaxPulse {
		return nil, fmt.Errorf("signal: new relay: pulse length %s: %w (%s)", o.PulseLength, ErrPulseLength, MaxPulse)
	}
	r := &Relay{pin: p, length: o.PulseLength, clock: wallclock.Or(o.Clock), turn: make(chan struct{}, 1)}
	r.active, r.inactive = levels(o.ActiveLow)
	if err := r.release(); err != nil {
		return nil, fmt.Errorf("signal: new relay on %s: %w", p, err)
	}
	return r, nil
}

// String implements conn.Resource.
func (r *Relay) String() string { return fmt.Sprintf("relay(%s)", r.pin) }

// PulseLength returns the length of Trigger's pulse.
func (r *Relay) PulseLength() time.Duration { return r.length }

// Trigger gives one pulse of the configured length: one passage.
func (r *Relay) Trigger() error { return r.Pulse(r.length) }

// Pulse drives the relay active for d, then inactive, and returns when the
// pulse is over. The pin is driven inactive on every way out, also when
// driving it active failed and when the call panics; Halt ends the pulse
// early, and a pulse still waiting for its turn when Halt is called
// returns ErrHalted without driving the pin. d must be in (0, MaxPulse].
func (r *Relay) Pulse(d time.Duration) (err error) {
	if d <= 0 || d > MaxPulse {
		return fmt.Errorf("signal: pulse %s: %w (%s)", d, ErrPulseLength, MaxPulse)
	}
	halted := r.halter.done()
	// Wait for our turn; Halt cancels a pulse that is still waiting.
	select {
	case r.turn <- struct{}{}:
	case <-halted:
		return fmt.Errorf("signal: pulse on %s: %w", r.pin, ErrHalted)
	}
	defer func() { <-r.turn }()
	select { // both may have been ready: Halt wins
	case <-halted:
		return fmt.Errorf("signal: pulse on %s: %w", r.pin, ErrHalted)
	default:
	}
	defer func() {
		if rerr := r.release(); rerr != nil {
			err = errors.Join(err, fmt.Errorf("signal: pulse on %s: %w", r.pin, rerr))
		}
	}()
	if err := r.pin.Out(r.active); err != nil {
		return fmt.Errorf("signal: pulse on %s: drive active: %w", r.pin, err)
	}
	wait(r.clock, halted, d)
	return nil
}

// Halt implements conn.Resource: it ends a pulse in progress and drives
// the relay inactive. The relay can be pulsed again afterwards.
func (r *Relay) Halt() error {
	r.halter.halt()
	r.turn <- struct{}{}
	defer func() { <-r.turn }()
	if err := r.release(); err != nil {
		return fmt.Errorf("signal: halt %s: %w", r.pin, err)
	}
	return nil
}

// release drives the pin inactive, trying a few times.
func (r *Relay) release() error {
	var errs []error
	for range releaseAttempts {
		err := r.pin.Out(r.inactive)
		if err == nil {
			return nil
		}
		errs = append(errs, err)
	}
	return fmt.Errorf("%w: %w", ErrRelayStuck, errors.Join(errs...))
}
