package demo

import (
	"fmt"
	"io"
	"math"
	"time"

	"periph.io/x/conn/v3/i2c/i2ctest"

	"sentinel/device/thermo"
)

// Sampling of the demo's thermometers: the datasheet's registers replayed
// fast, four stable samples a person.
const (
	sampleWindow = 4
	ambientC     = 24.0
)

// Bus is a lane's simulated I²C bus: periph's Playback holding an
// MLX90614's register reads for each person the lane will measure.
type Bus struct {
	*i2ctest.Playback
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
			b = &Bus{&i2ctest.Playback{DontPanic: true}}
			d.thermo[c.Lane] = b
		}
		b.Ops = append(b.Ops, person(c.Celsius)...)
	}
}

// person returns the reads of one person at core temperature °C: the
// forehead's surface temperature that thermo's model turns into it, with
// the last bit alternating as a live sensor's does.
func person(core float64) []i2ctest.IO {
	k := thermo.DefaultCompensation
	surface := (core + k*ambientC) / (1 + k)
	var ops []i2ctest.IO
	for i := range sampleWindow {
		obj := raw(surface) + uint16(i%2)
		ops = append(ops, read(0x07, obj), read(0x06, raw(ambientC)))
	}
	return ops
}

// raw is an MLX90614 RAM value: units of 0.02 K.
func raw(celsius float64) uint16 {
	return uint16(math.Round((celsius + 273.15) / 0.02))
}

// read is one SMBus read word of register cmd with its PEC.
func read(cmd byte, v uint16) i2ctest.IO {
	addr := byte(thermo.DefaultAddr)
	lo, hi := byte(v), byte(v>>8)
	return i2ctest.IO{Addr: uint16(addr), W: []byte{cmd}, R: []byte{lo, hi, pec(addr<<1, cmd, addr<<1|1, lo, hi)}}
}

// pec is SMBus's packet error code: CRC-8, polynomial x⁸+x²+x+1.
func pec(b ...byte) byte {
	var c byte
	for _, x := range b {
		c ^= x
		for range 8 {
			if c&0x80 != 0 {
				c = c<<1 ^ 0x07
			} else {
				c <<= 1
			}
		}
	}
	return c
}

// Thermometer opens the simulated MLX90614 of lane: the driver on the
// lane's Playback bus. Closing the bus fails if readings were left over.
func (d *Demo) Thermometer(lane string) (thermo.Source, io.Closer, error) {
	b := d.thermo[lane]
	if b == nil {
		b = &Bus{&i2ctest.Playback{DontPanic: true}}
		d.thermo[lane] = b
	}
	dev, err := thermo.NewMLX90614(b, thermo.DefaultAddr, &thermo.Opts{Attempts: 1})
	if err != nil {
		return nil, nil, fmt.Errorf("demo thermometer: %w", err)
	}
	return dev, b, nil
}
