package thermo

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/internal/wallclock"
)

// Source gives one sample of the object and ambient temperatures. *Dev is
// one; tests use fakes.
type Source interface {
	Read() (Sample, error)
}

var _ Source = (*Dev)(nil)

// DefaultCompensation is the ratio K of the heat-balance model
// core = skin + K·(skin − ambient), as published for the temporal artery.
const DefaultCompensation = 0.19

// SamplerConfig sets how a Sampler turns samples into a Reading. Start from
// DefaultSamplerConfig: NewSampler refuses zero windows, intervals and ranges.
type SamplerConfig struct {
	// Interval between two samples. The MLX90614 refreshes its output about
	// every 100 ms with its factory filter settings.
	Interval time.Duration
	// Window is how many consecutive samples make a reading.
	Window int
	// MaxSpread is the largest difference between the highest and lowest
	// surface temperature in a window that still counts as stable.
	MaxSpread physic.Temperature
	// Timeout is how long Measure samples before giving up.
	Timeout time.Duration
	// PersonMin and PersonMax bound the calibrated surface temperature of
	// a forehead; a sample outside means nobody (or something else) is in
	// front of the sensor, and restarts the window.
	PersonMin, PersonMax physic.Temperature
	// AmbientMin and AmbientMax bound the room temperature (the sensor's
	// die) in which readings are trusted; outside, the thermometer is
	// unavailable.
	AmbientMin, AmbientMax physic.Temperature
	// StuckAfter is how many identical samples in a row (object and ambient
	// to the last bit) mark the sensor as stuck. Keep it at most Window, so
	// that a stuck sensor never yields a reading.
	StuckAfter int
	// RecoverAfter is how many good samples in a row make an unavailable
	// thermometer available again.
	RecoverAfter int
	// Compensation is K in core = skin + K·(skin − ambient); 0 turns
	// compensation off and reports the calibrated surface temperature.
	Compensation float64
	// Calibration maps raw object readings to true surface temperatures.
	Calibration Calibration
	// Clock is the time source; nil means the system clock.
	Clock wallclock.Clock
}

// DefaultSamplerConfig returns the settings used unless the configuration
// says otherwise: 8 samples 100 ms apart within 0.3 K, for at most 3 s; a
// forehead between 28 and 43 °C; a room between 10 and 40 °C.
func DefaultSamplerConfig() SamplerConfig {
	return SamplerConfig{
		Interval:     100 * time.Millisecond,
		Window:       8,
		MaxSpread:    300 * physic.MilliKelvin,
		Timeout:      3 * time.Second,
		PersonMin:    physic.ZeroCelsius + 28*physic.Celsius,
		PersonMax:    physic.ZeroCelsius + 43*physic.Celsius,
		AmbientMin:   physic.ZeroCelsius + 10*physic.Celsius,
		AmbientMax:   physic.ZeroCelsius + 40*physic.Celsius,
		StuckAfter:   8,
		RecoverAfter: 3,
		Compensation: DefaultCompensation,
		Calibration:  DefaultCalibration(),
	}
}

// Validate says which field is wrong, if any.
func (c *SamplerConfig) Validate() error {
	switch {
	case c.Interval <= 0:
		return fmt.Errorf("thermo: sampler config: interval %s must be positive", c.Interval)
	case c.Window < 2:
		return fmt.Errorf("thermo: sampler config: window %d must be at least 2 samples", c.Window)
	case c.MaxSpread <= 0:
		return fmt.Errorf("thermo: sampler config: max spread %d nK must be positive", int64(c.MaxSpread))
	case c.Timeout < time.Duration(c.Window-1)*c.Interval:
		return fmt.Errorf("thermo: sampler config: timeout %s is shorter than one window (%d × %s)", c.Timeout, c.Window, c.Interval)
	case c.PersonMin >= c.PersonMax:
		return fmt.Errorf("thermo: sampler config: person range %s..%s is empty", degC(c.PersonMin), degC(c.PersonMax))
	case c.AmbientMin >= c.AmbientMax:
		return fmt.Errorf("thermo: sampler config: ambient range %s..%s is empty", degC(c.AmbientMin), degC(c.AmbientMax))
	case c.StuckAfter < 2:
		return fmt.Errorf("thermo: sampler config: stuck-after %d must be at least 2", c.StuckAfter)
	case c.RecoverAfter < 1:
		return fmt.Errorf("thermo: sampler config: recover-after %d must be at least 1", c.RecoverAfter)
	case c.Compensation < 0 || c.Compensation > 1:
		return fmt.Errorf("thermo: sampler config: compensation %g outside 0..1", c.Compensation)
	}
	if err := c.Calibration.Validate(); err != nil {
		return fmt.Errorf("thermo: sampler config: %w", err)
	}
	return nil
}

