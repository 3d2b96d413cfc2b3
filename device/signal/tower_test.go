package signal

import (
	"errors"
	"testing"

	"periph.io/x/conn/v3/gpio"
)

func TestTower(t *testing.T) {
	tests := []struct {
		name  string
		opts  *TowerOpts
		set   []Light
		fail  map[string]func(int, gpio.Level) error
		want  string // after NewTower's "all off"
		final Light
		err   bool
	}{
		{
			name:  "green",
			set:   []Light{Green},
			want:  "0s yellow=Low, 0s red=Low, 0s green=High",
			final: Green,
		},
		{
			name:  "green then red: green off before red on",
			set:   []Light{Green, Red},
			want:  "0s yellow=Low, 0s red=Low, 0s green=High, 0s green=Low, 0s yellow=Low, 0s red=High",
			final: Red,
		},
		{
			name:  "off",
			set:   []Light{Yellow, Off},
			want:  "0s green=Low, 0s red=Low, 0s yellow=High, 0s green=Low, 0s yellow=Low, 0s red=Low",
			final: Off,
		},
		{
			name:  "active low",
			opts:  &TowerOpts{ActiveLow: true},
			set:   []Light{Yellow},
			want:  "0s green=High, 0s red=High, 0s yellow=Low",
			final: Yellow,
		},
		{
			name: "a lamp fails: the others are still driven",
			set:  []Light{Red},
			fail: map[string]func(int, gpio.Level) error{"green": failWrites(1)},
			want: "0s green=Low(failed), 0s yellow=Low, 0s red=High",
			err:  true,
			// Unknown, so reported as Off.
			final: Off,
		},
		{
			name:  "unknown light",
			set:   []Light{Light(7)},
			want:  "",
			err:   true,
			final: Off,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tl := newTimeline((&fakeClock{}).Now)
			g, y, r := tl.pin("green"), tl.pin("yellow"), tl.pin("red")
			tw, err := NewTower(g, y, r, tt.opts)
			if err != nil {
				t.Fatal(err)
			}
			initial := tl.all()
			for _, p := range []*recPin{g, y, r} {
				p.fail = tt.fail[p.N]
			}
			for _, l := range tt.set {
				err = tw.Set(l)
			}
			if (err != nil) != tt.err {
				t.Errorf("got error %v, want error %t", err, tt.err)
			}
			got := tl.all()[len(initial):]
			if len(got) > 0 {
				got = got[2:] // ", "
			}
			if got != tt.want {
				t.Errorf("got %s\nwant %s", got, tt.want)
			}
			if tw.Light() != tt.final {
				t.Errorf("got light %s, want %s", tw.Light(), tt.final)
			}
		})
	}
}

func TestTowerMissingLamp(t *testing.T) {
	tl := newTimeline((&fakeClock{}).Now)
	g, r := tl.pin("green"), tl.pin("red")
	tw, err := NewTower(g, nil, r, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := tw.Set(Yellow); err == nil {
		t.Error("yellow on a tower without one: got no error, want one")
	}
	if err := tw.Set(Red); err != nil {
		t.Fatal(err)
	}
	if got, want := tl.all(), "0s green=Low, 0s red=Low, 0s green=Low, 0s red=High"; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	if _, err := NewTower(nil, nil, nil, nil); err == nil {
		t.Error("no pins: got no error, want one")
	}
	bad := tl.pin("bad")
	bad.fail = failLevel(gpio.Low)
	if _, err := NewTower(bad, nil, nil, nil); !errors.Is(err, errPin) {
		t.Errorf("pin that cannot go low: got %v, want the pin's error", err)
	}
}
