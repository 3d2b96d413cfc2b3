package boltstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"sentinel/internal/central"
)

var _ central.Expirer = (*Store)(nil)

// Expire implements central.Expirer: one write transaction for the
// facts and change records, one for the statuses, one for the audit log.
// The freed pages are reused but not overwritten: see Compact.
func (s *Store) Expire(ctx context.Context, h central.Horizons) (central.Expired, error) {
	var n central.Expired
	if err := ctx.Err(); err != nil {
		return n, err
	}
	if !h.Facts.IsZero() || !h.Audit.IsZero() {
		err := s.db.Update(func(tx *bolt.Tx) error {
			if tx.Bucket(bucketFacts) == nil {
				return nil // never held engine data
			}
			et := &engineTx{tx: tx}
			if !h.Facts.IsZero() {
				fs, err := et.AllFacts(ctx)
				if err != nil {
					return err
				}
				for _, seq := range central.ExpiredFacts(fs, h.Facts) {
					if err := et.DeleteFact(ctx, seq); err != nil {
						return err
					}
					n.Facts++
				}
			}
			if !h.Audit.IsZero() {
				var err error
				n.Changes, err = deleteBefore(tx.Bucket(bucketChanges), h.Audit)
				return err
			}
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("boltstore: expire the engine's facts and changes: %w", err)
		}
	}
	if !h.Statuses.IsZero() {
		err := s.db.Update(func(tx *bolt.Tx) error {
			entries, revoked := tx.Bucket(bucketStatusEntries), tx.Bucket(bucketStatusRevoked)
			if entries == nil || revoked == nil {
				return nil
			}
			if err := indexHeld(tx); err != nil {
				return err
			}
			held := tx.Bucket(bucketStatusHeld)
			var gone []central.StatusEntry
			err := entries.ForEach(func(k, v []byte) error {
				e, err := decodeStatus(k, v)
				if err == nil && !e.Until.IsZero() && e.Until.Before(h.Statuses) {
					gone = append(gone, e)
				}
				return err
			})
			if err != nil {
				return err
			}
			for _, e := range gone {
				if err := deleteHeld(held, e); err != nil {
					return err
				}
				if err := entries.Delete([]byte(e.Holder.String())); err != nil {
					return err
				}
			}
			n.Statuses = len(gone)
			var ucis [][]byte
			err = revoked.ForEach(func(k, v []byte) error {
				r, err := decodeRevocation(k, v)
				if err == nil && !r.Until.IsZero() && r.Until.Before(h.Statuses) {
					ucis = append(ucis, append([]byte(nil), k...))
				}
				return err
			})
			if err != nil {
				return err
			}
			for _, k := range ucis {
				if err := revoked.Delete(k); err != nil {
					return err
				}
			}
			n.Revocations = len(ucis)
			return nil
		})
		if err != nil {
			return n, fmt.Errorf("boltstore: expire lapsed statuses: %w", err)
		}
	}
	if !h.Audit.IsZero() {
		err := s.db.Update(func(tx *bolt.Tx) error {
			var err error
			n.Audit, err = deleteBefore(tx.Bucket(bucketAudit), h.Audit)
			return err
		})
		if err != nil {
			return n, fmt.Errorf("boltstore: expire the audit log: %w", err)
		}
	}
	return n, nil
}

// deleteBefore deletes the values of b (JSON with a "time" field: audit
// entries, engine changes) whose time is before horizon; b may be nil.
func deleteBefore(b *bolt.Bucket, horizon time.Time) (int, error) {
	if b == nil {
		return 0, nil
	}
	var keys [][]byte
	err := b.ForEach(func(k, v []byte) error {
		var x struct {
			Time time.Time `json:"time"`
		}
		if err := json.Unmarshal(v, &x); err != nil {
			return fmt.Errorf("%w: %q: %v", central.ErrEngineDamaged, k, err)
		}
		if x.Time.Before(horizon) {
			keys = append(keys, append([]byte(nil), k...))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return 0, err
		}
	}
	return len(keys), nil
}
