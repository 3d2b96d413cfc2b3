package thermo

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"periph.io/x/conn/v3"
	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/physic"
)

// DefaultAddr90632 is the MLX90632's factory I²C address.
const DefaultAddr90632 uint16 = 0x3A

// MLX90632 registers: 16-bit addresses holding 16-bit big-endian words.
const (
	r632Version uint16 = 0x240B // EEPROM version; the low byte is the DSP version
	r632PR      uint16 = 0x240C // 32-bit constants: low word here, high word next
	r632PG      uint16 = 0x240E
	r632PT      uint16 = 0x2410
	r632PO      uint16 = 0x2412
	r632Ea      uint16 = 0x2424
	r632Eb      uint16 = 0x2426
	r632Fa      uint16 = 0x2428
	r632Fb      uint16 = 0x242A
	r632Ga      uint16 = 0x242C
	r632Gb      uint16 = 0x242E // 16-bit constants
	r632Ka      uint16 = 0x242F
	r632Ha      uint16 = 0x2481
	r632Hb      uint16 = 0x2482
	r632Status  uint16 = 0x3FFF
	r632RAM     uint16 = 0x4000 // measurement n: RAM_1 at +3n, RAM_2 at +3n+1, RAM_3 at +3n+2

	stat632DataReady  = 1 << 0
	stat632CyclePos   = 0x7C // bits 6..2
	dsp632Version     = 0x05
	poll632Interval   = 10 * time.Millisecond
	poll632MaxRetries = 100 // 1 s, twice the period at the factory 2 Hz refresh rate
)

// errBadPosition means the sensor's measurement table is not the factory
// "medical" one this driver reads.
var errBadPosition = errors.New("unexpected measurement table: set the sensor back to its factory medical mode")

// The MLX90632's measurement ranges (datasheet, medical and standard
// accuracy variants).
var (
	min632Object  = physic.ZeroCelsius - 20*physic.Celsius
	max632Object  = physic.ZeroCelsius + 200*physic.Celsius
	min632Ambient = physic.ZeroCelsius - 20*physic.Celsius
	max632Ambient = physic.ZeroCelsius + 85*physic.Celsius
)

// consts632 are the factory calibration constants of one MLX90632, read
// from its EEPROM.
type consts632 struct {
	PR, PG, PT, PO, Ea, Eb, Fa, Fb, Ga int32
	Gb, Ka, Ha, Hb                     int16
}

// Dev90632 is a Melexis MLX90632 infrared thermometer (a 3 mm SMD sensor
// with a 50° field of view) on an I²C bus, in its factory continuous
// "medical" mode.
//
// It is safe for concurrent use.
type Dev90632 struct {
	c          i2c.Dev
	attempts   int
	retryDelay time.Duration
	sleep      func(time.Duration)
	k          consts632

	mu sync.Mutex
}

var (
	_ conn.Resource = (*Dev90632)(nil)
	_ Source        = (*Dev90632)(nil)
)

// NewMLX90632 returns a driver for the MLX90632 at addr on b
// (DefaultAddr90632 unless changed). It reads the sensor's calibration
// constants from its EEPROM, so the sensor must answer. opts may be nil;
// its retry settings apply to every transaction.
func NewMLX90632(b i2c.Bus, addr uint16, opts *Opts) (*Dev90632, error) {
	return newMLX90632(b, addr, opts, time.Sleep)
}

// newMLX90632 is NewMLX90632 with the pause between retries and polls
// injected.
func newMLX90632(b i2c.Bus, addr uint16, opts *Opts, sleep func(time.Duration)) (*Dev90632, error) {
	if b == nil {
		return nil, errors.New("thermo: new MLX90632: nil bus")
	}
	if addr > 0x7F {
		return nil, fmt.Errorf("thermo: new MLX90632: address %#x is not a 7-bit I2C address", addr)
	}
	o := Opts{}
	if opts != nil {
		o = *opts
	}
	if o.Attempts < 0 || o.RetryDelay < 0 {
		return nil, fmt.Errorf("thermo: new MLX90632: negative attempts (%d) or retry delay (%s)", o.Attempts, o.RetryDelay)
	}
	if o.Attempts == 0 {
		o.Attempts = DefaultAttempts
	}
	if o.RetryDelay == 0 {
		o.RetryDelay = DefaultRetryDelay
	}
	d := &Dev90632{
		c:          i2c.Dev{Bus: b, Addr: addr},
		attempts:   o.Attempts,
		retryDelay: o.RetryDelay,
		sleep:      sleep,
	}
	if err := d.init(); err != nil {
		return nil, fmt.Errorf("thermo: new MLX90632: %w", err)
	}
	return d, nil
}

