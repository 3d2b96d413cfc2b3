package signal

import (
	"errors"
	"fmt"
	"sync"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/gpio"
)

// Light is what the light tower shows.
type Light int

// The light tower's states: one colour at a time, or none.
const (
	Off Light = iota
	Green
	Yellow
	Red
)

func (l Light) String() string {
	switch l {
	case Off:
		return "off"
	case Green:
		return "green"
	case Yellow:
		return "yellow"
	case Red:
		return "red"
	}
	return fmt.Sprintf("Light(%d)", int(l))
}

// TowerOpts configures a Tower. The zero value is an active-high tower.
type TowerOpts struct {
	// ActiveLow is set when a lamp lights on a low input.
	ActiveLow bool
}

// Tower is a light tower with a green, a yellow and a red lamp, of which at
// most one is lit.
//
// It is safe for concurrent use.
type Tower struct {
	pins             [3]gpio.PinOut // green, yellow, red
	active, inactive gpio.Level

	mu  sync.Mutex
	cur Light
}

var _ conn.Resource = (*Tower)(nil)

// NewTower returns a Tower on the three pins and switches every lamp off.
// A pin may be nil for a tower without that colour; showing it is then an
// error. opts may be nil.
func NewTower(green, yellow, red gpio.PinOut, opts *TowerOpts) (*Tower, error) {
	if green == nil && yellow == nil && red == nil {
		return nil, errors.New("signal: new light tower: no pins")
	}
	o := TowerOpts{}
	if opts != nil {
		o = *opts
	}
	t := &Tower{pins: [3]gpio.PinOut{green, yellow, red}}
	t.active, t.inactive = levels(o.ActiveLow)
	if err := t.Set(Off); err != nil {
		return nil, fmt.Errorf("signal: new light tower: %w", err)
	}
	return t, nil
}

// String implements conn.Resource.
func (t *Tower) String() string { return "light tower" }

// Light returns what the tower was last set to show.
func (t *Tower) Light() Light {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.cur
}

// Set shows l: it switches the other lamps off first, then lights l's, so
// two colours are never lit together.
func (t *Tower) Set(l Light) error {
	if l < Off || l > Red {
		return fmt.Errorf("signal: light tower: unknown light %d", int(l))
	}
	if l != Off && t.pins[l-1] == nil {
		return fmt.Errorf("signal: light tower: no %s lamp configured", l)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	var errs []error
	for i, p := range t.pins {
		if p == nil || Light(i+1) == l {
			continue
		}
		if err := p.Out(t.inactive); err != nil {
			errs = append(errs, fmt.Errorf("switch %s off: %w", Light(i+1), err))
		}
	}
	if l != Off {
		if err := t.pins[l-1].Out(t.active); err != nil {
			errs = append(errs, fmt.Errorf("light %s: %w", l, err))
		}
	}
	if len(errs) > 0 {
		t.cur = Off // unknown; Off makes the next Set drive every pin
		return fmt.Errorf("signal: light tower: %w", errors.Join(errs...))
	}
	t.cur = l
	return nil
}

// Halt implements conn.Resource: every lamp off.
func (t *Tower) Halt() error { return t.Set(Off) }
