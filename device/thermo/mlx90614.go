package thermo

import (
	"errors"
	"fmt"
	"sync"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
)

// DefaultAddr is the MLX90614's factory I²C address.
const DefaultAddr uint16 = 0x5A

// RAM addresses of the MLX90614 (the command byte of a RAM read is the
// address itself).
const (
	regAmbient byte = 0x06 // Ta, the die temperature
	regObject1 byte = 0x07 // Tobj1, the first (or only) IR zone
)

// rawLSB is the weight of one count of a temperature register: 0.02 K.
const rawLSB = 20 * physic.MilliKelvin

// The sensor's measurement ranges (datasheet, "General Characteristics").
var (
	minObject  = physic.ZeroCelsius - 70*physic.Celsius
	maxObject  = physic.ZeroCelsius + 380*physic.Celsius
	minAmbient = physic.ZeroCelsius - 40*physic.Celsius
	maxAmbient = physic.ZeroCelsius + 125*physic.Celsius
)

// DefaultAttempts is how many times a read is tried before giving up.
const DefaultAttempts = 4

// DefaultRetryDelay is the pause between two attempts.
const DefaultRetryDelay = 2 * time.Millisecond

// Opts configures a Dev. The zero value gives the defaults.
type Opts struct {
	// Attempts is how many times a read is tried in all when the bus
	// reports an error (the sensor did not acknowledge, typically because
	// it was busy) or the PEC does not match. Zero means DefaultAttempts;
	// one means no retry.
	Attempts int
	// RetryDelay is the pause between attempts. Zero means
	// DefaultRetryDelay.
	RetryDelay time.Duration
}

// Sample is one pair of readings from the sensor.
type Sample struct {
	Object  physic.Temperature // what the sensor sees (the forehead)
	Ambient physic.Temperature // the sensor's die, a stand-in for the room
}

// Dev is an MLX90614 infrared thermometer on an I²C bus.
//
// It is safe for concurrent use.
type Dev struct {
	c          i2c.Dev
	attempts   int
	retryDelay time.Duration
	sleep      func(time.Duration)

	mu  sync.Mutex // serialises transactions and their retries
	buf [3]byte
}

var _ conn.Resource = (*Dev)(nil)

// NewMLX90614 returns a driver for the MLX90614 at addr on b (DefaultAddr
// unless its EEPROM was changed; every MLX90614 also answers at 0x00). opts
// may be nil.
//
// No bus traffic happens here: the first read tells whether the sensor
// answers.
func NewMLX90614(b i2c.Bus, addr uint16, opts *Opts) (*Dev, error) {
	if b == nil {
		return nil, errors.New("thermo: new MLX90614: nil bus")
	}
	if addr > 0x7F {
		return nil, fmt.Errorf("thermo: new MLX90614: address %#x is not a 7-bit I2C address", addr)
	}
	o := Opts{}
	if opts != nil {
		o = *opts
	}
	if o.Attempts < 0 || o.RetryDelay < 0 {
		return nil, fmt.Errorf("thermo: new MLX90614: negative attempts (%d) or retry delay (%s)", o.Attempts, o.RetryDelay)
	}
	if o.Attempts == 0 {
		o.Attempts = DefaultAttempts
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = DefaultRetryDelay
	}
	return &Dev{
		c:          i2c.Dev{Bus: b, Addr: addr},
		attempts:   o.Attempts,
		retryDelay: o.RetryDelay,
		sleep:      time.Sleep,
	}, nil
}

// String implements conn.Resource.
func (d *Dev) String() string {
	return fmt.Sprintf("MLX90614{%s, %#02x}", d.c.Bus, d.c.Addr)
}

// Halt implements conn.Resource. The sensor measures continuously by itself,
// so there is nothing to stop.
func (d *Dev) Halt() error { return nil }

// Object returns the temperature of what the sensor sees (RAM 0x07).
func (d *Dev) Object() (physic.Temperature, error) {
	t, err := d.readTemp(regObject1)
	if err != nil {
		return 0, fmt.Errorf("read object temperature: %w", err)
	}
	if t < minObject || t > maxObject {
		return 0, fmt.Errorf("read object temperature: %s: %w", degC(t), ErrOutOfRange)
	}
	return t, nil
}

// Ambient returns the temperature of the sensor's die (RAM 0x06).
func (d *Dev) Ambient() (physic.Temperature, error) {
	t, err := d.readTemp(regAmbient)
	if err != nil {
		return 0, fmt.Errorf("read ambient temperature: %w", err)
	}
	if t < minAmbient || t > maxAmbient {
		return 0, fmt.Errorf("read ambient temperature: %s: %w", degC(t), ErrOutOfRange)
	}
	return t, nil
}

// Read returns the object temperature, then the ambient one.
func (d *Dev) Read() (Sample, error) {
	o, err := d.Object()
	if err != nil {
		return Sample{}, err
	}
	a, err := d.Ambient()
	if err != nil {
		return Sample{}, err
	}
	return Sample{Object: o, Ambient: a}, nil
}

// readTemp reads a temperature register, retrying on bus errors and PEC
// mismatches. A set error flag is not retried: the sensor means it.
func (d *Dev) readTemp(reg byte) (physic.Temperature, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	var last error
	for i := range d.attempts {
		if i > 0 {
			d.sleep(d.retryDelay)
		}
		if err := d.c.Tx([]byte{reg}, d.buf[:]); err != nil {
			last = err
			continue
		}
		raw, err := decodeFrame(byte(d.c.Addr), reg, d.buf[:])
		switch {
		case errors.Is(err, ErrPEC):
			last = err
			continue
		case err != nil:
			return 0, err
		}
		return physic.Temperature(raw) * rawLSB, nil
	}
	if errors.Is(last, ErrPEC) {
		return 0, fmt.Errorf("register %#02x: %d attempts: %w", reg, d.attempts, last)
	}
	return 0, fmt.Errorf("register %#02x at address %#02x: %d attempts: %w: %w", reg, d.c.Addr, d.attempts, ErrNoAnswer, last)
}

// decodeFrame checks a three-byte SMBus "read word" answer (LSB, MSB, PEC)
// to command cmd from the 7-bit address addr and returns the 15-bit value.
func decodeFrame(addr, cmd byte, b []byte) (uint16, error) {
	if len(b) != 3 {
		return 0, fmt.Errorf("decode frame: got %d bytes, want 3", len(b))
	}
	want := pec(addr<<1, cmd, addr<<1|1, b[0], b[1])
	if b[2] != want {
		return 0, fmt.Errorf("decode frame: got PEC %#02x, want %#02x: %w", b[2], want, ErrPEC)
	}
	v := uint16(b[1])<<8 | uint16(b[0])
	if v&0x8000 != 0 {
		return 0, fmt.Errorf("decode frame: register %#02x = %#04x: %w", cmd, v, ErrSensorFlag)
	}
	return v, nil
}

// PEC returns the SMBus packet error code of b, the bytes of a transfer as
// they pass on the wire (address with the R/W bit, command, data). Tests
// and simulators use it to build answers that the driver accepts; see
// thermotest.
func PEC(b ...byte) byte { return pec(b...) }

// pec is the SMBus packet error code: CRC-8 with polynomial x⁸+x²+x+1
// (0x07), initial value 0, no reflection, over every byte on the wire.
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
