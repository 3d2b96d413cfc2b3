package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// bundleLock is the advisory lock that keeps one publisher of the shared
// bundle repository at a time, across every server and ops command on
// the database.
const bundleLock = migrateLock + 2

// bundleLockPoll is how often LockBundles tries the lock another holds.
const bundleLockPoll = 20 * time.Millisecond

// LoadBundles returns every file of the shared bundle repository and its
// generation, read in one snapshot (bundles.Shared).
func (s *Store) LoadBundles(ctx context.Context) (map[string][]byte, int64, error) {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return nil, 0, fmt.Errorf("pgstore: read the bundles: %w", err)
	}
	files := map[string][]byte{}
	var gen int64
	err = pgx.BeginTxFunc(ctx, conn, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		if err := tx.QueryRow(ctx, "SELECT gen FROM bundle_generation").Scan(&gen); err != nil {
			return err
		}
		rows, err := tx.Query(ctx, "SELECT name, data FROM bundle_files")
		if err != nil {
			return err
		}
		var (
			name string
			data []byte
		)
		_, err = pgx.ForEachRow(rows, []any{&name, &data}, func() error {
			files[name] = append([]byte(nil), data...)
			return nil
		})
		return err
	})
	s.pool.release(conn, err != nil)
	if err != nil {
		return nil, 0, fmt.Errorf("pgstore: read the bundles: %w", err)
	}
	return files, gen, nil
}

// BundleGeneration returns the shared bundle repository's generation
// (bundles.Shared).
func (s *Store) BundleGeneration(ctx context.Context) (int64, error) {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("pgstore: bundle generation: %w", err)
	}
	var gen int64
	err = conn.QueryRow(ctx, "SELECT gen FROM bundle_generation").Scan(&gen)
	s.pool.release(conn, err != nil)
	if err != nil {
		return 0, fmt.Errorf("pgstore: bundle generation: %w", err)
	}
	return gen, nil
}

// SaveBundles writes and removes files of the shared bundle repository in
// one transaction and returns the new generation (bundles.Shared).
func (s *Store) SaveBundles(ctx context.Context, write map[string][]byte, drop []string) (int64, error) {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return 0, fmt.Errorf("pgstore: write the bundles: %w", err)
	}
	var gen int64
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		b := &pgx.Batch{}
		for name, data := range write {
			b.Queue(`INSERT INTO bundle_files (name, data) VALUES ($1, $2)
				ON CONFLICT (name) DO UPDATE SET data = excluded.data`, name, data)
		}
		if len(drop) > 0 {
			b.Queue("DELETE FROM bundle_files WHERE name = ANY($1)", drop)
		}
		if err := tx.SendBatch(ctx, b).Close(); err != nil {
			return err
		}
		return tx.QueryRow(ctx, "UPDATE bundle_generation SET gen = gen + 1 RETURNING gen").Scan(&gen)
	})
	s.pool.release(conn, err != nil)
	if err != nil {
		return 0, fmt.Errorf("pgstore: write the bundles: %w", err)
	}
	return gen, nil
}

// ErrBundlesBusy is returned by LockBundles when another publisher held
// the lock for the whole timeout.
var ErrBundlesBusy = errors.New("pgstore: another server or ops command is publishing bundles into this database")

// LockBundles runs fn holding the shared bundle repository's lock, a
// session advisory lock on a connection of its own, waiting at most
// timeout for it (bundles.Shared). The lock goes with the connection: a
// server that dies or loses the database holding it releases it.
func (s *Store) LockBundles(ctx context.Context, timeout time.Duration, fn func() error) error {
	// One publisher of this process at a time first, so that waiting
	// publishers do not hold the connections the holder's fn needs.
	wait := time.NewTimer(timeout)
	defer wait.Stop()
	select {
	case s.bundleMu <- struct{}{}:
		defer func() { <-s.bundleMu }()
	case <-wait.C:
		return fmt.Errorf("%w for %v: wait and retry", ErrBundlesBusy, timeout)
	case <-ctx.Done():
		return ctx.Err()
	}
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: lock the bundles: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		var got bool
		if err := conn.QueryRow(ctx, "SELECT pg_try_advisory_lock($1)", bundleLock).Scan(&got); err != nil {
			s.pool.release(conn, true)
			return fmt.Errorf("pgstore: lock the bundles: %w", err)
		}
		if got {
			break
		}
		if time.Now().After(deadline) {
			s.pool.release(conn, false)
			return fmt.Errorf("%w for %v: wait and retry", ErrBundlesBusy, timeout)
		}
		select {
		case <-ctx.Done():
			s.pool.release(conn, false)
			return ctx.Err()
		case <-time.After(bundleLockPoll):
		}
	}
	ferr := fn()
	// Unlock on a context of its own: fn may have ended ctx. A
	// connection that cannot unlock is closed, which unlocks.
	uctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err = conn.Exec(uctx, "SELECT pg_advisory_unlock($1)", bundleLock)
	s.pool.release(conn, err != nil)
	return ferr
}

// DeviceCA returns the device CA certificate (PEM) pinned for every
// server on the database; nil when none is yet.
func (s *Store) DeviceCA(ctx context.Context) ([]byte, error) {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: device CA: %w", err)
	}
	var cert []byte
	err = conn.QueryRow(ctx, "SELECT cert FROM device_ca").Scan(&cert)
	s.pool.release(conn, err != nil && !errors.Is(err, pgx.ErrNoRows))
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("pgstore: device CA: %w", err)
	}
	return cert, nil
}

// PinDeviceCA pins cert as the device CA of every server on the database
// unless one is pinned already, and returns the one pinned.
func (s *Store) PinDeviceCA(ctx context.Context, cert []byte) ([]byte, error) {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return nil, fmt.Errorf("pgstore: pin the device CA: %w", err)
	}
	var pinned []byte
	err = conn.QueryRow(ctx, `WITH ins AS (INSERT INTO device_ca (one, cert) VALUES (true, $1) ON CONFLICT (one) DO NOTHING RETURNING cert)
		SELECT cert FROM ins UNION ALL SELECT cert FROM device_ca LIMIT 1`, cert).Scan(&pinned)
	s.pool.release(conn, err != nil)
	if err != nil {
		return nil, fmt.Errorf("pgstore: pin the device CA: %w", err)
	}
	return pinned, nil
}
