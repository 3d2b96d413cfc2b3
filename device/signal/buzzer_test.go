package signal

import (
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/gpio"
)

func TestBuzzerPatterns(t *testing.T) {
	ms := time.Millisecond
	def := DefaultPatterns()
	tests := []struct {
		name    string
		opts    *BuzzerOpts
		p       Pattern
		fail    func(int, gpio.Level) error
		want    string // after NewBuzzer's "off"
		wantErr error
	}{
		{
			name: "admit",
			p:    def.Admit,
			want: "0s buzzer=High, 150ms buzzer=Low",
		},
		{
			name: "refuse",
			p:    def.Refuse,
			want: "0s buzzer=High, 100ms buzzer=Low, 200ms buzzer=High, 300ms buzzer=Low, 400ms buzzer=High, 500ms buzzer=Low",
		},
		{
			name: "fault",
			p:    def.Fault,
			want: "0s buzzer=High, 600ms buzzer=Low, 800ms buzzer=High, 1.4s buzzer=Low",
		},
		{
			name: "active low",
			opts: &BuzzerOpts{ActiveLow: true},
			p:    Pattern{50 * ms},
			want: "0s buzzer=Low, 50ms buzzer=High",
		},
		{
			name:    "empty",
			p:       Pattern{},
			want:    "",
			wantErr: ErrPattern,
		},
		{
			name:    "trailing silence",
			p:       Pattern{50 * ms, 50 * ms},
			want:    "",
			wantErr: ErrPattern,
		},
		{
			name:    "zero step",
			p:       Pattern{50 * ms, 0, 50 * ms},
			want:    "",
			wantErr: ErrPattern,
		},
		{
			name:    "too long",
			p:       Pattern{3 * time.Second, time.Second, 2 * time.Second},
			want:    "",
			wantErr: ErrPattern,
		},
		{
			name:    "write fails: still silenced",
			p:       def.Refuse,
			fail:    failWrites(2), // the second "on"
			want:    "0s buzzer=High, 100ms buzzer=Low, 200ms buzzer=High(failed), 200ms buzzer=Low",
			wantErr: errPin,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				tl := newTimeline(time.Now)
				p := tl.pin("buzzer")
				b, err := NewBuzzer(p, tt.opts)
				if err != nil {
					t.Fatal(err)
				}
				initial := len(tl.all())
				p.fail = func(n int, l gpio.Level) error {
					if tt.fail == nil {
						return nil
					}
					return tt.fail(n-1, l) // count from after NewBuzzer
				}
				err = b.Play(tt.p)
				if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
					t.Errorf("got error %v, want %v", err, tt.wantErr)
				}
				got := tl.all()[initial:]
				if len(got) > 0 {
					got = got[2:]
				}
				if got != tt.want {
					t.Errorf("got %s\nwant %s", got, tt.want)
				}
				_, inactive := levels(tt.opts != nil && tt.opts.ActiveLow)
				if p.Read() != inactive {
					t.Errorf("got final level %s, want %s (silent)", p.Read(), inactive)
				}
			})
		})
	}
}

func TestDefaultPatternsDistinct(t *testing.T) {
	p := DefaultPatterns()
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	// A guard tells them apart by the number of tones and their length.
	type shape struct {
		tones   int
		longest time.Duration
	}
	sh := func(p Pattern) shape {
		var s shape
		for i := 0; i < len(p); i += 2 {
			s.tones++
			s.longest = max(s.longest, p[i])
		}
		return s
	}
	a, r, f := sh(p.Admit), sh(p.Refuse), sh(p.Fault)
	if a == r || a == f || r == f {
		t.Errorf("got shapes admit %+v, refuse %+v, fault %+v, want three distinct ones", a, r, f)
	}
}

func TestBuzzerHalt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		tl := newTimeline(time.Now)
		p := tl.pin("buzzer")
		b, err := NewBuzzer(p, nil)
		if err != nil {
			t.Fatal(err)
		}
		done := make(chan error)
		go func() { done <- b.Play(DefaultPatterns().Fault) }()
		time.Sleep(700 * time.Millisecond) // in the silence between the tones
		if err := b.Halt(); err != nil {
			t.Fatal(err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
		want := "0s buzzer=Low, 0s buzzer=High, 600ms buzzer=Low, 700ms buzzer=Low, 700ms buzzer=Low"
		if got := tl.all(); got != want {
			t.Errorf("got %s\nwant %s", got, want)
		}
	})
}
