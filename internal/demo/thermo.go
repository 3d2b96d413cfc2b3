package demo

import (
	"fmt"
	"io"
	"math"
	"time"

	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/physic"

	"sentinel/device/thermo"
	"sentinel/device/thermo/thermotest"
)

// Sampling of the demo's thermometers: the datasheet's registers replayed
// fast, four stable samples a person.
const (
	sampleWindow = 4
	ambientC     = 24.0
)

// Bus is a lane's simulated I²C bus: periph's Playback holding an
// MLX90614's register reads for each person the lane will measure. The
// demo fills it from its scenario; a test presents people one at a time
// (Present) and opens the lane's thermometer on it (Open), so a
// temperature goes through the real driver, sampler and gate.
type Bus struct {
	*i2ctest.Playback
}

// NewBus returns a bus that measures nobody until Present.
func NewBus() *Bus {
	return &Bus{&i2ctest.Playback{DontPanic: true}}
}

// Present queues one person at core temperature celsius: the next
// measurement at the lane reads them. A measurement with nobody queued
// fails, as a sensor that does not answer.
func (b *Bus) Present(celsius float64) {
	b.Lock()
	defer b.Unlock()
	b.Ops = append(b.Ops, person(celsius)...)
}

// Left returns the number of register reads queued and not yet read: 0
// once every person presented was measured.
func (b *Bus) Left() int {
	b.Lock()
	defer b.Unlock()
	return len(b.Ops) - b.Count
}

// Open opens the simulated MLX90614 on b, for a lane's thermometer: the
// driver, and b to close (closing fails if people were left unmeasured).
func (b *Bus) Open() (thermo.Source, io.Closer, error) {
	dev, err := thermo.NewMLX90614(b, thermo.DefaultAddr, &thermo.Opts{Attempts: 1})
	if err != nil {
		return nil, nil, fmt.Errorf("simulated thermometer: %w", err)
	}
	return dev, b, nil
}

// SamplerConfig returns the demo's sampling: thermo's defaults, sampled
// every 2 ms over a window of four.
func SamplerConfig() thermo.SamplerConfig {
	c := thermo.DefaultSamplerConfig()
	c.Interval = 2 * time.Millisecond
	c.Window = sampleWindow
	c.StuckAfter = sampleWindow
	c.Timeout = 2 * time.Second
	return c
}

// makeThermometers records, for each lane, the register reads of each
// person whose temperature is taken (the codes that verify), in order.
func (d *Demo) makeThermometers() {
	for _, c := range d.Codes {
		if c.Celsius == 0 {
			continue
		}
		b := d.thermo[c.Lane]
		if b == nil {
			b = NewBus()
			d.thermo[c.Lane] = b
		}
		b.Present(c.Celsius)
	}
}

// person returns the reads of one person at core temperature °C: the
// forehead's surface temperature that thermo's model turns into it, with
// the last bit alternating as a live sensor's does.
func person(core float64) []i2ctest.IO {
	k := thermo.DefaultCompensation
	surface := (core + k*ambientC) / (1 + k)
	return thermotest.MLX90614Samples(thermo.DefaultAddr, sampleWindow, degC(surface), degC(ambientC))
}

// degC is c °C.
func degC(c float64) physic.Temperature {
	return physic.ZeroCelsius + physic.Temperature(math.Round(c*float64(physic.Celsius)))
}

// Thermometer opens the simulated MLX90614 of lane: the driver on the
// lane's Playback bus. Closing the bus fails if readings were left over.
func (d *Demo) Thermometer(lane string) (thermo.Source, io.Closer, error) {
	b := d.thermo[lane]
	if b == nil {
		b = NewBus()
		d.thermo[lane] = b
	}
	return b.Open()
}
