package thermo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/internal/atomicfile"
)

// CalibrationFile is the name of the calibration file in the terminal's
// data directory.
const CalibrationFile = "thermo-calibration.json"

// Bounds of a plausible calibration: a healthy sensor is off by a few
// tenths of a kelvin; more means a dirty window, a blackbody that does not
// fill the field of view, or a broken sensor.
const (
	MaxCalibrationOffset = 3 * physic.Kelvin
	minSlope, maxSlope   = 0.8, 1.2
)

// Calibration maps the sensor's object reading to the true surface
// temperature: true °C = Slope·measured °C + Offset.
//
// Calibration is state, not configuration: it lives in the data directory,
// written by Calibrate and SaveCalibration.
type Calibration struct {
	// Offset is a temperature difference (it may be negative), added after
	// the slope.
	Offset physic.Temperature
	// Slope multiplies the measured temperature in °C; 1 for a one-point
	// calibration.
	Slope float64
	// At is when the calibration was made; zero if never.
	At time.Time
	// Reference is the blackbody's temperature; zero if never calibrated.
	Reference physic.Temperature
	// Measured is what the sensor read from the blackbody.
	Measured physic.Temperature
}

// DefaultCalibration is the identity: what an uncalibrated sensor uses.
func DefaultCalibration() Calibration { return Calibration{Slope: 1} }

// Apply maps a raw object temperature to the true surface temperature.
func (c Calibration) Apply(t physic.Temperature) physic.Temperature {
	if c.Slope == 1 {
		return t + c.Offset
	}
	celsius := float64(t - physic.ZeroCelsius)
	return physic.ZeroCelsius + physic.Temperature(math.Round(c.Slope*celsius)) + c.Offset
}

// Validate refuses calibrations outside plausible bounds.
func (c Calibration) Validate() error {
	if math.IsNaN(c.Slope) || c.Slope < minSlope || c.Slope > maxSlope {
		return fmt.Errorf("slope %g outside %g..%g: %w", c.Slope, minSlope, maxSlope, ErrBadCalibration)
	}
	if c.Offset < -MaxCalibrationOffset || c.Offset > MaxCalibrationOffset {
		return fmt.Errorf("offset %+.2f K larger than %.0f K: %w", kelvin(c.Offset), kelvin(MaxCalibrationOffset), ErrBadCalibration)
	}
	return nil
}

// String describes the calibration for `sentinelctl calibrate show`.
func (c Calibration) String() string {
	if c.At.IsZero() {
		return fmt.Sprintf("offset %+.2f K, slope %.3f, never calibrated against a reference", kelvin(c.Offset), c.Slope)
	}
	return fmt.Sprintf("offset %+.2f K, slope %.3f, made %s against a %s reference (sensor read %s)",
		kelvin(c.Offset), c.Slope, c.At.UTC().Format(time.RFC3339), degC(c.Reference), degC(c.Measured))
}

// calibrationJSON is the file format. Temperatures are in °C and the offset
// in kelvin, so that a person can read the file.
type calibrationJSON struct {
	Version          int       `json:"version"`
	OffsetKelvin     float64   `json:"offset_kelvin"`
	Slope            float64   `json:"slope"`
	At               time.Time `json:"at"`
	ReferenceCelsius float64   `json:"reference_celsius"`
	MeasuredCelsius  float64   `json:"measured_celsius"`
}

const calibrationVersion = 1

// MarshalJSON implements json.Marshaler.
func (c Calibration) MarshalJSON() ([]byte, error) {
	return json.Marshal(calibrationJSON{
		Version:          calibrationVersion,
		OffsetKelvin:     kelvin(c.Offset),
		Slope:            c.Slope,
		At:               c.At,
		ReferenceCelsius: c.Reference.Celsius(),
		MeasuredCelsius:  c.Measured.Celsius(),
	})
}

// UnmarshalJSON implements json.Unmarshaler. Unknown fields and other
// versions are refused.
func (c *Calibration) UnmarshalJSON(b []byte) error {
	var j calibrationJSON
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(&j); err != nil {
		return err
	}
	if j.Version != calibrationVersion {
		return fmt.Errorf("calibration version %d, want %d", j.Version, calibrationVersion)
	}
	*c = Calibration{
		Offset:    physic.Temperature(math.Round(j.OffsetKelvin * float64(physic.Kelvin))),
		Slope:     j.Slope,
		At:        j.At,
		Reference: fromCelsius(j.ReferenceCelsius),
		Measured:  fromCelsius(j.MeasuredCelsius),
	}
	return nil
}

func fromCelsius(c float64) physic.Temperature {
	return physic.ZeroCelsius + physic.Temperature(math.Round(c*float64(physic.Celsius)))
}

