package thermotest

import (
	"math"

	"periph.io/x/conn/v3/i2c/i2ctest"
	"periph.io/x/conn/v3/physic"

	"sentinel/device/thermo"
)

// The MLX90614's RAM registers that thermo reads.
const (
	// MLX90614Ambient is the register of the sensor's own temperature (Ta).
	MLX90614Ambient byte = 0x06
	// MLX90614Object is the register of the object's temperature (Tobj1).
	MLX90614Object byte = 0x07
)

// MLX90614Raw returns t in the MLX90614's RAM units of 0.02 K, to the
// nearest. It computes in °C as float64, as the fixtures it serves were
// written, so a temperature half-way between two steps rounds the way
// that arithmetic does.
func MLX90614Raw(t physic.Temperature) uint16 {
	c := float64(t-physic.ZeroCelsius) / float64(physic.Celsius)
	return uint16(math.Round((c + 273.15) / 0.02))
}

// MLX90614Read returns one SMBus "read word" of register reg from the
// MLX90614 at addr, answering v (LSB, MSB) with its PEC.
func MLX90614Read(addr uint16, reg byte, v uint16) i2ctest.IO {
	a := byte(addr)
	lo, hi := byte(v), byte(v>>8)
	return i2ctest.IO{Addr: addr, W: []byte{reg}, R: []byte{lo, hi, thermo.PEC(a<<1, reg, a<<1|1, lo, hi)}}
}

// MLX90614Samples returns the traffic of n samples of the MLX90614 at addr,
// in the order thermo's driver reads them: the object's temperature, then
// the ambient one. The object's reading alternates by one step (0.02 K)
// from sample to sample, as a live sensor's does, so that the sampler does
// not take the sensor for stuck.
func MLX90614Samples(addr uint16, n int, object, ambient physic.Temperature) []i2ctest.IO {
	obj, amb := MLX90614Raw(object), MLX90614Raw(ambient)
	ops := make([]i2ctest.IO, 0, 2*n)
	for i := range n {
		ops = append(ops, MLX90614Read(addr, MLX90614Object, obj+uint16(i%2)), MLX90614Read(addr, MLX90614Ambient, amb))
	}
	return ops
}
