package hardware

import (
	"errors"
	"strings"
	"testing"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"

	firmwareconfig "sentinel/firmware-config"
)

// fakeBoard hands out gpiotest pins by name; GPIO99 does not exist.
type fakeBoard map[string]*gpiotest.Pin

func (b fakeBoard) open(name string) (gpio.PinIO, error) {
	if name == "GPIO99" {
		return nil, errors.New("no such pin")
	}
	p := &gpiotest.Pin{N: name}
	b[name] = p
	return p, nil
}

func (b fakeBoard) level(name string) gpio.Level {
	p := b[name]
	p.Lock()
	defer p.Unlock()
	return p.L
}

// TestOpenOutputs opens a lane's relay, light tower and buzzer from the
// configuration on fake pins and admits one person.
func TestOpenOutputs(t *testing.T) {
	pins := fakeBoard{}
	cfg := firmwareconfig.Outputs{
		Relay:  &firmwareconfig.Relay{Pin: "GPIO17", Pulse: firmwareconfig.Duration(50 * time.Millisecond)},
		Tower:  &firmwareconfig.Tower{Green: "GPIO22", Red: "GPIO27"},
		Buzzer: &firmwareconfig.Buzzer{Pin: "GPIO23"},
	}
	out, err := OpenOutputs(cfg, pins.open)
	if err != nil || out == nil {
		t.Fatalf("OpenOutputs: %v", err)
	}
	if err := out.Admit(); err != nil {
		t.Fatal(err)
	}
	if pins.level("GPIO22") != gpio.High || pins.level("GPIO27") != gpio.Low {
		t.Error("after Admit the tower does not show green alone")
	}
	if pins.level("GPIO17") != gpio.Low || pins.level("GPIO23") != gpio.Low {
		t.Error("after Admit the relay or the buzzer is still on: the relay must be pulsed, never held")
	}
	if out, err := OpenOutputs(firmwareconfig.Outputs{}, pins.open); out != nil || err != nil {
		t.Errorf("no outputs: got %v %v, want nil nil", out, err)
	}
}

func TestOpenOutputsMissingPin(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  firmwareconfig.Outputs
		want string
	}{
		{"relay", firmwareconfig.Outputs{Relay: &firmwareconfig.Relay{Pin: "GPIO99"}}, "relay: no such pin"},
		{"tower", firmwareconfig.Outputs{Tower: &firmwareconfig.Tower{Green: "GPIO22", Red: "GPIO99"}}, "light tower: no such pin"},
		{"buzzer", firmwareconfig.Outputs{Buzzer: &firmwareconfig.Buzzer{Pin: "GPIO99"}}, "buzzer: no such pin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			out, err := OpenOutputs(tc.cfg, fakeBoard{}.open)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, %v; want an error containing %q", out, err, tc.want)
			}
		})
	}
}

func TestTowerPins(t *testing.T) {
	pins, err := TowerPins(&firmwareconfig.Tower{Green: "GPIO22", Red: "GPIO27"}, fakeBoard{}.open)
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"GPIO22", "", "GPIO27"} {
		got := ""
		if pins[i] != nil {
			got = pins[i].Name()
		}
		if got != want {
			t.Errorf("lamp %d: got pin %q, want %q", i, got, want)
		}
	}
}
