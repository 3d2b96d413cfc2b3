package thermo_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/physic"

	"sentinel/device/thermo"
)

func ExampleNewMLX90614() {
	// On the terminal: b, err := thermo.OpenBus("1"); defer b.Close().
	// Here the bus replays the datasheet's worked example.
	b := &i2ctest.Playback{Ops: []i2ctest.IO{
		{Addr: 0x5A, W: []byte{0x07}, R: []byte{0xD2, 0x3A, 0x30}},
	}}
	d, err := thermo.NewMLX90614(b, thermo.DefaultAddr, nil)
	if err != nil {
		log.Fatal(err)
	}
	t, err := d.Object()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%.2f °C\n", t.Celsius())
	if err := b.Close(); err != nil {
		log.Fatal(err)
	}
	// Output: 28.01 °C
}

func ExampleNewMLX90632() {
	// The bus replays an MLX90632 with the example calibration constants
	// of Melexis' reference library.
	word := func(reg, v uint16) i2ctest.IO {
		return i2ctest.IO{Addr: 0x3A, W: []byte{byte(reg >> 8), byte(reg)}, R: []byte{byte(v >> 8), byte(v)}}
	}
	ops := []i2ctest.IO{word(0x240B, 0x0105)} // EEPROM version: DSP v5
	for i, v := range []uint16{
		0x7F5B, 0x0058, 0x0289, 0x04A1, 0x66F8, 0xFFF9, 0x1E0F, 0x0000, // P_R, P_G, P_T, P_O
		0x268F, 0x004A, 0xC4EC, 0x0056, 0xC481, 0x0335, 0x3525, 0x028E, 0xE306, 0xFF21, // Ea, Eb, Fa, Fb, Ga
	} {
		reg := 0x240C + uint16(i)
		if i >= 8 {
			reg += 0x10 // Ea..Ga start at 0x2424
		}
		ops = append(ops, word(reg, v))
	}
	ops = append(ops, word(0x242E, 9728), word(0x242F, 10752), word(0x2481, 16384), word(0x2482, 0))
	ops = append(ops,
		word(0x3FFF, 0x0005), // status
		i2ctest.IO{Addr: 0x3A, W: []byte{0x3F, 0xFF, 0x00, 0x04}}, // clear data ready
		word(0x3FFF, 0x0009),                     // new data at position 2
		word(0x4005, 22454), word(0x4008, 23030), // ambient
		word(0x4007, 609), word(0x4006, 609), word(0x4004, 611), word(0x4003, 611), // object
	)
	b := &i2ctest.Playback{Ops: ops}
	d, err := thermo.NewMLX90632(b, thermo.DefaultAddr90632, nil)
	if err != nil {
		log.Fatal(err)
	}
	s, err := d.Read()
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("object %.1f °C, ambient %.1f °C\n", s.Object.Celsius(), s.Ambient.Celsius())
	if err := b.Close(); err != nil {
		log.Fatal(err)
	}
	// Output: object 55.5 °C, ambient 48.7 °C
}

// steady is a Source that always sees a forehead at 34.5 °C in a 24 °C
// room, with a little noise.
type steady struct{ n int }

func (s *steady) Read() (thermo.Sample, error) {
	s.n++
	noise := physic.Temperature(s.n%3) * 20 * physic.MilliKelvin
	return thermo.Sample{
		Object:  physic.ZeroCelsius + 34500*physic.MilliKelvin + noise,
		Ambient: physic.ZeroCelsius + 24*physic.Celsius,
	}, nil
}

func ExampleNewSampler() {
	// On the terminal the source is the *thermo.Dev, and the calibration
	// comes from thermo.LoadCalibration(dataDir).
	cfg := thermo.DefaultSamplerConfig()
	cfg.Interval = 10 * time.Millisecond // faster than the sensor, for the example
	s, err := thermo.NewSampler(&steady{}, cfg)
	if err != nil {
		log.Fatal(err)
	}
	r, err := s.Measure(context.Background())
	var ue *thermo.UnavailableError
	switch {
	case errors.As(err, &ue):
		fmt.Println("thermometer unavailable:", ue.Reason)
	case errors.Is(err, thermo.ErrUnstable), errors.Is(err, thermo.ErrNoPerson):
		fmt.Println("retake")
	case err != nil:
		log.Fatal(err)
	default:
		fmt.Printf("%.1f °C from %d samples\n", r.Value.Celsius(), r.Samples)
	}
	// Output: 36.5 °C from 8 samples
}

type blackbody struct{ n int }

func (s *blackbody) Read() (thermo.Sample, error) {
	s.n++
	noise := physic.Temperature(s.n%2) * 20 * physic.MilliKelvin
	return thermo.Sample{
		Object:  physic.ZeroCelsius + 36600*physic.MilliKelvin + noise,
		Ambient: physic.ZeroCelsius + 22*physic.Celsius,
	}, nil
}

func ExampleCalibrate() {
	dataDir, err := os.MkdirTemp("", "sentinel-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dataDir)

	// What `sentinelctl calibrate thermo --reference 37.0` does, with a
	// blackbody at 37.0 °C that the sensor reads as about 36.61 °C.
	var ref physic.Temperature
	if err := ref.Set("37C"); err != nil {
		log.Fatal(err)
	}
	cfg := thermo.CalibrationSamplerConfig()
	cfg.Interval = 10 * time.Millisecond // faster than the sensor, for the example
	cal, err := thermo.Calibrate(context.Background(), &blackbody{}, ref, &cfg)
	if err != nil {
		log.Fatal(err) // the message tells the installer what to fix
	}
	if err := thermo.SaveCalibration(dataDir, cal); err != nil {
		log.Fatal(err)
	}
	got, err := thermo.LoadCalibration(dataDir)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("offset %+.2f K, stored in %s\n", float64(got.Offset)/float64(physic.Kelvin), filepath.Base(thermo.CalibrationFile))
	// Output: offset +0.39 K, stored in thermo-calibration.json
}
