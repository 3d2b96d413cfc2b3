package sweep

import (
	"context"
	"sync"
)

// Events runs a sweep soon after events (a fever recorded at ingest, a
// case added), without letting a burst of events start a burst of sweeps:
// an event while no sweep runs starts one at once; events during a sweep
// make exactly one more sweep after it. Notify never blocks, so the
// ingest that reports an event never waits for the engine.
type Events struct {
	run  func(ctx context.Context)
	kick chan struct{}

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewEvents returns an Events that calls run for each sweep; Start runs
// it.
func NewEvents(run func(ctx context.Context)) *Events {
	return &Events{run: run, kick: make(chan struct{}, 1)}
}

// Notify reports an event.
func (e *Events) Notify() {
	select {
	case e.kick <- struct{}{}:
	default: // a sweep is due already and will see this event's facts
	}
}

// Start runs sweeps for the events until Stop or until ctx ends.
func (e *Events) Start(ctx context.Context) {
	ctx, e.cancel = context.WithCancel(ctx)
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-e.kick:
			}
			e.run(ctx)
		}
	}()
}

// Stop ends the sweeps and waits for the one running.
func (e *Events) Stop() {
	if e.cancel != nil {
		e.cancel()
	}
	e.wg.Wait()
}
