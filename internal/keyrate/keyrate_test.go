package keyrate

import (
	"testing"
	"time"

	"golang.org/x/time/rate"
)

var t0 = time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)

// A key gets its burst at once, then one token per 1/rate; a refusal
// says how long to wait and spends nothing; keys do not share tokens.
func TestTake(t *testing.T) {
	l := New(2, 3) // 2 a second, bursts of 3
	for i := range 3 {
		if d := l.Take("a", t0); d != 0 {
			t.Fatalf("request %d of the burst: wait %v, want none", i+1, d)
		}
	}
	if d := l.Take("a", t0); d != 500*time.Millisecond {
		t.Errorf("past the burst: wait %v, want 500ms", d)
	}
	// The refusal spent nothing: the token is there after the wait.
	if d := l.Take("a", t0.Add(500*time.Millisecond)); d != 0 {
		t.Errorf("after the wait: wait %v, want none", d)
	}
	if d := l.Take("a", t0.Add(500*time.Millisecond)); d != 500*time.Millisecond {
		t.Errorf("again at once: wait %v, want 500ms", d)
	}
	if d := l.Take("b", t0); d != 0 {
		t.Errorf("another key: wait %v, want none", d)
	}
	if l.Len() != 2 {
		t.Errorf("got %d keys, want 2", l.Len())
	}
	l.Forget("a")
	if d := l.Take("a", t0.Add(500*time.Millisecond)); d != 0 || l.Len() != 2 {
		t.Errorf("forgotten key: wait %v with %d keys, want a full bucket", d, l.Len())
	}
}

// A rate of 0 limits nothing and keeps no bucket; a burst below 1 is 1.
func TestUnlimitedAndSmallBurst(t *testing.T) {
	l := New(0, 1)
	for range 100 {
		if d := l.Take("a", t0); d != 0 {
			t.Fatalf("rate 0: wait %v, want none", d)
		}
	}
	if l.Len() != 0 {
		t.Errorf("rate 0 keeps %d buckets, want 0", l.Len())
	}
	l = New(rate.Every(time.Minute), 0)
	if d := l.Take("a", t0); d != 0 {
		t.Errorf("burst 0: first request waits %v, want none", d)
	}
	if d := l.Take("a", t0); d != time.Minute {
		t.Errorf("burst 0: second request waits %v, want 1m", d)
	}
}