func (d *Dev90632) init() error {
	v, err := d.read16(r632Version)
	if err != nil {
		return fmt.Errorf("read EEPROM version: %w", err)
	}
	if v&0xFF != dsp632Version {
		return fmt.Errorf("EEPROM version %#04x: DSP version %d, want %d: not an MLX90632, or a variant this driver does not know", v, v&0xFF, dsp632Version)
	}
	for _, x := range []struct {
		reg uint16
		v   *int32
	}{
		{r632PR, &d.k.PR}, {r632PG, &d.k.PG}, {r632PT, &d.k.PT}, {r632PO, &d.k.PO},
		{r632Ea, &d.k.Ea}, {r632Eb, &d.k.Eb}, {r632Fa, &d.k.Fa}, {r632Fb, &d.k.Fb}, {r632Ga, &d.k.Ga},
	} {
		lo, err := d.read16(x.reg)
		if err != nil {
			return fmt.Errorf("read calibration %#04x: %w", x.reg, err)
		}
		hi, err := d.read16(x.reg + 1)
		if err != nil {
			return fmt.Errorf("read calibration %#04x: %w", x.reg+1, err)
		}
		*x.v = int32(uint32(hi)<<16 | uint32(lo))
	}
	for _, x := range []struct {
		reg uint16
		v   *int16
	}{{r632Gb, &d.k.Gb}, {r632Ka, &d.k.Ka}, {r632Ha, &d.k.Ha}, {r632Hb, &d.k.Hb}} {
		w, err := d.read16(x.reg)
		if err != nil {
			return fmt.Errorf("read calibration %#04x: %w", x.reg, err)
		}
		*x.v = int16(w)
	}
	if d.k.PG == 0 || d.k.Ea == 0 || d.k.Fa == 0 || d.k.Ha == 0 {
		return fmt.Errorf("calibration constants are zero (P_G %d, Ea %d, Fa %d, Ha %d): the EEPROM is blank or corrupted", d.k.PG, d.k.Ea, d.k.Fa, d.k.Ha)
	}
	return nil
}

// String implements conn.Resource.
func (d *Dev90632) String() string {
	return fmt.Sprintf("MLX90632{%s, %#02x}", d.c.Bus, d.c.Addr)
}

// Halt implements conn.Resource. The sensor measures continuously by
// itself, so there is nothing to stop.
func (d *Dev90632) Halt() error { return nil }

// Read waits for the sensor's next measurement (up to 500 ms at the
// factory 2 Hz refresh rate) and returns it. Waiting for new data keeps a
// fast Sampler from seeing the same measurement twice and declaring the
// sensor stuck.
func (d *Dev90632) Read() (Sample, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	pos, err := d.waitForData()
	if err != nil {
		return Sample{}, fmt.Errorf("read MLX90632: %w", err)
	}
	var raw [6]int16 // ambient new, ambient old, object new (RAM_2, RAM_1), object old (RAM_2, RAM_1)
	newer, older := pos, 3-pos
	for i, reg := range []uint16{
		r632RAM + 3*1 + 2, r632RAM + 3*2 + 2, // RAM_3(1) is the newer ambient, as in Melexis' driver
		r632RAM + 3*newer + 1, r632RAM + 3*newer,
		r632RAM + 3*older + 1, r632RAM + 3*older,
	} {
		w, err := d.read16(reg)
		if err != nil {
			return Sample{}, fmt.Errorf("read MLX90632 RAM %#04x: %w", reg, err)
		}
		raw[i] = int16(w)
	}
	smp, err := sample632(raw, d.k)
	if err != nil {
		return Sample{}, fmt.Errorf("read MLX90632: %w", err)
	}
	return smp, nil
}

// sample632 turns the six raw words of a measurement (ambient newer and
// older, object newer RAM_2 and RAM_1, object older RAM_2 and RAM_1) into
// temperatures, refusing what lies outside the sensor's ranges.
func sample632(raw [6]int16, k consts632) (Sample, error) {
	objNew := int16((int32(raw[2]) + int32(raw[3])) / 2)
	objOld := int16((int32(raw[4]) + int32(raw[5])) / 2)
	ta := ambient632(raw[0], raw[1], k)
	to := object632(objNew, objOld, raw[0], raw[1], k)
	// Compare in °C before converting: NaN and ±Inf fail these tests.
	if !(ta >= min632Ambient.Celsius() && ta <= max632Ambient.Celsius()) {
		return Sample{}, fmt.Errorf("ambient temperature %.2f °C from raw % d: %w", ta, raw, ErrOutOfRange)
	}
	if !(to >= min632Object.Celsius() && to <= max632Object.Celsius()) {
		return Sample{}, fmt.Errorf("object temperature %.2f °C from raw % d: %w", to, raw, ErrOutOfRange)
	}
	return Sample{Object: fromCelsius(to), Ambient: fromCelsius(ta)}, nil
}

