package main

import (
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	firmwareconfig "sentinel/firmware-config"
)

// TestOpenOutputs opens a lane's relay, light tower and buzzer from the
// configuration on fake pins and admits one person.
func TestOpenOutputs(t *testing.T) {
	pins := map[string]*gpiotest.Pin{}
	d := &daemon{logger: slog.New(slog.DiscardHandler), hw: hardware{pin: func(name string) (gpio.PinIO, error) {
		if name == "GPIO99" {
			return nil, errors.New("no such pin")
		}
		p := &gpiotest.Pin{N: name}
		pins[name] = p
		return p, nil
	}}}
	cfg := firmwareconfig.Outputs{
		Relay:  &firmwareconfig.Relay{Pin: "GPIO17", Pulse: firmwareconfig.Duration(50 * time.Millisecond)},
		Tower:  &firmwareconfig.Tower{Green: "GPIO22", Red: "GPIO27"},
		Buzzer: &firmwareconfig.Buzzer{Pin: "GPIO23"},
	}
	out, err := d.openOutputs(cfg)
	if err != nil || out == nil {
		t.Fatalf("openOutputs: %v", err)
	}
	if err := out.Admit(); err != nil {
		t.Fatal(err)
	}
	level := func(name string) gpio.Level {
		p := pins[name]
		p.Lock()
		defer p.Unlock()
		return p.L
	}
	if level("GPIO22") != gpio.High || level("GPIO27") != gpio.Low {
		t.Error("after Admit the tower does not show green alone")
	}
	if level("GPIO17") != gpio.Low || level("GPIO23") != gpio.Low {
		t.Error("after Admit the relay or the buzzer is still on: the relay must be pulsed, never held")
	}
	if out, err := d.openOutputs(firmwareconfig.Outputs{}); out != nil || err != nil {
		t.Errorf("no outputs: got %v %v, want nil nil", out, err)
	}
	_, err = d.openOutputs(firmwareconfig.Outputs{Relay: &firmwareconfig.Relay{Pin: "GPIO99"}})
	if err == nil || !strings.Contains(err.Error(), "relay") {
		t.Errorf("missing relay pin: got %v, want an error naming the relay", err)
	}
}
