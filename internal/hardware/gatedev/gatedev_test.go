package gatedev_test

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/device/scanner"
	"sentinel/device/scanner/scannertest"
	"sentinel/device/thermo"
	"sentinel/internal/gate"
	"sentinel/internal/hardware"
	"sentinel/internal/hardware/gatedev"
	"sentinel/internal/passage"
	"sentinel/sync/journal"
)

var t0 = time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)

func TestCodes(t *testing.T) {
	f := scannertest.NewFake("in-1 scanner 1", func() time.Time { return t0 })
	src := gatedev.NewCodes(f)
	ctx := context.Background()

	f.Push("HC1:ONE")
	c, err := src.Next(ctx)
	if err != nil || string(c.Text) != "HC1:ONE" || c.Source != "in-1 scanner 1" || !c.At.Equal(t0) {
		t.Fatalf("got %+v %v, want HC1:ONE from in-1 scanner 1 at %v", c, err, t0)
	}

	tooLong := &scanner.LineTooLongError{Source: "in-1 scanner 1", Len: 9000, Max: scanner.MaxLine}
	dropped := fmt.Errorf("scanner in-1 scanner 1: %w", scanner.ErrEventsDropped)
	tests := []struct {
		name        string
		err         error
		tooLong     bool // matches gate.ErrCodeTooLong
		closed      bool // matches gate.ErrSourceClosed
		scannerWord error
	}{
		{name: "line too long", err: tooLong, tooLong: true, scannerWord: tooLong},
		{name: "keyboard events lost", err: dropped, scannerWord: scanner.ErrEventsDropped},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f.PushError(tt.err)
			_, err := src.Next(ctx)
			if got := errors.Is(err, gate.ErrCodeTooLong); got != tt.tooLong {
				t.Errorf("errors.Is(%v, gate.ErrCodeTooLong) = %v, want %v", err, got, tt.tooLong)
			}
			if got := errors.Is(err, gate.ErrSourceClosed); got != tt.closed {
				t.Errorf("errors.Is(%v, gate.ErrSourceClosed) = %v, want %v", err, got, tt.closed)
			}
			if !errors.Is(err, tt.scannerWord) || err.Error() != tt.err.Error() {
				t.Errorf("got %q, want the scanner's error %q kept", err, tt.err)
			}
		})
	}

	if err := src.Close(); err != nil {
		t.Fatal(err)
	}
	if st := f.Status().State; st != scanner.StateClosed {
		t.Errorf("scanner %s after Close, want closed", st)
	}
	if _, err := src.Next(ctx); !errors.Is(err, gate.ErrSourceClosed) || !errors.Is(err, scanner.ErrClosed) {
		t.Errorf("Next after Close: got %v, want gate.ErrSourceClosed and scanner.ErrClosed", err)
	}
}

// frames is a camera that shows its images once, then has no more.
type frames struct{ imgs []*image.Gray }

func (f *frames) Next(ctx context.Context) (*image.Gray, error) {
	if len(f.imgs) == 0 {
		return nil, io.EOF
	}
	img := f.imgs[0]
	f.imgs = f.imgs[1:]
	return img, nil
}

// TestCodesReplayEnd: a replay camera's end reaches the gate as io.EOF,
// which stops the lane reading it, and is no closed source.
func TestCodesReplayEnd(t *testing.T) {
	cam := hardware.NewCameraSource("in-1 camera", &frames{[]*image.Gray{image.NewGray(image.Rect(0, 0, 64, 64))}}, nil)
	_, err := gatedev.NewCodes(scanner.NewDedup(cam, scanner.DedupConfig{})).Next(context.Background())
	if !errors.Is(err, io.EOF) || errors.Is(err, gate.ErrSourceClosed) {
		t.Errorf("got %v, want io.EOF", err)
	}
}

// sampler is a thermometer's sampler that returns rd and err.
type sampler struct {
	rd  thermo.Reading
	err error
}

func (s sampler) Measure(ctx context.Context) (thermo.Reading, error) { return s.rd, s.err }

func celsius(c float64) physic.Temperature {
	return physic.ZeroCelsius + physic.Temperature(c*float64(physic.Celsius))
}