// Reading is the temperature of one person.
type Reading struct {
	// Value is the estimated core temperature (see the package
	// documentation for the model).
	Value physic.Temperature
	// Surface is the calibrated forehead temperature, before compensation.
	Surface physic.Temperature
	// Ambient is the sensor's die temperature during the reading.
	Ambient physic.Temperature
	// Confidence is a heuristic in 0..1, not a probability: the stability
	// of the window, lowered when the room is outside 18–30 °C and when the
	// sensor was never calibrated.
	Confidence float64
	// Samples is how many samples were averaged.
	Samples int
	// At is when the reading completed.
	At time.Time
}

// Status tells whether the thermometer can be used, and if not, why.
type Status struct {
	Available bool
	Reason    Reason    // ReasonNone when Available
	Err       error     // the latest fault, nil when Available
	Since     time.Time // when it entered this state; zero before the first sample
}

// Sampler turns samples from a Source into readings of a person and keeps
// the thermometer's health.
//
// Measure and Check may be called from several goroutines; they take turns
// on the sensor. Status never waits for the sensor.
type Sampler struct {
	src   Source
	cfg   SamplerConfig
	clock wallclock.Clock

	busy sync.Mutex // held while sampling

	// Guarded by busy.
	last      Sample
	identical int

	mu     sync.Mutex // guards status and good
	status Status
	good   int
}

