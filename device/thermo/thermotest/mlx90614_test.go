package thermotest_test

import (
	"testing"

	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/physic"

	"sentinel/device/thermo"
	"sentinel/device/thermo/thermotest"
)

func TestMLX90614Raw(t *testing.T) {
	for _, tc := range []struct {
		name string
		t    physic.Temperature
		want uint16
	}{
		{"zero kelvin", 0, 0},
		{"zero celsius", physic.ZeroCelsius, 13657}, // 273.15 K is half-way: 273.14 K
		{"body", physic.ZeroCelsius + 36790*physic.MilliKelvin, 15497},
		{"room", physic.ZeroCelsius + 23*physic.Kelvin, 14807},
		{"just above a step", 300*physic.Kelvin + 9*physic.MilliKelvin, 15000},
		{"just below the next", 300*physic.Kelvin + 11*physic.MilliKelvin, 15001},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := thermotest.MLX90614Raw(tc.t); got != tc.want {
				t.Errorf("got %d, want %d", got, tc.want)
			}
		})
	}
}

// TestMLX90614Samples plays the traffic back to the driver, which checks
// every PEC and reads the temperatures back to within one step.
func TestMLX90614Samples(t *testing.T) {
	object := physic.ZeroCelsius + 34500*physic.MilliKelvin
	ambient := physic.ZeroCelsius + 23*physic.Kelvin
	const addr = 0x5B
	bus := &i2ctest.Playback{Ops: thermotest.MLX90614Samples(addr, 4, object, ambient)}
	dev, err := thermo.NewMLX90614(bus, addr, &thermo.Opts{Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	var prev thermo.Sample
	for i := range 4 {
		s, err := dev.Read()
		if err != nil {
			t.Fatalf("sample %d: %v", i, err)
		}
		if d := s.Object - object; d < -20*physic.MilliKelvin || d > 20*physic.MilliKelvin {
			t.Errorf("sample %d: got object %v, want %v within 0.02 K", i, s.Object, object)
		}
		if d := s.Ambient - ambient; d < -10*physic.MilliKelvin || d > 10*physic.MilliKelvin {
			t.Errorf("sample %d: got ambient %v, want %v within 0.01 K", i, s.Ambient, ambient)
		}
		if i > 0 && s.Object == prev.Object {
			t.Errorf("sample %d: object %v again: it must alternate by a step", i, s.Object)
		}
		prev = s
	}
	if err := bus.Close(); err != nil {
		t.Errorf("ops left over: %v", err)
	}
}

// TestMLX90614ReadPEC checks the frame against the datasheet's example:
// a read of Tobj1 at 0x5A answering 0x3AD2 carries PEC 0x30.
func TestMLX90614ReadPEC(t *testing.T) {
	io := thermotest.MLX90614Read(0x5A, thermotest.MLX90614Object, 0x3AD2)
	if io.Addr != 0x5A || len(io.W) != 1 || io.W[0] != 0x07 {
		t.Errorf("got address %#x, write %x; want 0x5a, 07", io.Addr, io.W)
	}
	if want := []byte{0xD2, 0x3A, 0x30}; string(io.R) != string(want) {
		t.Errorf("got answer %x, want %x", io.R, want)
	}
}

func TestMLX90614SamplesBadPEC(t *testing.T) {
	ops := thermotest.MLX90614Samples(thermo.DefaultAddr, 1, physic.ZeroCelsius+30*physic.Kelvin, physic.ZeroCelsius+20*physic.Kelvin)
	ops[0].R[2] ^= 0xFF
	dev, err := thermo.NewMLX90614(&i2ctest.Playback{Ops: ops, DontPanic: true}, thermo.DefaultAddr, &thermo.Opts{Attempts: 1})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dev.Read(); err == nil {
		t.Error("got no error for a corrupted PEC, want one: the driver must see thermo.PEC's code")
	}
}
