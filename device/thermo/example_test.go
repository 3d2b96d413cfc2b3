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
