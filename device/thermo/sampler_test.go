package thermo

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/physic"
)

// fakeClock advances by exactly d on each After. The tests run in
// synctest bubbles on the system clock instead, except where a bubble
// cannot serve: a benchmark (a bubble takes a *testing.T) and
// TestSamplerConcurrentUse, whose goroutines wait on the sampler's mutex,
// which is not durably blocking, so the bubble's time would never move.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{now: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// script is a Source that plays a list of samples and errors.
type script struct {
	steps []step
	i     int
}

type step struct {
	s   Sample
	err error
}

var errScriptEnd = errors.New("script: no more samples")

func (f *script) Read() (Sample, error) {
	if f.i >= len(f.steps) {
		return Sample{}, errScriptEnd
	}
	st := f.steps[f.i]
	f.i++
	return st.s, st.err
}

// person returns n forehead samples alternating mean±d (hundredths of °C)
// over the given ambient.
func person(n int, mean, d, ambient int64) []step {
	s := make([]step, n)
	for i := range s {
		o := mean - d
		if i%2 == 1 {
			o = mean + d
		}
		s[i] = step{s: Sample{Object: centiCelsius(o), Ambient: centiCelsius(ambient)}}
	}
	return s
}

func room(n int) []step {
	s := make([]step, n)
	for i := range s {
		s[i] = step{s: Sample{Object: centiCelsius(2501 + 2*int64(i%3)), Ambient: centiCelsius(2449)}}
	}
	return s
}

func join(parts ...[]step) []step {
	var s []step
	for _, p := range parts {
		s = append(s, p...)
	}
	return s
}

var errBus = errors.New("sysfs-i2c: remote I/O error")

func calibrated() Calibration {
	return Calibration{Slope: 1, At: time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)}
}

