package terminal

import (
	"context"
	"time"
)

// statusPruneEvery is how often the status list drops the entries that
// can no longer override a valid code (status.List.Prune).
const statusPruneEvery = time.Hour

// pruneStatusEvery prunes the status list every every (statusPruneEvery
// when zero) until ctx is done. Without it the entries of people whose
// codes have all expired since, and the lapsed quarantines, stay in memory
// until the next status base.
func (h *holdings) pruneStatusEvery(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = statusPruneEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		h.pruneStatus()
	}
}

// pruneStatus drops the status entries that can no longer override a
// valid code at the terminal's time, and returns how many. It prunes
// nothing while the clock is not trusted: a clock set years ahead would
// drop entries that still hold.
func (h *holdings) pruneStatus() int {
	now, trusted := h.now()
	if !trusted {
		return 0
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	list := h.status.list
	if list == nil {
		return 0
	}
	n := list.Prune(now)
	if n > 0 {
		c := list.Counts()
		h.logger.Info("status list pruned: entries that can no longer override a valid code dropped",
			"dropped", n, "native", c.Native, "pseudonyms", c.Pseudonyms)
	}
	return n
}
