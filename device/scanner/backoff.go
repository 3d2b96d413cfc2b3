package scanner

import (
	"context"
	"time"

	"sentinel/internal/backoff"
)

// Default reopen delays for a missing device.
const (
	DefaultMinBackoff = 250 * time.Millisecond
	DefaultMaxBackoff = 10 * time.Second
)

// newBackoff returns the reopen delays: min, 2·min, 4·min, … up to max,
// without jitter (one terminal, one device).
func newBackoff(lo, hi time.Duration) backoff.Backoff {
	if lo <= 0 {
		lo = DefaultMinBackoff
	}
	if hi <= 0 {
		hi = DefaultMaxBackoff
	}
	return backoff.Backoff{Min: lo, Max: max(lo, hi)}
}

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