func TestSamplerMeasure(t *testing.T) {
	base := DefaultSamplerConfig()
	base.Calibration = calibrated()
	tests := []struct {
		name        string
		steps       []step
		cfg         func(*SamplerConfig)
		want        Reading // checked when wantErr is nil
		wantErr     error
		wantReason  Reason
		wantSamples int // samples read
	}{
		{
			name:  "person after room",
			steps: join(room(2), person(8, 3451, 2, 2449)),
			// 34.51 + 0.19 × (34.51 − 24.49) = 36.4138 °C
			want:        Reading{Value: centiCelsius(3451) + 1_903_800_000, Surface: centiCelsius(3451), Ambient: centiCelsius(2449), Samples: 8},
			wantSamples: 10,
		},
		{
			name:  "calibration offset applied before compensation",
			steps: person(8, 3451, 2, 2449),
			cfg: func(c *SamplerConfig) {
				c.Calibration.Offset = 500 * physic.MilliKelvin
			},
			// 35.01 + 0.19 × (35.01 − 24.49) = 37.0088 °C
			want:        Reading{Value: centiCelsius(3501) + 1_998_800_000, Surface: centiCelsius(3501), Ambient: centiCelsius(2449), Samples: 8},
			wantSamples: 8,
		},
		{
			name:        "compensation off",
			steps:       person(8, 3451, 2, 2449),
			cfg:         func(c *SamplerConfig) { c.Compensation = 0 },
			want:        Reading{Value: centiCelsius(3451), Surface: centiCelsius(3451), Ambient: centiCelsius(2449), Samples: 8},
			wantSamples: 8,
		},
		{
			name: "unstable first window, then settles",
			// 1 K swings for 4 samples, then a calm window of 8.
			steps:       join(person(4, 3451, 50, 2449), person(8, 3451, 2, 2449)),
			want:        Reading{Value: centiCelsius(3451) + 1_903_800_000, Surface: centiCelsius(3451), Ambient: centiCelsius(2449), Samples: 8},
			wantSamples: 12,
		},
		{
			name: "person steps away mid-window",
			// 5 forehead samples, one of the room, then 8 again.
			steps:       join(person(5, 3451, 2, 2449), room(1), person(8, 3451, 2, 2449)),
			want:        Reading{Value: centiCelsius(3451) + 1_903_800_000, Surface: centiCelsius(3451), Ambient: centiCelsius(2449), Samples: 8},
			wantSamples: 14,
		},
		{
			name:  "never stable",
			steps: person(31, 3451, 25, 2449),
			// 3 s timeout at 100 ms: samples at t=0, 0.1, … 3.0.
			wantErr:     ErrUnstable,
			wantSamples: 31,
		},
		{
			name:        "nobody",
			steps:       room(31),
			wantErr:     ErrNoPerson,
			wantSamples: 31,
		},
		{
			name:        "no answer",
			steps:       join(person(3, 3451, 2, 2449), []step{{err: errBus}}),
			wantErr:     ErrUnavailable,
			wantReason:  ReasonNoAnswer,
			wantSamples: 4,
		},
		{
			name:        "sensor flag",
			steps:       []step{{err: ErrSensorFlag}},
			wantErr:     ErrSensorFlag,
			wantReason:  ReasonSensorFlag,
			wantSamples: 1,
		},
		{
			name:        "out of range",
			steps:       []step{{err: ErrOutOfRange}},
			wantErr:     ErrOutOfRange,
			wantReason:  ReasonOutOfRange,
			wantSamples: 1,
		},
		{
			name:        "cold room",
			steps:       person(1, 3001, 0, 801),
			wantErr:     ErrAmbient,
			wantReason:  ReasonAmbient,
			wantSamples: 1,
		},
		{
			name:        "hot room",
			steps:       person(1, 3801, 0, 4051),
			wantErr:     ErrAmbient,
			wantReason:  ReasonAmbient,
			wantSamples: 1,
		},
		{
			name:        "stuck",
			steps:       person(8, 3451, 0, 2449),
			wantErr:     ErrStuck,
			wantReason:  ReasonStuck,
			wantSamples: 8,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				cfg := base
				if tt.cfg != nil {
					tt.cfg(&cfg)
				}
				src := &script{steps: tt.steps}
				s, err := NewSampler(src, cfg)
				if err != nil {
					t.Fatal(err)
				}
				start := time.Now()
				got, err := s.Measure(context.Background())
				if src.i != tt.wantSamples {
					t.Errorf("got %d samples read, want %d", src.i, tt.wantSamples)
				}
				if tt.wantErr != nil {
					t.Logf("error: %v", err)
					if !errors.Is(err, tt.wantErr) {
						t.Fatalf("got error %v, want %v", err, tt.wantErr)
					}
					st := s.Status()
					if st.Reason != tt.wantReason || st.Available != (tt.wantReason == ReasonNone) {
						t.Errorf("got status %+v, want reason %q", st, tt.wantReason)
					}
					var ue *UnavailableError
					if tt.wantReason != ReasonNone && (!errors.As(err, &ue) || ue.Reason != tt.wantReason) {
						t.Errorf("got %v, want an *UnavailableError with reason %q", err, tt.wantReason)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got.Value != tt.want.Value || got.Surface != tt.want.Surface || got.Ambient != tt.want.Ambient || got.Samples != tt.want.Samples {
					t.Errorf("got value %s surface %s ambient %s samples %d, want %s %s %s %d",
						got.Value, got.Surface, got.Ambient, got.Samples, tt.want.Value, tt.want.Surface, tt.want.Ambient, tt.want.Samples)
				}
				if wantAt := start.Add(time.Duration(tt.wantSamples-1) * cfg.Interval); !got.At.Equal(wantAt) {
					t.Errorf("got reading at %s, want %s", got.At, wantAt)
				}
				if got.Confidence <= 0.5 || got.Confidence > 1 {
					t.Errorf("got confidence %g, want in (0.5, 1]", got.Confidence)
				}
				if st := s.Status(); !st.Available {
					t.Errorf("got status %+v, want available", st)
				}
			})
		})
	}
}

