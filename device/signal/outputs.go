package signal

import (
	"errors"
	"fmt"
	"sync"
)

// Outputs is the gate's set of outputs. Any of them may be missing (nil) on
// a site that has none: a display-only lane has no relay.
type Outputs struct {
	relay    *Relay
	tower    *Tower
	buzzer   *Buzzer
	patterns Patterns
}

// NewOutputs bundles the outputs with the buzzer's patterns.
func NewOutputs(relay *Relay, tower *Tower, buzzer *Buzzer, patterns Patterns) (*Outputs, error) {
	if err := patterns.Validate(); err != nil {
		return nil, fmt.Errorf("signal: new outputs: %w", err)
	}
	return &Outputs{relay: relay, tower: tower, buzzer: buzzer, patterns: patterns}, nil
}

// Admit shows green, then pulses the relay (one passage) while the buzzer
// plays the admit pattern, and returns when both are done. Every output is
// driven even if another fails; the errors are joined.
func (o *Outputs) Admit() error {
	return o.event(Green, o.patterns.Admit, true)
}

// Refuse shows red and plays the refuse pattern. The relay stays shut.
func (o *Outputs) Refuse() error {
	return o.event(Red, o.patterns.Refuse, false)
}

// Fault shows yellow, calling the guard, and plays the fault pattern. The
// relay stays shut.
func (o *Outputs) Fault() error {
	return o.event(Yellow, o.patterns.Fault, false)
}

// Idle switches the light tower off between people.
func (o *Outputs) Idle() error {
	if o.tower == nil {
		return nil
	}
	return o.tower.Set(Off)
}

// Halt releases the relay, silences the buzzer and switches the lights
// off, interrupting whatever is in progress. Call it when the program
// stops.
func (o *Outputs) Halt() error {
	var errs []error
	if o.relay != nil {
		errs = append(errs, o.relay.Halt())
	}
	if o.buzzer != nil {
		errs = append(errs, o.buzzer.Halt())
	}
	if o.tower != nil {
		errs = append(errs, o.tower.Halt())
	}
	return errors.Join(errs...)
}

func (o *Outputs) event(l Light, p Pattern, pulse bool) error {
	var errs []error
	if o.tower != nil {
		errs = append(errs, o.tower.Set(l))
	}
	var wg sync.WaitGroup
	var buzzErr error
	if o.buzzer != nil {
		wg.Go(func() { buzzErr = o.buzzer.Play(p) })
	}
	if pulse && o.relay != nil {
		errs = append(errs, o.relay.Trigger())
	}
	wg.Wait()
	errs = append(errs, buzzErr)
	return errors.Join(errs...)
}
