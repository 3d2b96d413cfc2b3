package terminal

import (
	"context"
	"time"
)

// defaultReloadEvery is how often the data directory is checked for
// bundles that another process wrote (enrolment, an installer) and the
// clock for trust.
const defaultReloadEvery = 5 * time.Second

// watchBundles polls the data directory and the clock every `every`
// (defaultReloadEvery when 0) until ctx is done: a file that another
// process changed replaces its part of the state, and the pinned root or
// the clock becoming trusted reloads everything (holdings.poll). The
// bundles the sync client downloads do not wait for this: they arrive
// through holdings.onBundle.
func (d *daemon) watchBundles(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = defaultReloadEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		d.held.poll()
	}
}
