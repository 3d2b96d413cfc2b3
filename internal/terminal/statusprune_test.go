package terminal

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/sdnotify"
)

// TestStatusPruneSchedule: the terminal prunes its status list every hour
// on its clock. An entry stays while it can still override a valid native
// code (7 days and the clock tolerance after it took effect) and is gone
// within the hour after, also for the gate; nothing is pruned while the
// clock is not trusted. Before, status.List.Prune was never called on the
// terminal and such entries stayed until the next status base.
func TestStatusPruneSchedule(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		f := newHoldFixture(t) // ZJ:1 red since an hour ago
		var untrusted atomic.Bool
		f.h.now = func() (time.Time, bool) { return time.Now(), !untrusted.Load() }
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan struct{})
		go func() {
			f.h.pruneStatusEvery(ctx, statusPruneEvery)
			close(done)
		}()
		entries := func() int {
			f.h.mu.Lock()
			defer f.h.mu.Unlock()
			return f.h.status.list.Counts().Native
		}
		// What the gate reads: a code issued before the entry took
		// effect is overridden while the entry is held.
		overridden := func() bool { return f.status(1).Overridden }
		if entries() != 1 || !overridden() {
			t.Fatalf("at start: %d entries, overridden %v; want ZJ:1 held", entries(), overridden())
		}

		// Six days on, hourly prunes: the entry can still override a
		// paper code (valid up to 7 days).
		time.Sleep(6 * 24 * time.Hour)
		synctest.Wait()
		if entries() != 1 {
			t.Fatalf("after 6 days: %d entries, want ZJ:1 kept", entries())
		}

		// The clock is not trusted: nothing is pruned, however late.
		untrusted.Store(true)
		time.Sleep(2 * 24 * time.Hour)
		synctest.Wait()
		if entries() != 1 {
			t.Fatalf("with an untrusted clock: %d entries, want ZJ:1 kept", entries())
		}

		// Trusted again, past 7 days and the tolerance: gone within the
		// hour, for the gate too.
		untrusted.Store(false)
		time.Sleep(statusPruneEvery)
		synctest.Wait()
		if entries() != 0 || overridden() {
			t.Errorf("past the native lifetime: %d entries, overridden %v; want none", entries(), overridden())
		}
		if !strings.Contains(f.logs.String(), "status list pruned") {
			t.Errorf("the prune was not logged:\n%s", f.logs.String())
		}
		cancel()
		<-done
	})
}

// shiftedClock is the system's clock moved on by shift, trusted.
type shiftedClock struct{ shift atomic.Int64 }

func (c *shiftedClock) Now() (time.Time, bool) {
	return time.Now().Add(time.Duration(c.shift.Load())), true
}

// TestDaemonPrunesStatus: sentineld runs the status list's prune on its
// schedule: when its clock passes an entry's native lifetime, the entry
// is dropped.
func TestDaemonPrunesStatus(t *testing.T) {
	f := newHoldFixture(t) // ZJ:1 red since an hour ago
	cfg := firmwareconfig.DefaultConfig()
	cfg.DataDir = f.dir
	cfg.Terminal = firmwareconfig.Terminal{ID: "T-1", SiteID: "S-1"}
	cfg.Listen = firmwareconfig.Listen{Display: "127.0.0.1:0", Management: "127.0.0.1:0"}
	clk := &shiftedClock{}
	logs := &syncBuffer{}
	d := &daemon{
		cfg: cfg, logger: slog.New(slog.NewTextHandler(logs, nil)), hw: hostHardware(), notify: sdnotify.New(""),
		clock: clk, syncEvery: time.Hour, pruneEvery: 10 * time.Millisecond,
	}
	r := runDaemon(t, d, logs)
	entries := func() int {
		d.held.mu.Lock()
		defer d.held.mu.Unlock()
		if d.held.status.list == nil {
			return -1
		}
		return d.held.status.list.Counts().Native
	}
	if n := entries(); n != 1 {
		t.Fatalf("at start: %d status entries, want ZJ:1", n)
	}
	clk.shift.Store(int64(8 * 24 * time.Hour))
	waitFor(t, "ZJ:1 pruned", func() (bool, string) {
		return entries() == 0, fmt.Sprintf("%d entries\n%s", entries(), logs.String())
	})
	r.stop(t)
}
