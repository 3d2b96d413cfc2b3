package pgstore

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"sentinel/internal/central"
)

var _ central.HealthStore = (*Store)(nil)

// PutHealth implements central.HealthStore.
func (s *Store) PutHealth(ctx context.Context, device string, report []byte, receivedAt time.Time) error {
	if err := central.CheckHealth(device, report, receivedAt); err != nil {
		return fmt.Errorf("pgstore: put health %s: %w", device, err)
	}
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return fmt.Errorf("pgstore: put health %s: %w", device, err)
	}
	_, err = conn.Exec(ctx, `INSERT INTO device_health (device, received_at, report) VALUES ($1, $2, $3)
ON CONFLICT (device) DO UPDATE SET received_at = EXCLUDED.received_at, report = EXCLUDED.report`, device, receivedAt, report)
	s.pool.release(conn, err != nil)
	if err != nil {
		return fmt.Errorf("pgstore: put health %s: %w", device, err)
	}
	return nil
}

// Health implements central.HealthStore.
func (s *Store) Health(ctx context.Context, device string) (central.Health, bool, error) {
	conn, err := s.pool.acquire(ctx)
	if err != nil {
		return central.Health{}, false, fmt.Errorf("pgstore: health %s: %w", device, err)
	}
	h := central.Health{Device: device}
	err = conn.QueryRow(ctx, "SELECT received_at, report FROM device_health WHERE device = $1", device).Scan(&h.ReceivedAt, &h.Report)
	if errors.Is(err, pgx.ErrNoRows) {
		s.pool.release(conn, false)
		return central.Health{}, false, nil
	}
	s.pool.release(conn, err != nil)
	if err != nil {
		return central.Health{}, false, fmt.Errorf("pgstore: health %s: %w", device, err)
	}
	h.ReceivedAt = h.ReceivedAt.UTC()
	return h, true, nil
}