// LoadCalibration reads the calibration from the data directory dir. When
// there is none it returns an error matching ErrNoCalibration: use
// DefaultCalibration then, and tell the installer to calibrate.
func LoadCalibration(dir string) (Calibration, error) {
	p := filepath.Join(dir, CalibrationFile)
	b, err := os.ReadFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		return Calibration{}, fmt.Errorf("thermo: load calibration %s: %w: run 'sentinelctl calibrate thermo'", p, ErrNoCalibration)
	}
	if err != nil {
		return Calibration{}, fmt.Errorf("thermo: load calibration: %w", err)
	}
	var c Calibration
	if err := json.Unmarshal(b, &c); err != nil {
		return Calibration{}, fmt.Errorf("thermo: load calibration %s: %w: recalibrate with 'sentinelctl calibrate thermo'", p, err)
	}
	if err := c.Validate(); err != nil {
		return Calibration{}, fmt.Errorf("thermo: load calibration %s: %w: recalibrate with 'sentinelctl calibrate thermo'", p, err)
	}
	return c, nil
}

// SaveCalibration writes c to the data directory dir atomically: a
// temporary file, fsync, rename, fsync of the directory. A power cut leaves
// either the old or the new calibration. An identical file is not
// rewritten, to spare the SD card.
func SaveCalibration(dir string, c Calibration) error {
	if err := c.Validate(); err != nil {
		return fmt.Errorf("thermo: save calibration: %w", err)
	}
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return fmt.Errorf("thermo: save calibration: %w", err)
	}
	b = append(b, '\n')
	p := filepath.Join(dir, CalibrationFile)
	if err := atomicfile.WriteFile(p, b, 0o644); err != nil {
		return fmt.Errorf("thermo: save calibration: %w", err)
	}
	return nil
}

// Calibration references must be blackbody temperatures near a forehead's.
var (
	minReference = physic.ZeroCelsius + 30*physic.Celsius
	maxReference = physic.ZeroCelsius + 45*physic.Celsius
)

// CalibrationSamplerConfig returns the sampling settings Calibrate uses
// unless told otherwise: 16 samples within 0.2 K, for at most 10 s.
func CalibrationSamplerConfig() SamplerConfig {
	c := DefaultSamplerConfig()
	c.Window = 16
	c.StuckAfter = 16
	c.MaxSpread = 200 * physic.MilliKelvin
	c.Timeout = 10 * time.Second
	return c
}

// Calibrate takes a stable reading of a blackbody at reference in front of
// the sensor and returns the one-point calibration (slope 1) that maps it
// onto reference. cfg sets the sampling (nil means
// CalibrationSamplerConfig); its person range, compensation and
// calibration are ignored. It refuses an unstable reading, a room outside
// the ambient range, a sensor that does not see the reference, and an
// offset larger than MaxCalibrationOffset, with a message for the
// installer. Store the result with SaveCalibration.
func Calibrate(ctx context.Context, src Source, reference physic.Temperature, cfg *SamplerConfig) (Calibration, error) {
	if reference < minReference || reference > maxReference {
		return Calibration{}, fmt.Errorf("thermo: calibrate: reference %s outside %s..%s: set the blackbody to a forehead's temperature, e.g. 37.00 °C", degC(reference), degC(minReference), degC(maxReference))
	}
	c := CalibrationSamplerConfig()
	if cfg != nil {
		c = *cfg
	}
	c.Calibration = DefaultCalibration()
	c.Compensation = 0
	// Anything within the plausible offset of the reference is the
	// blackbody; what is farther is the room or a hand.
	c.PersonMin, c.PersonMax = reference-MaxCalibrationOffset-physic.Kelvin, reference+MaxCalibrationOffset+physic.Kelvin
	s, err := NewSampler(src, c)
	if err != nil {
		return Calibration{}, fmt.Errorf("thermo: calibrate: %w", err)
	}
	s.busy.Lock()
	defer s.busy.Unlock()
	w, err := s.collect(ctx, c, func(smp Sample) bool {
		return smp.Object >= c.PersonMin && smp.Object <= c.PersonMax
	})
	var ce *collectError
	switch {
	case errors.Is(err, ErrAmbient):
		return Calibration{}, fmt.Errorf("thermo: calibrate: the room must be between %s and %s, with the terminal in it for 30 minutes: %w", degC(c.AmbientMin), degC(c.AmbientMax), err)
	case errors.As(err, &ce) && errors.Is(err, ErrNoPerson):
		return Calibration{}, fmt.Errorf("thermo: calibrate: the sensor sees %s, not the %s reference: put the blackbody in front of the sensor so that it fills its view, and check that it is at temperature: %w", degC(ce.lastObject), degC(reference), ErrNoPerson)
	case errors.As(err, &ce):
		return Calibration{}, fmt.Errorf("thermo: calibrate: the reading did not settle within %.2f K over %d samples: let the blackbody stabilise, keep it and the terminal still, and try again: %w", kelvin(c.MaxSpread), c.Window, err)
	case err != nil:
		return Calibration{}, fmt.Errorf("thermo: calibrate: %w", err)
	}
	cal := Calibration{
		Offset:    reference - w.object,
		Slope:     1,
		At:        s.clock.Now(),
		Reference: reference,
		Measured:  w.object,
	}
	if err := cal.Validate(); err != nil {
		return Calibration{}, fmt.Errorf("thermo: calibrate: the sensor reads %s for a %s reference: %w: clean the sensor's window, make the blackbody fill its view, or replace the sensor", degC(w.object), degC(reference), err)
	}
	return cal, nil
}
