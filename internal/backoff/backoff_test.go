package backoff_test

import (
	"testing"
	"time"

	"sentinel/internal/backoff"
)

func TestGrowsAndCaps(t *testing.T) {
	b := backoff.Backoff{Min: time.Second, Max: 10 * time.Second}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i, w := range want {
		if got := b.Next(); got != w*time.Second {
			t.Fatalf("delay %d: got %v, want %v", i+1, got, w*time.Second)
		}
	}
	if b.Failures() != len(want) {
		t.Fatalf("got %d failures, want %d", b.Failures(), len(want))
	}
	b.Reset()
	if got := b.Next(); got != time.Second {
		t.Fatalf("after Reset: got %v, want 1s", got)
	}
}

// A long outage neither overflows into a negative or zero delay nor
// grows past Max.
func TestLongOutage(t *testing.T) {
	b := backoff.Backoff{Min: 250 * time.Millisecond, Max: 5 * time.Minute}
	for n := 1; n < 200; n++ {
		if d := b.Next(); d <= 0 || d > 5*time.Minute {
			t.Fatalf("failure %d: delay %v", n, d)
		}
	}
	if d := b.Delay(1000); d != 5*time.Minute {
		t.Fatalf("got %v after 1000 failures, want the cap", d)
	}
}

// The jitter takes the upper half of the delay, never more.
func TestJitter(t *testing.T) {
	for _, r := range []float64{0, 0.5, 0.999} {
		b := backoff.Backoff{Min: 4 * time.Second, Max: time.Minute, Rand: func() float64 { return r }}
		d := b.Delay(2) // 8 s before jitter
		lo, hi := 4*time.Second, 8*time.Second
		if d < lo || d >= hi {
			t.Errorf("rand %v: got %v, want in [%v, %v)", r, d, lo, hi)
		}
	}
	b := backoff.Backoff{Min: 4 * time.Second, Max: time.Minute, Rand: func() float64 { return 0.5 }}
	if d := b.Delay(2); d != 6*time.Second {
		t.Errorf("got %v, want 6s", d)
	}
}

func TestMaxBelowMin(t *testing.T) {
	b := backoff.Backoff{Min: time.Second, Max: time.Millisecond}
	if d := b.Next(); d != time.Second {
		t.Fatalf("got %v, want Min", d)
	}
}