func TestSamplerRecovers(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultSamplerConfig()
		steps := join(
			[]step{{err: errBus}},
			room(2),                      // two good samples: still unavailable (RecoverAfter 3)
			[]step{{err: ErrSensorFlag}}, // resets the count
			room(3),                      // three good samples: available
		)
		src := &script{steps: steps}
		s, err := NewSampler(src, cfg)
		if err != nil {
			t.Fatal(err)
		}
		want := []struct {
			available bool
			reason    Reason
		}{
			{false, ReasonNoAnswer},
			{false, ReasonNoAnswer},
			{false, ReasonNoAnswer},
			{false, ReasonSensorFlag},
			{false, ReasonSensorFlag},
			{false, ReasonSensorFlag},
			{true, ReasonNone},
		}
		var since time.Time
		for i, w := range want {
			_, err := s.Check()
			st := s.Status()
			if st.Available != w.available || st.Reason != w.reason {
				t.Errorf("check %d: got %+v, want available %t reason %q", i, st, w.available, w.reason)
			}
			if (err == nil) != w.available {
				t.Errorf("check %d: got error %v, want error %t", i, err, !w.available)
			}
			if i == 0 {
				since = st.Since
			} else if !w.available && !st.Since.Equal(since) {
				t.Errorf("check %d: got since %s, want %s (unchanged while unavailable)", i, st.Since, since)
			}
			time.Sleep(time.Second)
		}
	})
}

func TestSamplerRecoversDuringMeasure(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// Unavailable at the start; the person's samples bring it back, and a
		// reading is given once a stable window follows recovery.
		cfg := DefaultSamplerConfig()
		src := &script{steps: join([]step{{err: errBus}}, person(8, 3451, 2, 2449))}
		s, err := NewSampler(src, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.Check(); !errors.Is(err, ErrNoAnswer) {
			t.Fatalf("got %v, want ErrNoAnswer", err)
		}
		r, err := s.Measure(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if r.Samples != 8 || !s.Status().Available {
			t.Errorf("got %+v, status %+v; want a reading of 8 samples and available", r, s.Status())
		}
	})
}

func TestSamplerUnavailableAtTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// RecoverAfter longer than the whole timeout: the fault is reported,
		// not ErrNoPerson.
		cfg := DefaultSamplerConfig()
		cfg.RecoverAfter = 100
		src := &script{steps: join([]step{{err: errBus}}, person(31, 3451, 2, 2449))}
		s, err := NewSampler(src, cfg)
		if err != nil {
			t.Fatal(err)
		}
		s.Check()
		_, err = s.Measure(context.Background())
		if !errors.Is(err, ErrUnavailable) || !errors.Is(err, ErrNoAnswer) {
			t.Errorf("got %v, want the no-answer fault", err)
		}
	})
}

func TestSamplerContext(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		cfg := DefaultSamplerConfig()
		s, err := NewSampler(&script{steps: room(31)}, cfg)
		if err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := s.Measure(ctx); !errors.Is(err, context.Canceled) {
			t.Errorf("got %v, want context.Canceled", err)
		}
	})
}

func TestSamplerConfidence(t *testing.T) {
	cfg := DefaultSamplerConfig()
	cfg.Calibration = calibrated()
	s, err := NewSampler(&script{}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name    string
		spread  physic.Temperature
		ambient int64 // centi-°C
		uncal   bool
		want    float64
	}{
		{"flat window, mild room", 0, 2401, false, 1},
		{"at the spread limit", cfg.MaxSpread, 2401, false, 0.5},
		{"half the limit", cfg.MaxSpread / 2, 2401, false, 0.75},
		{"cold edge", 0, 1000, false, 0.5},
		{"half way to the cold edge", 0, 1400, false, 0.75},
		{"hot edge", 0, 4000, false, 0.5},
		{"never calibrated", 0, 2401, true, 0.7},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.cfg.Calibration = calibrated()
			if tt.uncal {
				s.cfg.Calibration = DefaultCalibration()
			}
			got := s.confidence(window{spread: tt.spread, ambient: centiCelsius(tt.ambient), n: 8})
			if math.Abs(got-tt.want) > 1e-9 {
				t.Errorf("got %g, want %g", got, tt.want)
			}
		})
	}
}

func TestSamplerConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*SamplerConfig)
	}{
		{"zero interval", func(c *SamplerConfig) { c.Interval = 0 }},
		{"window of one", func(c *SamplerConfig) { c.Window = 1 }},
		{"zero spread", func(c *SamplerConfig) { c.MaxSpread = 0 }},
		{"timeout shorter than a window", func(c *SamplerConfig) { c.Timeout = 100 * time.Millisecond }},
		{"empty person range", func(c *SamplerConfig) { c.PersonMin = c.PersonMax }},
		{"empty ambient range", func(c *SamplerConfig) { c.AmbientMax = c.AmbientMin }},
		{"stuck after one", func(c *SamplerConfig) { c.StuckAfter = 1 }},
		{"recover after zero", func(c *SamplerConfig) { c.RecoverAfter = 0 }},
		{"compensation above one", func(c *SamplerConfig) { c.Compensation = 1.5 }},
		{"zero calibration slope", func(c *SamplerConfig) { c.Calibration = Calibration{} }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultSamplerConfig()
			tt.mod(&c)
			if err := c.Validate(); err == nil {
				t.Error("got no error, want one")
			}
		})
	}
	c := DefaultSamplerConfig()
	if err := c.Validate(); err != nil {
		t.Errorf("default config: got %v, want no error", err)
	}
}

func TestSamplerOverTranscripts(t *testing.T) {
	tests := []struct {
		file       string
		want       Reading
		wantReason Reason
	}{
		{file: "person.txt", want: Reading{Value: centiCelsius(3451) + 1_903_800_000, Surface: centiCelsius(3451), Ambient: centiCelsius(2449), Samples: 8}},
		{file: "stuck.txt", wantReason: ReasonStuck},
		{file: "cold-room.txt", wantReason: ReasonAmbient},
		{file: "unplugged.txt", wantReason: ReasonNoAnswer},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				bus := loadTranscript(t, "sampler/"+tt.file)
				d, err := NewMLX90614(bus, DefaultAddr, nil)
				if err != nil {
					t.Fatal(err)
				}
				d.sleep = func(time.Duration) {}
				cfg := DefaultSamplerConfig()
				s, err := NewSampler(d, cfg)
				if err != nil {
					t.Fatal(err)
				}
				got, err := s.Measure(context.Background())
				if tt.wantReason != ReasonNone {
					var ue *UnavailableError
					if !errors.As(err, &ue) || ue.Reason != tt.wantReason {
						t.Fatalf("got %v, want unavailable with reason %q", err, tt.wantReason)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				if got.Value != tt.want.Value || got.Surface != tt.want.Surface || got.Ambient != tt.want.Ambient || got.Samples != tt.want.Samples {
					t.Errorf("got %+v, want %+v", got, tt.want)
				}
			})
		})
	}
}

func TestSamplerConcurrentUse(t *testing.T) {
	// Measure, Check and Status from several goroutines: the sampler
	// serialises access to the source (the race detector watches).
	cfg := DefaultSamplerConfig()
	cfg.Clock = newFakeClock()
	var steps []step
	for range 4 {
		steps = append(steps, person(8, 3451, 2, 2449)...)
	}
	steps = append(steps, room(4)...)
	s, err := NewSampler(&script{steps: steps}, cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			if _, err := s.Measure(context.Background()); err != nil {
				t.Error(err)
			}
		})
	}
	for range 4 {
		wg.Go(func() {
			_ = s.Status()
		})
	}
	wg.Wait()
	for range 4 {
		if _, err := s.Check(); err != nil {
			t.Error(err)
		}
	}
}
