package boltstore

import (
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"
)

// purgeBatch bounds the records one write transaction deletes, so that
// ingest waits at most for one batch.
const purgeBatch = 10_000

// PurgeBefore deletes the passages that happened before horizon and
// returns how many. The high-water marks stay, so a record older than the
// horizon that a terminal sends again is still dropped as a duplicate, and
// so do the epochs' data keys, which later records of the epoch may need.
// It works in batches
// of write transactions and stops between them when ctx ends.
func (s *Store) PurgeBefore(ctx context.Context, horizon time.Time) (int, error) {
	type epochRef struct{ dev, epoch []byte }
	var refs []epochRef
	err := s.db.View(func(tx *bolt.Tx) error {
		devs := tx.Bucket(bucketDevices)
		return devs.ForEachBucket(func(dev []byte) error {
			eps := devs.Bucket(dev).Bucket(bucketEpochs)
			if eps == nil {
				return nil
			}
			return eps.ForEachBucket(func(ek []byte) error {
				refs = append(refs, epochRef{dev: append([]byte(nil), dev...), epoch: append([]byte(nil), ek...)})
				return nil
			})
		})
	})
	if err != nil {
		return 0, fmt.Errorf("boltstore: purge before %s: %w", horizon.Format(time.RFC3339), err)
	}
	cut := horizon.UnixNano()
	total := 0
	for _, ref := range refs {
		for {
			if err := ctx.Err(); err != nil {
				return total, err
			}
			n, more := 0, false
			err := s.db.Update(func(tx *bolt.Tx) error {
				d := tx.Bucket(bucketDevices).Bucket(ref.dev)
				eb := d.Bucket(bucketEpochs).Bucket(ref.epoch)
				if eb == nil {
					return nil
				}
				c := eb.Cursor()
				for k, v := c.First(); k != nil; {
					if len(v) < 9 || int64(binary.BigEndian.Uint64(v[1:9])) >= cut {
						k, v = c.Next()
						continue
					}
					if n == purgeBatch {
						more = true
						return nil
					}
					key := append([]byte(nil), k...)
					r, err := decodeRecord(binary.BigEndian.Uint64(k), v)
					if err != nil {
						return err
					}
					if err := indexPassage(tx, string(ref.dev), ref.epoch, &r, false); err != nil {
						return err
					}
					if err := c.Delete(); err != nil {
						return err
					}
					n++
					k, v = c.Seek(key) // the next key: Next after Delete skips one

				}
				return nil
			})
			if err != nil {
				return total, fmt.Errorf("boltstore: purge before %s: %w", horizon.Format(time.RFC3339), err)
			}
			total += n
			if !more {
				break
			}
		}
	}
	return total, nil
}
