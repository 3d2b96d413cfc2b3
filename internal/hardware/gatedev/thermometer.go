package gatedev

import (
	"context"
	"errors"

	"sentinel/device/thermo"
	"sentinel/internal/gate"
	"sentinel/internal/passage"
)

// Sampler measures the person in front of a thermometer. *thermo.Sampler
// is one.
type Sampler interface {
	Measure(ctx context.Context) (thermo.Reading, error)
}

var _ Sampler = (*thermo.Sampler)(nil)

// Thermometer is a lane's Sampler as the gate consumes it.
type Thermometer struct {
	s Sampler
}

var _ gate.Thermometer = (*Thermometer)(nil)

// NewThermometer returns s as a gate.Thermometer.
func NewThermometer(s Sampler) *Thermometer { return &Thermometer{s: s} }

// Measure takes the person's temperature and says, in the gate's words,
// why none was taken: a thermometer in a fault state is unavailable with
// its thermo.Reason as the fault; nobody in front of it, or a reading
// that did not settle, asks for a retake; so does a passage cancelled
// while measuring. Any other error makes it unavailable with
// passage.FaultError.
func (t *Thermometer) Measure(ctx context.Context) passage.Temperature {
	rd, err := t.s.Measure(ctx)
	var un *thermo.UnavailableError
	switch {
	case err == nil:
		return passage.Temperature{State: passage.TempOK, Value: rd.Value, Ambient: rd.Ambient, Confidence: rd.Confidence}
	case errors.As(err, &un):
		return passage.Temperature{State: passage.TempUnavailable, Fault: string(un.Reason)}
	case errors.Is(err, thermo.ErrNoPerson):
		return passage.Temperature{State: passage.TempRetake, Fault: passage.FaultNoPerson}
	case errors.Is(err, thermo.ErrUnstable):
		return passage.Temperature{State: passage.TempRetake, Fault: passage.FaultUnstable}
	case ctx.Err() != nil:
		return passage.Temperature{State: passage.TempRetake, Fault: passage.FaultCancelled}
	default:
		return passage.Temperature{State: passage.TempUnavailable, Fault: passage.FaultError}
	}
}
