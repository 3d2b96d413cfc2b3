package boltstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"sentinel/internal/central"
)

var _ central.HealthStore = (*Store)(nil)

var (
	bucketHealth = []byte("health")
	keyReport    = []byte("report")
	keyReceived  = []byte("received")
)

// PutHealth implements central.HealthStore: a bucket per device under
// "health" holds the latest report and the time it arrived.
func (s *Store) PutHealth(ctx context.Context, device string, report []byte, receivedAt time.Time) error {
	if err := central.CheckHealth(device, report, receivedAt); err != nil {
		return fmt.Errorf("boltstore: put health %s: %w", device, err)
	}
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("boltstore: put health %s: %w", device, err)
	}
	err := s.db.Update(func(tx *bolt.Tx) error {
		hb, err := tx.CreateBucketIfNotExists(bucketHealth)
		if err != nil {
			return err
		}
		d, err := hb.CreateBucketIfNotExists([]byte(device))
		if err != nil {
			return err
		}
		if err := d.Put(keyReport, report); err != nil {
			return err
		}
		return d.Put(keyReceived, be64(uint64(receivedAt.UnixNano())))
	})
	if err != nil {
		return fmt.Errorf("boltstore: put health %s: %w", device, err)
	}
	return nil
}

// Health implements central.HealthStore.
func (s *Store) Health(ctx context.Context, device string) (central.Health, bool, error) {
	h := central.Health{Device: device}
	var ok bool
	err := s.db.View(func(tx *bolt.Tx) error {
		hb := tx.Bucket(bucketHealth)
		if hb == nil {
			return nil
		}
		d := hb.Bucket([]byte(device))
		if d == nil {
			return nil
		}
		r, at := d.Get(keyReport), d.Get(keyReceived)
		if r == nil || len(at) != 8 {
			return fmt.Errorf("health of %s is damaged", device)
		}
		h.Report = append([]byte(nil), r...)
		h.ReceivedAt = time.Unix(0, int64(binary.BigEndian.Uint64(at))).UTC()
		ok = true
		return nil
	})
	if err != nil {
		return central.Health{}, false, fmt.Errorf("boltstore: health %s: %w", device, err)
	}
	return h, ok, nil
}
