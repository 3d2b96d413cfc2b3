package sweep

import (
	"context"
	"slices"
	"sync"
)

// Events runs a sweep soon after events (a fever recorded at ingest, a
// case added), without letting a burst of events start a burst of sweeps:
// an event while no sweep runs starts one at once; events during a sweep
// make exactly one more sweep after it. Notify never blocks, so the
// ingest that reports an event never waits for the engine.
//
// An event about known holders (NotifyHolder: a fever kept at ingest)
// makes a sweep of those holders alone when runHolders is set and no
// event about everyone (Notify) is pending.
type Events struct {
	run        func(ctx context.Context)
	runHolders func(ctx context.Context, holders []string)
	kick       chan struct{}

	mu      sync.Mutex
	full    bool            // Notify since the last sweep
	holders map[string]bool // NotifyHolder since the last sweep

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// NewEvents returns an Events that calls run for each sweep; Start runs
// it.
func NewEvents(run func(ctx context.Context)) *Events {
	return &Events{run: run, kick: make(chan struct{}, 1)}
}

// Notify reports an event that may change anyone's status.
func (e *Events) Notify() {
	e.mu.Lock()
	e.full = true
	e.mu.Unlock()
	e.kick1()
}

// NotifyHolder reports an event about one holder.
func (e *Events) NotifyHolder(id string) {
	e.mu.Lock()
	if e.holders == nil {
		e.holders = map[string]bool{}
	}
	e.holders[id] = true
	e.mu.Unlock()
	e.kick1()
}

// take returns and clears what is pending: everyone, or the holders.
func (e *Events) take() (full bool, holders []string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	full, e.full = e.full, false
	for id := range e.holders {
		holders = append(holders, id)
	}
	e.holders = nil
	slices.Sort(holders)
	return full, holders
}

func (e *Events) kick1() {
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
			switch full, holders := e.take(); {
			case full || e.runHolders == nil:
				e.run(ctx)
			case len(holders) > 0:
				e.runHolders(ctx, holders)
			}
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