func TestThermometer(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		s    sampler
		want passage.Temperature
	}{
		{name: "reading", s: sampler{rd: thermo.Reading{Value: celsius(36.8), Surface: celsius(35.1), Ambient: celsius(23), Confidence: 0.8}},
			want: passage.Temperature{State: passage.TempOK, Value: celsius(36.8), Ambient: celsius(23), Confidence: 0.8}},
		{name: "sensor does not answer", s: sampler{err: fmt.Errorf("measure: %w", &thermo.UnavailableError{Reason: thermo.ReasonNoAnswer, Err: thermo.ErrNoAnswer})},
			want: passage.Temperature{State: passage.TempUnavailable, Fault: "no-answer"}},
		{name: "sensor stuck", s: sampler{err: &thermo.UnavailableError{Reason: thermo.ReasonStuck, Err: thermo.ErrStuck}},
			want: passage.Temperature{State: passage.TempUnavailable, Fault: "stuck"}},
		{name: "nobody in front", s: sampler{err: fmt.Errorf("measure: %w", thermo.ErrNoPerson)},
			want: passage.Temperature{State: passage.TempRetake, Fault: passage.FaultNoPerson}},
		{name: "did not settle", s: sampler{err: fmt.Errorf("measure: %w", thermo.ErrUnstable)},
			want: passage.Temperature{State: passage.TempRetake, Fault: passage.FaultUnstable}},
		{name: "passage cancelled", ctx: cancelled, s: sampler{err: fmt.Errorf("measure: %w", context.Canceled)},
			want: passage.Temperature{State: passage.TempRetake, Fault: passage.FaultCancelled}},
		{name: "unnamed failure", s: sampler{err: errors.New("bus exploded")},
			want: passage.Temperature{State: passage.TempUnavailable, Fault: passage.FaultError}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := tt.ctx
			if ctx == nil {
				ctx = context.Background()
			}
			if got := gatedev.NewThermometer(tt.s).Measure(ctx); got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

// source is a thermometer whose samples come from read; it varies the
// object by a millikelvin every other sample, as a live sensor does, so
// that the sampler does not find it stuck.
type source struct {
	mu   sync.Mutex
	n    int
	read func() (thermo.Sample, error)
}

func (s *source) Read() (thermo.Sample, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	smp, err := s.read()
	smp.Object += physic.Temperature(s.n%2) * physic.MilliKelvin
	return smp, err
}

// TestThermometerSampler runs a real thermo.Sampler behind the adapter.
func TestThermometerSampler(t *testing.T) {
	person := func() (thermo.Sample, error) { return thermo.Sample{Object: celsius(35.5), Ambient: celsius(24)}, nil }
	wall := func() (thermo.Sample, error) { return thermo.Sample{Object: celsius(21), Ambient: celsius(24)}, nil }
	unplugged := func() (thermo.Sample, error) { return thermo.Sample{}, errors.New("i2c: no ACK") }
	tests := []struct {
		name  string
		read  func() (thermo.Sample, error)
		state passage.TempState
		fault string
	}{
		{"a person", person, passage.TempOK, ""},
		{"a wall", wall, passage.TempRetake, passage.FaultNoPerson},
		{"unplugged", unplugged, passage.TempUnavailable, string(thermo.ReasonNoAnswer)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s, err := thermo.NewSampler(&source{read: tt.read}, thermo.DefaultSamplerConfig())
				if err != nil {
					t.Fatal(err)
				}
				got := gatedev.NewThermometer(s).Measure(context.Background())
				if got.State != tt.state || got.Fault != tt.fault {
					t.Errorf("got %s %q, want %s %q", got.State, got.Fault, tt.state, tt.fault)
				}
				if tt.state == passage.TempOK && (got.Celsius() < 35.5 || got.Celsius() > 38) {
					t.Errorf("got %.2f °C for a forehead at 35.5 °C in a room at 24 °C, want a core temperature in 35.5..38", got.Celsius())
				}
			})
		})
	}
}

// memJournal keeps passages in memory.
type memJournal struct {
	mu sync.Mutex
	ps []*journal.Passage
}

func (j *memJournal) Append(ctx context.Context, p *journal.Passage) (journal.Seq, error) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.ps = append(j.ps, p)
	return journal.Seq(len(j.ps)), nil
}

type fixedClock struct{}

func (fixedClock) Now() (time.Time, bool) { return t0, true }

// denyRefused denies every refused code, naming the refusal.
type denyRefused struct{}

func (denyRefused) Decide(in *gate.Input) gate.Decision {
	if in.Rejection != "" {
		return gate.Decision{Verdict: passage.Deny, Reasons: []string{string(in.Rejection)}}
	}
	return gate.Decision{Verdict: passage.Refer}
}

// TestLane runs a gate whose lane reads a scanner through the adapter: a
// line too long is refused like a bad payload, a code reaches the gate
// with its source, and Stop closes the scanner.
func TestLane(t *testing.T) {
	f := scannertest.NewFake("in-1 scanner 1", nil)
	results := make(chan gate.Result, 4)
	g, err := gate.New(gate.Options{
		Lanes:     []gate.LaneConfig{{Name: "in-1", Sources: []gate.CodeSource{gatedev.NewCodes(f)}}},
		Journal:   &memJournal{},
		Clock:     fixedClock{},
		State:     &gate.State{Policy: denyRefused{}},
		OnPassage: func(r gate.Result) { results <- r },
	})
	if err != nil {
		t.Fatal(err)
	}
	g.Start(context.Background())
	next := func() gate.Result {
		t.Helper()
		select {
		case r := <-results:
			return r
		case <-time.After(10 * time.Second):
			t.Fatal("no passage")
			return gate.Result{}
		}
	}

	f.PushError(&scanner.LineTooLongError{Source: "in-1 scanner 1", Len: 9000, Max: scanner.MaxLine})
	if r := next(); r.Passage.Decision != passage.Deny || len(r.Passage.Reasons) == 0 || r.Passage.Reasons[0] != string(credential.ReasonTooLarge) {
		t.Errorf("got %s %v, want deny for %s", r.Passage.Decision, r.Passage.Reasons, credential.ReasonTooLarge)
	}
	f.Push("HC1:NOT-A-CODE")
	if r := next(); r.Source != "in-1 scanner 1" || r.Passage.Decision != passage.Deny {
		t.Errorf("got %s %v from %q, want deny from in-1 scanner 1", r.Passage.Decision, r.Passage.Reasons, r.Source)
	}

	done := make(chan struct{})
	go func() { g.Stop(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Stop did not return")
	}
	if st := f.Status(); st.State != scanner.StateClosed {
		t.Errorf("scanner %s after Stop, want closed", st.State)
	}
}
