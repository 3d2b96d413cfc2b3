package scanner

import (
	"context"
	"time"
)

// Default reopen delays for a missing device.
const (
	DefaultMinBackoff = 250 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
)

// backoff is a capped exponential delay: min, 2·min, 4·min, … up to max.
type backoff struct {
	min, max time.Duration
	next     time.Duration
}

func newBackoff(lo, hi time.Duration) backoff {
	if lo <= 0 {
		lo = DefaultMinBackoff
	}
	if hi <= 0 {
		hi = DefaultMaxBackoff
	}
	return backoff{min: lo, max: max(lo, hi)}
}

// Next returns the delay before the next attempt and doubles the one after.
func (b *backoff) Next() time.Duration {
	if b.next < b.min {
		b.next = b.min
	}
	d := b.next
	b.next = min(2*b.next, b.max)
	return d
}

// Reset starts again at min after a success.
func (b *backoff) Reset() { b.next = 0 }

// sleepCtx waits for d or until ctx is done; it is the default sleep of
// the sources, which tests replace.
func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// waitOrDone sleeps for d with sleep, returning early when done closes.
func waitOrDone(ctx context.Context, done <-chan struct{}, sleep func(context.Context, time.Duration) error, d time.Duration) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-done:
			cancel()
		case <-ctx.Done():
		}
	}()
	return sleep(ctx, d)
}
