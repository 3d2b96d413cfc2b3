package client

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"
)

// lines keeps what a logger wrote, one string per record.
type lines struct {
	mu  sync.Mutex
	got []string
}

func (l *lines) Enabled(context.Context, slog.Level) bool { return true }
func (l *lines) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *lines) WithGroup(string) slog.Handler            { return l }
func (l *lines) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	l.mu.Lock()
	l.got = append(l.got, b.String())
	l.mu.Unlock()
	return nil
}

func (l *lines) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.got...)
}

// The retry loop in a synctest bubble, on the bubble's clock: the backoff
// grows and caps, the centre's Retry-After replaces it, an identical error
// is logged once, the recovery names the failures and the outage's
// duration, a kick cuts short an idle wait but not a backoff, and a
// cancellation is never logged.
func TestRetryLoop(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		down := errors.New("client: upload: dial tcp: connection refused")
		busy := &RetryError{After: 42 * time.Second, Err: errors.New("client: upload: centre answered 503")}
		script := []error{down, down, down, down, down, down, busy, nil,
			fmt.Errorf("client: upload: %w", context.Canceled)}
		var (
			mu sync.Mutex
			at []time.Time
		)
		round := func(ctx context.Context) error {
			mu.Lock()
			i := len(at)
			at = append(at, time.Now())
			mu.Unlock()
			if i < len(script) {
				return script[i]
			}
			<-ctx.Done() // the last round is under way when the terminal stops
			return fmt.Errorf("client: upload: %w", ctx.Err())
		}
		rounds := func() int {
			mu.Lock()
			defer mu.Unlock()
			return len(at)
		}
		lg := &lines{}
		r := newRetry("upload", time.Hour, time.Second, 10*time.Second, func() float64 { return 0.5 }, slog.New(lg))
		ctx, cancel := context.WithCancel(t.Context())
		kick := make(chan struct{}, 1)
		stopped := make(chan struct{})
		go func() {
			r.run(ctx, kick, round)
			close(stopped)
		}()

		time.Sleep(69 * time.Second) // the outage: 8 rounds, the last one succeeds
		synctest.Wait()
		if n := rounds(); n != 8 {
			t.Fatalf("got %d rounds in the first 69 s, want 8", n)
		}
		time.Sleep(10 * time.Minute) // idle for Interval (an hour) ...
		if n := rounds(); n != 8 {
			t.Fatalf("got %d rounds while idle, want 8", n)
		}
		kick <- struct{}{} // ... unless kicked
		synctest.Wait()
		if n := rounds(); n != 9 {
			t.Fatalf("got %d rounds after a kick, want 9", n)
		}
		kick <- struct{}{} // round 9 failed: a kick waits for the backoff
		synctest.Wait()
		if n := rounds(); n != 9 {
			t.Fatalf("a kick cut a backoff short: %d rounds", n)
		}
		time.Sleep(750 * time.Millisecond)
		synctest.Wait()
		if n := rounds(); n != 10 {
			t.Fatalf("got %d rounds after the backoff, want 10", n)
		}
		cancel() // round 10 is under way
		<-stopped

		// Backoff 1 s·2^(n-1) capped at 10 s, of which rand 0.5 keeps ¾;
		// then Retry-After; then the hour's idle wait cut by the kick at
		// 10 min; then the first backoff again.
		want := []time.Duration{750 * time.Millisecond, 1500 * time.Millisecond, 3 * time.Second, 6 * time.Second,
			7500 * time.Millisecond, 7500 * time.Millisecond, 42 * time.Second,
			69*time.Second - 68250*time.Millisecond + 10*time.Minute, 750 * time.Millisecond}
		mu.Lock()
		for i, w := range want {
			if got := at[i+1].Sub(at[i]); got != w {
				t.Errorf("wait before round %d: got %v, want %v", i+2, got, w)
			}
		}
		mu.Unlock()

		got := lg.all()
		wantLogs := []string{
			`sync: upload failed; retrying err=client: upload: dial tcp: connection refused failures=1 retry_in=750ms`,
			`sync: upload failed; retrying err=client: upload: centre answered 503 failures=7 retry_in=42s`,
			`sync: upload recovered failures=7 outage=1m8.25s`,
		}
		if strings.Join(got, "\n") != strings.Join(wantLogs, "\n") {
			t.Errorf("logged:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantLogs, "\n"))
		}
	})
}
