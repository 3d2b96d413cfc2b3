package signal

import (
	"errors"
	"fmt"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/gpio"

	"sentinel/internal/wallclock"
)

// MaxPattern is the longest a buzzer pattern may last.
const MaxPattern = 5 * time.Second

// Pattern is a sound as data: alternating on and off durations, starting
// with on. {150ms} is one short beep; {100ms, 100ms, 100ms} two.
type Pattern []time.Duration

// Duration is how long the pattern plays.
func (p Pattern) Duration() time.Duration {
	var d time.Duration
	for _, s := range p {
		d += s
	}
	return d
}

// Validate refuses empty patterns, non-positive steps, a trailing silence
// (it would only delay the caller) and patterns longer than MaxPattern.
func (p Pattern) Validate() error {
	if len(p) == 0 {
		return fmt.Errorf("empty: %w", ErrPattern)
	}
	if len(p)%2 == 0 {
		return fmt.Errorf("%d steps ends with a silence: %w", len(p), ErrPattern)
	}
	for i, s := range p {
		if s <= 0 {
			return fmt.Errorf("step %d is %s: %w", i, s, ErrPattern)
		}
	}
	if d := p.Duration(); d > MaxPattern {
		return fmt.Errorf("lasts %s, more than %s: %w", d, MaxPattern, ErrPattern)
	}
	return nil
}

// Patterns are the buzzer's sounds for the gate's three events.
type Patterns struct {
	Admit  Pattern
	Refuse Pattern
	Fault  Pattern
}

// DefaultPatterns returns sounds that a guard tells apart without looking:
// admit is one short beep, refuse three short beeps, fault two long tones.
func DefaultPatterns() Patterns {
	ms := time.Millisecond
	return Patterns{
		Admit:  Pattern{150 * ms},
		Refuse: Pattern{100 * ms, 100 * ms, 100 * ms, 100 * ms, 100 * ms},
		Fault:  Pattern{600 * ms, 200 * ms, 600 * ms},
	}
}

// Validate checks every pattern.
func (p Patterns) Validate() error {
	for _, x := range []struct {
		name string
		p    Pattern
	}{{"admit", p.Admit}, {"refuse", p.Refuse}, {"fault", p.Fault}} {
		if err := x.p.Validate(); err != nil {
			return fmt.Errorf("%s pattern: %w", x.name, err)
		}
	}
	return nil
}

// BuzzerOpts configures a Buzzer. The zero value is an active-high buzzer.
type BuzzerOpts struct {
	// ActiveLow is set when the buzzer sounds on a low input.
	ActiveLow bool
	// Clock times the patterns; nil means the system clock.
	Clock wallclock.Clock
}

// Buzzer is an active buzzer switched by a pin.
//
// It is safe for concurrent use: patterns take turns, and Halt silences the
// current one.
type Buzzer struct {
	pin              gpio.PinOut
	active, inactive gpio.Level
	clock            wallclock.Clock
	halter           halter

	turn chan struct{} // holds a token while a pattern plays
}

var _ conn.Resource = (*Buzzer)(nil)

// NewBuzzer returns a Buzzer on p and silences it. opts may be nil.
func NewBuzzer(p gpio.PinOut, opts *BuzzerOpts) (*Buzzer, error) {
	if p == nil {
		return nil, errors.New("signal: new buzzer: nil pin")
	}
	o := BuzzerOpts{}
	if opts != nil {
		o = *opts
	}
	b := &Buzzer{pin: p, clock: wallclock.Or(o.Clock), turn: make(chan struct{}, 1)}
	b.active, b.inactive = levels(o.ActiveLow)
	if err := p.Out(b.inactive); err != nil {
		return nil, fmt.Errorf("signal: new buzzer on %s: %w", p, err)
	}
	return b, nil
}

// String implements conn.Resource.
func (b *Buzzer) String() string { return fmt.Sprintf("buzzer(%s)", b.pin) }

// Play sounds p and returns when it is over, with the buzzer silent. Halt
// cuts it short.
func (b *Buzzer) Play(p Pattern) (err error) {
	if err := p.Validate(); err != nil {
		return fmt.Errorf("signal: play: %w", err)
	}
	halted := b.halter.done()
	select {
	case b.turn <- struct{}{}:
	case <-halted:
		return fmt.Errorf("signal: play on %s: %w", b.pin, ErrHalted)
	}
	defer func() { <-b.turn }()
	select { // both may have been ready: Halt wins
	case <-halted:
		return fmt.Errorf("signal: play on %s: %w", b.pin, ErrHalted)
	default:
	}
	defer func() {
		if serr := b.pin.Out(b.inactive); serr != nil {
			err = errors.Join(err, fmt.Errorf("signal: play on %s: silence: %w", b.pin, serr))
		}
	}()
	for i, d := range p {
		l := b.active
		if i%2 == 1 {
			l = b.inactive
		}
		if err := b.pin.Out(l); err != nil {
			return fmt.Errorf("signal: play on %s: step %d: %w", b.pin, i, err)
		}
		if !wait(b.clock, halted, d) {
			return nil
		}
	}
	return nil
}

// Halt implements conn.Resource: it silences the buzzer, ending a pattern
// in progress.
func (b *Buzzer) Halt() error {
	b.halter.halt()
	b.turn <- struct{}{}
	defer func() { <-b.turn }()
	if err := b.pin.Out(b.inactive); err != nil {
		return fmt.Errorf("signal: halt %s: %w", b.pin, err)
	}
	return nil
}