// waitForData clears the data-ready flag, waits for the next measurement
// and returns its position in the measurement table (1 or 2).
func (d *Dev90632) waitForData() (uint16, error) {
	st, err := d.read16(r632Status)
	if err != nil {
		return 0, fmt.Errorf("read status: %w", err)
	}
	if err := d.write16(r632Status, st&^stat632DataReady); err != nil {
		return 0, fmt.Errorf("clear data ready: %w", err)
	}
	for i := 0; ; i++ {
		if st, err = d.read16(r632Status); err != nil {
			return 0, fmt.Errorf("read status: %w", err)
		}
		if st&stat632DataReady != 0 {
			break
		}
		if i == poll632MaxRetries {
			return 0, fmt.Errorf("no new measurement after %s: %w", poll632Interval*poll632MaxRetries, ErrNoAnswer)
		}
		d.sleep(poll632Interval)
	}
	pos := (st & stat632CyclePos) >> 2
	if pos != 1 && pos != 2 {
		return 0, fmt.Errorf("status %#04x: measurement position %d, want 1 or 2: %w", st, pos, errBadPosition)
	}
	return pos, nil
}

func (d *Dev90632) read16(reg uint16) (uint16, error) {
	var b [2]byte
	if err := d.tx([]byte{byte(reg >> 8), byte(reg)}, b[:]); err != nil {
		return 0, err
	}
	return uint16(b[0])<<8 | uint16(b[1]), nil
}

func (d *Dev90632) write16(reg, v uint16) error {
	return d.tx([]byte{byte(reg >> 8), byte(reg), byte(v >> 8), byte(v)}, nil)
}

// tx retries a transaction that the bus reports as failed.
func (d *Dev90632) tx(w, r []byte) error {
	var last error
	for i := range d.attempts {
		if i > 0 {
			d.sleep(d.retryDelay)
		}
		if last = d.c.Tx(w, r); last == nil {
			return nil
		}
	}
	return fmt.Errorf("register %#02x%02x at address %#02x: %d attempts: %w: %w", w[0], w[1], d.c.Addr, d.attempts, ErrNoAnswer, last)
}

// The MLX90632's DSP version 5 temperature model, in °C, as given in its
// datasheet and implemented in Melexis' reference library. Raw values are
// signed 16-bit words; the constants are the EEPROM's integers, scaled
// here. Emissivity is 1 (skin is 0.98; the calibration absorbs the rest).

// pre632 is the ratio of a raw measurement to the reference voltage,
// scaled by 2¹⁹.
func pre632(x float64, ambNew, ambOld int16, beta int16) float64 {
	vr := float64(ambOld) + float64(beta)/1024*(float64(ambNew)/12)
	return x / vr * (1 << 19)
}

func ambient632(ambNew, ambOld int16, k consts632) float64 {
	amb := pre632(float64(ambNew)/12, ambNew, ambOld, k.Gb)
	b := amb - float64(k.PR)/256
	return float64(k.PT)/(1<<44)*b*b + b/float64(k.PG)*(1<<20) + float64(k.PO)/256
}

func object632(objNew, objOld, ambNew, ambOld int16, k consts632) float64 {
	// Both preprocessed values are truncated to integers before the
	// object calculation, as the reference implementation does.
	obj := float64(int32(pre632(float64((int32(objNew)+int32(objOld))/2)/12, ambNew, ambOld, k.Ka)))
	amb := float64(int32(pre632(float64(ambNew)/12, ambNew, ambOld, k.Gb)))
	taDut := (amb-float64(k.Eb)/256)/(float64(k.Ea)/65536) + 25
	ta4 := math.Pow(taDut+273.15, 4)
	ha, hb := float64(k.Ha)/16384, float64(k.Hb)/1024
	t := 25.0
	for range 5 { // the model converges in a few iterations
		ga := float64(k.Ga) * (t - 25) / (1 << 36)
		gb := float64(k.Fb) * (taDut - 25) / (1 << 36)
		alpha := float64(int64(k.Fa)) * ha * (1 + ga + gb) / (1 << 46)
		t = math.Sqrt(math.Sqrt(obj/alpha+ta4)) - 273.15 - hb
	}
	return t
}
