package sweep

import (
	"context"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

func TestEventsCoalesce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var runs atomic.Int32
		release := make(chan struct{})
		e := NewEvents(func(ctx context.Context) {
			runs.Add(1)
			<-release
		})
		e.Start(context.Background())
		e.Notify()
		synctest.Wait()
		if got := runs.Load(); got != 1 {
			t.Fatalf("after one event: %d sweeps, want 1 at once", got)
		}
		// A burst during the sweep: one more sweep after it, not a burst.
		for range 50 {
			e.Notify()
		}
		release <- struct{}{}
		synctest.Wait()
		if got := runs.Load(); got != 2 {
			t.Fatalf("after a burst during a sweep: %d sweeps, want 2", got)
		}
		release <- struct{}{}
		synctest.Wait()
		time.Sleep(time.Hour) // nothing more without events
		synctest.Wait()
		if got := runs.Load(); got != 2 {
			t.Fatalf("idle: %d sweeps, want 2", got)
		}
		// Notify never blocks, even stopped.
		e.Stop()
		e.Notify()
		e.Notify()
	})
}
