package signal

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
)

func TestRelayPulse(t *testing.T) {
	tests := []struct {
		name    string
		opts    *RelayOpts
		pulse   time.Duration // 0: Trigger
		fail    func(int, gpio.Level) error
		want    string
		wantErr error
		final   gpio.Level
	}{
		{
			name:  "trigger, defaults",
			want:  "0s relay=Low, 0s relay=High, 500ms relay=Low",
			final: gpio.Low,
		},
		{
			name:  "active low",
			opts:  &RelayOpts{ActiveLow: true, PulseLength: 200 * time.Millisecond},
			want:  "0s relay=High, 0s relay=Low, 200ms relay=High",
			final: gpio.High,
		},
		{
			name:  "explicit pulse",
			pulse: 3 * time.Second,
			want:  "0s relay=Low, 0s relay=High, 3s relay=Low",
			final: gpio.Low,
		},
		{
			name:  "longest pulse",
			pulse: MaxPulse,
			want:  "0s relay=Low, 0s relay=High, 10s relay=Low",
			final: gpio.Low,
		},
		{
			name:    "too long",
			pulse:   MaxPulse + time.Nanosecond,
			want:    "0s relay=Low",
			wantErr: ErrPulseLength,
			final:   gpio.Low,
		},
		{
			name:    "negative",
			pulse:   -time.Second,
			want:    "0s relay=Low",
			wantErr: ErrPulseLength,
			final:   gpio.Low,
		},
		{
			name:    "driving active fails: still released",
			fail:    failWrites(1),
			want:    "0s relay=Low, 0s relay=High(failed), 0s relay=Low",
			wantErr: errPin,
			final:   gpio.Low,
		},
		{
			name:  "release fails once: retried",
			fail:  failWrites(2),
			want:  "0s relay=Low, 0s relay=High, 500ms relay=Low(failed), 500ms relay=Low",
			final: gpio.Low,
		},
		{
			name:    "release fails for good",
			fail:    failWrites(2, 3, 4),
			want:    "0s relay=Low, 0s relay=High, 500ms relay=Low(failed), 500ms relay=Low(failed), 500ms relay=Low(failed)",
			wantErr: ErrRelayStuck,
			final:   gpio.High,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tl := newTimeline(time.Now)
				p := tl.pin("relay")
				p.fail = tt.fail
				r, err := NewRelay(p, tt.opts)
				if err != nil {
					t.Fatal(err)
				}
				if tt.pulse == 0 {
					err = r.Trigger()
				} else {
					err = r.Pulse(tt.pulse)
				}
				if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
					t.Errorf("got error %v, want %v", err, tt.wantErr)
				}
				if got := tl.all(); got != tt.want {
					t.Errorf("got %s\nwant %s", got, tt.want)
				}
				if got := p.Read(); got != tt.final {
					t.Errorf("got final level %s, want %s", got, tt.final)
				}
			})
		})
	}
}

func TestRelayReleasedOnPanic(t *testing.T) {
	tl := newTimeline((&fakeClock{}).Now)
	p := tl.pin("relay")
	r, err := NewRelay(p, nil)
	if err != nil {
		t.Fatal(err)
	}
	p.fail = func(n int, l gpio.Level) error {
		if l == gpio.High {
			panic("driver bug")
		}
		return nil
	}
	func() {
		defer func() {
			if recover() == nil {
				t.Error("got no panic, want the driver's")
			}
		}()
		r.Trigger()
	}()
	if got := p.Read(); got != gpio.Low {
		t.Errorf("after a panic: got level %s, want Low", got)
	}
	// The lock was released too: the relay still works.
	p.fail = nil
	if err := r.Pulse(time.Nanosecond); err != nil {
		t.Errorf("pulse after the panic: %v", err)
	}
}

func TestRelayInjectedClock(t *testing.T) {
	clk := &fakeClock{now: time.Date(2026, 11, 29, 8, 0, 0, 0, time.UTC)}
	tl := newTimeline(clk.Now)
	p := tl.pin("relay")
	r, err := NewRelay(p, &RelayOpts{PulseLength: 300 * time.Millisecond, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := r.Trigger(); err != nil {
			t.Fatal(err)
		}
	}
	want := "0s relay=Low, 0s relay=High, 300ms relay=Low, 300ms relay=High, 600ms relay=Low"
	if got := tl.all(); got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestRelayHaltEndsPulse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTimeline(time.Now)
		p := tl.pin("relay")
		r, err := NewRelay(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		errs := make(chan error, 2)
		go func() { errs <- r.Pulse(5 * time.Second) }()
		synctest.Wait() // the first pulse is active and holds the lock
		go func() { errs <- r.Pulse(5 * time.Second) }()
		time.Sleep(time.Second)
		if err := r.Halt(); err != nil {
			t.Fatal(err)
		}
		e1, e2 := <-errs, <-errs
		if e1 != nil {
			e1, e2 = e2, e1 // both return at the same instant, in any order
		}
		if e1 != nil || !errors.Is(e2, ErrHalted) {
			t.Errorf("got errors %v and %v, want nil (the pulse cut short) and ErrHalted (the queued one)", e1, e2)
		}
		// The pulse's own release, then Halt's; the queued pulse never
		// drove the pin.
		want := "0s relay=Low, 0s relay=High, 1s relay=Low, 1s relay=Low"
		if got := tl.all(); got != want {
			t.Errorf("got %s\nwant %s", got, want)
		}
		// Usable again after Halt.
		if err := r.Pulse(time.Second); err != nil {
			t.Fatal(err)
		}
		if got, want := tl.of("relay"), want+", 1s relay=High, 2s relay=Low"; got != want {
			t.Errorf("got %s\nwant %s", got, want)
		}
	})
}

func TestRelayConcurrentPulsesTakeTurns(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTimeline(time.Now)
		p := tl.pin("relay")
		r, err := NewRelay(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 3)
		for range 3 {
			go func() { done <- r.Trigger() }()
		}
		for range 3 {
			if err := <-done; err != nil {
				t.Fatal(err)
			}
		}
		want := "0s relay=Low, 0s relay=High, 500ms relay=Low, 500ms relay=High, 1s relay=Low, 1s relay=High, 1.5s relay=Low"
		if got := tl.all(); got != want {
			t.Errorf("got %s\nwant %s", got, want)
		}
	})
}

func TestNewRelayErrors(t *testing.T) {
	tl := newTimeline(time.Now)
	if _, err := NewRelay(nil, nil); err == nil {
		t.Error("nil pin: got no error, want one")
	}
	if _, err := NewRelay(tl.pin("relay"), &RelayOpts{PulseLength: time.Minute}); !errors.Is(err, ErrPulseLength) {
		t.Errorf("one-minute pulse: got %v, want ErrPulseLength", err)
	}
	p := tl.pin("stuck")
	p.fail = failLevel(gpio.Low)
	if _, err := NewRelay(p, nil); !errors.Is(err, ErrRelayStuck) {
		t.Errorf("pin that cannot go low: got %v, want ErrRelayStuck", err)
	}
}