// NewSampler returns a Sampler reading src with cfg. It starts available:
// the first fault makes it unavailable.
func NewSampler(src Source, cfg SamplerConfig) (*Sampler, error) {
	if src == nil {
		return nil, errors.New("thermo: new sampler: nil source")
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &Sampler{src: src, cfg: cfg, clock: wallclock.Or(cfg.Clock), status: Status{Available: true}}, nil
}

// Status returns the thermometer's current state.
func (s *Sampler) Status() Status {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Check reads one sample and updates the thermometer's state: call it
// periodically while nobody is at the gate so that a fault shows, and
// clears, before the next person. It returns the sample, or the fault as an
// *UnavailableError.
func (s *Sampler) Check() (Sample, error) {
	s.busy.Lock()
	defer s.busy.Unlock()
	smp, err := s.sample()
	if err != nil {
		return Sample{}, err
	}
	if st := s.Status(); !st.Available {
		return smp, &UnavailableError{Reason: st.Reason, Err: st.Err}
	}
	return smp, nil
}

// Measure samples while a person stands in front of the sensor and returns
// their reading. It returns ErrNoPerson when no sample looked like a
// forehead within the timeout, ErrUnstable when the samples never settled
// (ask for a retake), and an *UnavailableError on a fault.
func (s *Sampler) Measure(ctx context.Context) (Reading, error) {
	s.busy.Lock()
	defer s.busy.Unlock()
	w, err := s.collect(ctx, s.cfg, func(smp Sample) bool {
		t := s.cfg.Calibration.Apply(smp.Object)
		return t >= s.cfg.PersonMin && t <= s.cfg.PersonMax
	})
	if err != nil {
		return Reading{}, fmt.Errorf("measure: %w", err)
	}
	surface := s.cfg.Calibration.Apply(w.object)
	return Reading{
		Value:      compensate(surface, w.ambient, s.cfg.Compensation),
		Surface:    surface,
		Ambient:    w.ambient,
		Confidence: s.confidence(w),
		Samples:    w.n,
		At:         s.clock.Now(),
	}, nil
}

// window is the summary of a stable run of samples.
type window struct {
	object, ambient physic.Temperature // means
	spread          physic.Temperature // max − min of the object
	n               int
}

// collectError carries what the sampler saw when it gave up, so callers
// can tell an installer or a guard what went wrong.
type collectError struct {
	err        error              // ErrNoPerson or ErrUnstable
	lastObject physic.Temperature // the latest raw object temperature
	bestSpread physic.Temperature // the smallest spread of a full window; 0 if none filled
	longest    int                // the longest run of accepted samples
	need       int                // the window
}

func (e *collectError) Error() string {
	switch {
	case !errors.Is(e.err, ErrUnstable):
		return fmt.Sprintf("%v: the sensor sees %s", e.err, degC(e.lastObject))
	case e.longest < e.need:
		return fmt.Sprintf("%v: in view for at most %d samples in a row, %d needed: stand still in front of the sensor", e.err, e.longest, e.need)
	default:
		return fmt.Sprintf("%v: samples varied by at least %.2f K within a window: stand still in front of the sensor", e.err, kelvin(e.bestSpread))
	}
}

func (e *collectError) Unwrap() error { return e.err }

// collect samples until Window consecutive accepted samples lie within
// MaxSpread, a fault occurs, ctx ends, or the timeout passes.
func (s *Sampler) collect(ctx context.Context, cfg SamplerConfig, accept func(Sample) bool) (window, error) {
	deadline := s.clock.Now().Add(cfg.Timeout)
	run := make([]Sample, 0, cfg.Window)
	ce := &collectError{err: ErrNoPerson, need: cfg.Window}
	for {
		if err := ctx.Err(); err != nil {
			return window{}, err
		}
		smp, err := s.sample()
		if err != nil {
			return window{}, err
		}
		ce.lastObject = smp.Object
		if accept(smp) {
			ce.err = ErrUnstable
			if len(run) == cfg.Window {
				run = append(run[:0], run[1:]...)
			}
			run = append(run, smp)
			ce.longest = max(ce.longest, len(run))
			if len(run) == cfg.Window {
				w := summarise(run)
				if w.spread <= cfg.MaxSpread && s.Status().Available {
					return w, nil
				}
				if ce.bestSpread == 0 || w.spread < ce.bestSpread {
					ce.bestSpread = w.spread
				}
			}
		} else {
			run = run[:0]
		}
		if !s.clock.Now().Before(deadline) {
			if st := s.Status(); !st.Available {
				return window{}, &UnavailableError{Reason: st.Reason, Err: st.Err}
			}
			return window{}, ce
		}
		select {
		case <-ctx.Done():
			return window{}, ctx.Err()
		case <-s.clock.After(cfg.Interval):
		}
	}
}

// sample reads the source once, judges the sample, and updates the state.
func (s *Sampler) sample() (Sample, error) {
	smp, err := s.src.Read()
	if err == nil {
		err = s.judge(smp)
	} else {
		s.identical = 0
	}
	now := s.clock.Now()
	s.mu.Lock()
	defer s.mu.Unlock()
	if err != nil {
		r := reasonOf(err)
		if r == ReasonNoAnswer && !errors.Is(err, ErrNoAnswer) {
			err = fmt.Errorf("%w: %w", ErrNoAnswer, err)
		}
		if s.status.Available {
			s.status.Since = now
		}
		s.status.Available, s.status.Reason, s.status.Err = false, r, err
		s.good = 0
		return Sample{}, &UnavailableError{Reason: r, Err: err}
	}
	s.good++
	if s.status.Since.IsZero() || (!s.status.Available && s.good >= s.cfg.RecoverAfter) {
		s.status = Status{Available: true, Since: now}
	}
	return smp, nil
}

// judge finds the faults a well-formed sample can still show.
func (s *Sampler) judge(smp Sample) error {
	if smp == s.last {
		s.identical++
	} else {
		s.last, s.identical = smp, 1
	}
	if s.identical >= s.cfg.StuckAfter {
		return fmt.Errorf("%d identical samples (object %s, ambient %s): %w", s.identical, degC(smp.Object), degC(smp.Ambient), ErrStuck)
	}
	if smp.Ambient < s.cfg.AmbientMin || smp.Ambient > s.cfg.AmbientMax {
		return fmt.Errorf("room (sensor die) at %s, outside %s..%s: move the terminal out of direct sun, drafts and heaters: %w", degC(smp.Ambient), degC(s.cfg.AmbientMin), degC(s.cfg.AmbientMax), ErrAmbient)
	}
	return nil
}

func summarise(run []Sample) window {
	var so, sa int64
	lo, hi := run[0].Object, run[0].Object
	for _, x := range run {
		so += int64(x.Object)
		sa += int64(x.Ambient)
		lo, hi = min(lo, x.Object), max(hi, x.Object)
	}
	n := int64(len(run))
	return window{
		object:  physic.Temperature(so / n),
		ambient: physic.Temperature(sa / n),
		spread:  hi - lo,
		n:       len(run),
	}
}

// confidence is the window's stability (1 for a flat window, 0.5 at the
// spread limit), times 1 inside an 18–30 °C room falling linearly to 0.5 at
// the ambient limits, times 0.7 if the sensor was never calibrated.
func (s *Sampler) confidence(w window) float64 {
	c := 1 - 0.5*float64(w.spread)/float64(s.cfg.MaxSpread)
	a := w.ambient
	lo, hi := physic.ZeroCelsius+18*physic.Celsius, physic.ZeroCelsius+30*physic.Celsius
	switch {
	case a < lo && lo > s.cfg.AmbientMin:
		c *= 1 - 0.5*float64(lo-a)/float64(lo-s.cfg.AmbientMin)
	case a > hi && hi < s.cfg.AmbientMax:
		c *= 1 - 0.5*float64(a-hi)/float64(s.cfg.AmbientMax-hi)
	}
	if s.cfg.Calibration.At.IsZero() {
		c *= 0.7
	}
	return math.Max(0, math.Min(1, c))
}

// compensate estimates the core temperature from the skin temperature:
// core = skin + k·(skin − ambient).
func compensate(skin, ambient physic.Temperature, k float64) physic.Temperature {
	return skin + physic.Temperature(math.Round(k*float64(skin-ambient)))
}

func kelvin(t physic.Temperature) float64 { return float64(t) / float64(physic.Kelvin) }

// degC formats a temperature for people: "36.61 °C".
type degC physic.Temperature

func (t degC) String() string { return fmt.Sprintf("%.2f °C", physic.Temperature(t).Celsius()) }
