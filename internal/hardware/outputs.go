package hardware

import (
	"fmt"

	"periph.io/x/conn/v3/gpio"

	"sentinel/device/signal"
	firmwareconfig "sentinel/firmware-config"
)

// PinOpener opens a GPIO pin by name; signal.OpenPin opens the board's.
type PinOpener func(name string) (gpio.PinIO, error)

// OpenOutputs opens a lane's relay, light tower and buzzer on the pins that
// pin opens, with the default patterns; nil, nil when the lane has none.
func OpenOutputs(o firmwareconfig.Outputs, pin PinOpener) (*signal.Outputs, error) {
	if o.Relay == nil && o.Tower == nil && o.Buzzer == nil {
		return nil, nil
	}
	var relay *signal.Relay
	var tower *signal.Tower
	var buzzer *signal.Buzzer
	if o.Relay != nil {
		p, err := pin(o.Relay.Pin)
		if err != nil {
			return nil, fmt.Errorf("relay: %w", err)
		}
		if relay, err = signal.NewRelay(p, &signal.RelayOpts{ActiveLow: o.Relay.ActiveLow, PulseLength: o.Relay.Pulse.Std()}); err != nil {
			return nil, fmt.Errorf("relay: %w", err)
		}
	}
	if o.Tower != nil {
		pins, err := TowerPins(o.Tower, pin)
		if err != nil {
			return nil, fmt.Errorf("light tower: %w", err)
		}
		if tower, err = signal.NewTower(pins[0], pins[1], pins[2], &signal.TowerOpts{ActiveLow: o.Tower.ActiveLow}); err != nil {
			return nil, fmt.Errorf("light tower: %w", err)
		}
	}
	if o.Buzzer != nil {
		p, err := pin(o.Buzzer.Pin)
		if err != nil {
			return nil, fmt.Errorf("buzzer: %w", err)
		}
		if buzzer, err = signal.NewBuzzer(p, &signal.BuzzerOpts{ActiveLow: o.Buzzer.ActiveLow}); err != nil {
			return nil, fmt.Errorf("buzzer: %w", err)
		}
	}
	return signal.NewOutputs(relay, tower, buzzer, signal.DefaultPatterns())
}

// TowerPins opens a light tower's green, yellow and red pins, in that
// order; a lamp the configuration leaves out stays nil. The first pin that
// does not open ends it with that pin's error.
func TowerPins(t *firmwareconfig.Tower, pin PinOpener) ([3]gpio.PinOut, error) {
	var pins [3]gpio.PinOut
	for i, name := range []string{t.Green, t.Yellow, t.Red} {
		if name == "" {
			continue
		}
		p, err := pin(name)
		if err != nil {
			return [3]gpio.PinOut{}, err
		}
		pins[i] = p
	}
	return pins, nil
}
