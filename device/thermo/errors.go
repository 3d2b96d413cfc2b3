package thermo

import (
	"errors"
	"fmt"
)

// Errors returned by this package. Match them with errors.Is.
var (
	// ErrNoAnswer means the sensor did not answer on the bus, even after
	// retries: it is unplugged, unpowered, at another address, or the bus
	// wiring is broken.
	ErrNoAnswer = errors.New("thermo: thermometer does not answer on the I2C bus: check its cable, power and address")

	// ErrPEC means the packet error code (a CRC-8 over the transfer) did not
	// match: the transfer was corrupted, usually by a long or noisy cable.
	ErrPEC = errors.New("thermo: corrupted I2C transfer (PEC mismatch): check the cable length and shielding")

	// ErrSensorFlag means the sensor set its error flag (bit 15) in a
	// temperature register: it reports an internal fault.
	ErrSensorFlag = errors.New("thermo: thermometer reports an internal error: power-cycle it and replace it if this persists")

	// ErrStuck means the sensor returned the same value too many times in a
	// row for a live measurement.
	ErrStuck = errors.New("thermo: thermometer value is stuck: power-cycle it and replace it if this persists")

	// ErrOutOfRange means a value lies outside what the sensor can measure,
	// which only a broken sensor or a corrupted transfer produces.
	ErrOutOfRange = errors.New("thermo: temperature outside the sensor's range")

	// ErrAmbient means the room (the sensor's own temperature) is colder
	// or warmer than the range in which a forehead reading means anything.
	ErrAmbient = errors.New("thermo: room temperature outside the working range")

	// ErrUnavailable is matched by every *UnavailableError.
	ErrUnavailable = errors.New("thermo: thermometer unavailable")

	// ErrNoPerson means nobody stood in front of the sensor while it
	// sampled: it saw no forehead-like temperature.
	ErrNoPerson = errors.New("thermo: no person in front of the thermometer")

	// ErrUnstable means the samples never settled into a stable window: the
	// person moved, or something else is in the field of view. Ask for a
	// retake.
	ErrUnstable = errors.New("thermo: reading did not settle")

	// ErrNoCalibration means the data directory holds no calibration yet.
	ErrNoCalibration = errors.New("thermo: no calibration stored")

	// ErrBadCalibration means a calibration is outside plausible bounds.
	ErrBadCalibration = errors.New("thermo: calibration outside plausible bounds")
)

// Reason says, in a stable word that policy and the display can match, why
// the thermometer is unavailable. The zero Reason means it is available.
type Reason string

// Reasons for an unavailable thermometer.
const (
	ReasonNone       Reason = ""
	ReasonNoAnswer   Reason = "no-answer"
	ReasonCorrupt    Reason = "corrupt-transfer"
	ReasonSensorFlag Reason = "sensor-error"
	ReasonStuck      Reason = "stuck"
	ReasonOutOfRange Reason = "out-of-range"
	ReasonAmbient    Reason = "ambient-out-of-range"
)

// UnavailableError is returned while the thermometer is in a fault state.
// It matches ErrUnavailable and the fault's own sentinel with errors.Is.
type UnavailableError struct {
	Reason Reason
	Err    error // the fault that made it unavailable
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("thermo: thermometer unavailable (%s): %v", e.Reason, e.Err)
}

// Unwrap returns ErrUnavailable and the underlying fault.
func (e *UnavailableError) Unwrap() []error { return []error{ErrUnavailable, e.Err} }

// reasonOf classifies a read error or a sample fault.
func reasonOf(err error) Reason {
	switch {
	case err == nil:
		return ReasonNone
	case errors.Is(err, ErrSensorFlag):
		return ReasonSensorFlag
	case errors.Is(err, ErrPEC):
		return ReasonCorrupt
	case errors.Is(err, ErrStuck):
		return ReasonStuck
	case errors.Is(err, ErrOutOfRange):
		return ReasonOutOfRange
	case errors.Is(err, ErrAmbient):
		return ReasonAmbient
	default:
		return ReasonNoAnswer
	}
}
