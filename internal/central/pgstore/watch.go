package pgstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// engineChannel is the channel of NOTIFY on which each transaction of
// UpdateEngine that changed the engine's data (a fact, area, site, grade
// or rule set; not a status the engine published) tells the other
// processes on the database, at commit. The fevers an ingest keeps do not
// notify: the serve that ingests them judges their holders itself. The payload is the committing Store's id, so that a process
// does not hear its own changes.
const engineChannel = "sentinel_engine"

// newStoreID returns a random id for a Store's notifications.
func newStoreID() string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// notifyEngine queues the notification of an engine change in tx; it is
// delivered when tx commits, and not at all when it rolls back.
func (s *Store) notifyEngine(ctx context.Context, tx pgx.Tx) error {
	_, err := tx.Exec(ctx, "SELECT pg_notify($1, $2)", engineChannel, s.id)
	return err
}

// Backoff of WatchEngine's reconnection (a variable for the tests).
var (
	watchRetryMin = time.Second
	watchRetryMax = 30 * time.Second
)

// WatchEngine calls changed after each transaction of another process (or
// another Store) that changed the engine's data, such as a case added by
// `sentinel-central cases add --postgres`, until ctx ends or stop is
// called; stop waits for the watcher to end. It holds a connection of its
// own, outside the pool, listening on engineChannel. When that connection
// fails it reconnects with a capped backoff and calls changed once it
// listens again, since a change may have been missed meanwhile.
func (s *Store) WatchEngine(ctx context.Context, changed func(), logger *slog.Logger) (stop func()) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		retry, failures := watchRetryMin, 0
		var since time.Time
		for {
			err := s.listenEngine(ctx, func() {
				if failures > 0 {
					logger.Info("listening for the engine's changes again", "consecutive_errors", failures, "down", time.Since(since).Round(time.Second))
					failures, retry = 0, watchRetryMin
					changed() // what changed while the connection was down
				}
			}, func(string) { changed() })
			if ctx.Err() != nil {
				return
			}
			if failures == 0 {
				since = time.Now()
				logger.Warn("not listening for the engine's changes of other processes; they reach the rules at the next round until it is back", "error", err)
			}
			failures++
			select {
			case <-ctx.Done():
				return
			case <-time.After(retry):
			}
			retry = min(2*retry, watchRetryMax)
		}
	}()
	return func() {
		cancel()
		wg.Wait()
	}
}

// listenEngine connects, listens on engineChannel, calls listening, then
// calls changed with the payload of each notification of another Store
// until ctx ends or the connection fails.
func (s *Store) listenEngine(ctx context.Context, listening func(), changed func(payload string)) error {
	conn, err := pgx.ConnectConfig(ctx, s.pool.cfg)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+engineChannel); err != nil {
		return err
	}
	listening()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return err
		}
		if n.Channel == engineChannel && n.Payload != s.id {
			changed(n.Payload)
		}
	}
}
