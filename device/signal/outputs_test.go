package signal

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
)

type rig struct {
	tl                        *timeline
	relay, g, y, r, buzzerPin *recPin
	out                       *Outputs
}

func newRig(t *testing.T) *rig {
	t.Helper()
	tl := newTimeline(time.Now)
	x := &rig{tl: tl, relay: tl.pin("relay"), g: tl.pin("green"), y: tl.pin("yellow"), r: tl.pin("red"), buzzerPin: tl.pin("buzzer")}
	relay, err := NewRelay(x.relay, &RelayOpts{ActiveLow: true, PulseLength: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	tower, err := NewTower(x.g, x.y, x.r, nil)
	if err != nil {
		t.Fatal(err)
	}
	buzzer, err := NewBuzzer(x.buzzerPin, nil)
	if err != nil {
		t.Fatal(err)
	}
	x.out, err = NewOutputs(relay, tower, buzzer, DefaultPatterns())
	if err != nil {
		t.Fatal(err)
	}
	return x
}

func TestOutputs(t *testing.T) {
	tests := []struct {
		name     string
		call     func(*Outputs) error
		wantTime time.Duration // when the call returned
		want     map[string]string
	}{
		{
			name:     "admit",
			call:     (*Outputs).Admit,
			wantTime: 300 * time.Millisecond, // the relay's pulse outlasts the beep
			want: map[string]string{
				"relay":  "0s relay=High, 0s relay=Low, 300ms relay=High",
				"green":  "0s green=Low, 0s green=High",
				"red":    "0s red=Low, 0s red=Low",
				"buzzer": "0s buzzer=Low, 0s buzzer=High, 150ms buzzer=Low",
			},
		},
		{
			name:     "refuse",
			call:     (*Outputs).Refuse,
			wantTime: 500 * time.Millisecond,
			want: map[string]string{
				"relay":  "0s relay=High",
				"red":    "0s red=Low, 0s red=High",
				"green":  "0s green=Low, 0s green=Low",
				"buzzer": "0s buzzer=Low, 0s buzzer=High, 100ms buzzer=Low, 200ms buzzer=High, 300ms buzzer=Low, 400ms buzzer=High, 500ms buzzer=Low",
			},
		},
		{
			name:     "fault",
			call:     (*Outputs).Fault,
			wantTime: 1400 * time.Millisecond,
			want: map[string]string{
				"relay":  "0s relay=High",
				"yellow": "0s yellow=Low, 0s yellow=High",
				"buzzer": "0s buzzer=Low, 0s buzzer=High, 600ms buzzer=Low, 800ms buzzer=High, 1.4s buzzer=Low",
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				x := newRig(t)
				start := time.Now()
				if err := tt.call(x.out); err != nil {
					t.Fatal(err)
				}
				if got := time.Since(start); got != tt.wantTime {
					t.Errorf("returned after %s, want %s", got, tt.wantTime)
				}
				for pin, want := range tt.want {
					if got := x.tl.of(pin); got != want {
						t.Errorf("%s: got %s\nwant %s", pin, got, want)
					}
				}
				if got := x.relay.Read(); got != gpio.High {
					t.Errorf("relay (active low) ends at %s, want High", got)
				}
			})
		})
	}
}

func TestOutputsHalt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		x := newRig(t)
		done := make(chan error)
		go func() { done <- x.out.Admit() }()
		time.Sleep(100 * time.Millisecond)
		if err := x.out.Halt(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		if got, want := x.tl.of("relay"), "0s relay=High, 0s relay=Low, 100ms relay=High, 100ms relay=High"; got != want {
			t.Errorf("relay: got %s\nwant %s", got, want)
		}
		if got, want := x.tl.of("green"), "0s green=Low, 0s green=High, 100ms green=Low"; got != want {
			t.Errorf("green: got %s\nwant %s", got, want)
		}
		for _, p := range []*recPin{x.g, x.y, x.r, x.buzzerPin} {
			if p.Read() != gpio.Low {
				t.Errorf("%s: got %s after Halt, want Low", p.N, p.Read())
			}
		}
	})
}

func TestOutputsPartial(t *testing.T) {
	// A lane with only a relay and a buzzer whose pin fails: the relay
	// still pulses and the buzzer's error is reported.
	synctest.Test(t, func(t *testing.T) {
		tl := newTimeline(time.Now)
		rp, bp := tl.pin("relay"), tl.pin("buzzer")
		relay, err := NewRelay(rp, nil)
		if err != nil {
			t.Fatal(err)
		}
		buzzer, err := NewBuzzer(bp, nil)
		if err != nil {
			t.Fatal(err)
		}
		bp.fail = failLevel(gpio.High)
		o, err := NewOutputs(relay, nil, buzzer, DefaultPatterns())
		if err != nil {
			t.Fatal(err)
		}
		if err := o.Admit(); !errors.Is(err, errPin) {
			t.Errorf("got %v, want the buzzer's error", err)
		}
		if got, want := tl.of("relay"), "0s relay=Low, 0s relay=High, 500ms relay=Low"; got != want {
			t.Errorf("got %s\nwant %s", got, want)
		}
		if err := o.Idle(); err != nil {
			t.Errorf("idle without a tower: %v", err)
		}
	})
	if _, err := NewOutputs(nil, nil, nil, Patterns{}); !errors.Is(err, ErrPattern) {
		t.Errorf("empty patterns: got %v, want ErrPattern", err)
	}
}
