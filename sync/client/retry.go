package client

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"sentinel/internal/backoff"
)

// retry is the one loop behind the upload, the download and the health
// report: offline is normal for a terminal, so a round that fails is tried
// again, later and later (capped exponential backoff with jitter), or
// when the centre asked for (Retry-After). It logs an error once, until
// another takes its place, logs the recovery with the number of failures
// and how long the outage lasted, and never logs a cancellation: stopping
// is not a failure. Each request bounds itself with the options' Timeout.
// As tailscale's logtail uploading() and util/backoff.
type retry struct {
	what string        // "upload", "download", "health report": names the log lines
	idle time.Duration // the wait after a successful round
	back backoff.Backoff
	log  *slog.Logger

	since   time.Time // the first failure of the outage
	lastErr string    // the last error logged
}

func newRetry(what string, idle, lo, hi time.Duration, rnd func() float64, log *slog.Logger) *retry {
	return &retry{what: what, idle: idle, back: backoff.Backoff{Min: lo, Max: hi, Rand: rnd}, log: log}
}

// run calls round at once and then until ctx ends: after a success again
// after idle, or at once on a kick (nil: no kicks); after a failure when
// the backoff or the centre's Retry-After has passed, which a kick does
// not cut short.
func (r *retry) run(ctx context.Context, kick <-chan struct{}, round func(context.Context) error) {
	t := time.NewTimer(0)
	defer t.Stop()
	<-t.C
	for {
		err := round(ctx)
		if ctx.Err() != nil {
			return
		}
		wait := r.done(err)
		t.Reset(wait)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-kick:
			if err == nil {
				t.Stop() // Go ≥ 1.23: no stale tick after Stop, Reset is safe
				continue
			}
			select { // keep the backoff
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
	}
}

// done takes the outcome of a round, logs what changed and returns the
// wait before the next round.
func (r *retry) done(err error) time.Duration {
	if err == nil {
		if n := r.back.Failures(); n > 0 {
			r.log.Info("sync: "+r.what+" recovered", "failures", n, "outage", time.Since(r.since).Round(time.Millisecond))
		}
		r.back.Reset()
		r.lastErr = ""
		return r.idle
	}
	if r.back.Failures() == 0 {
		r.since = time.Now()
	}
	wait := r.back.Next()
	var re *RetryError
	if errors.As(err, &re) && re.After > 0 {
		wait = min(re.After, MaxRetryAfter)
	}
	if msg := err.Error(); msg != r.lastErr && !errors.Is(err, context.Canceled) {
		r.log.Warn("sync: "+r.what+" failed; retrying", "err", err, "failures", r.back.Failures(), "retry_in", wait)
		r.lastErr = msg
	}
	return wait
}
