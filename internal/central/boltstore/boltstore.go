package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"iter"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"sentinel/internal/central"
)

var _ central.Store = (*Store)(nil)

var (
	bucketDevices = []byte("devices")
	bucketMarks   = []byte("marks")
	bucketEpochs  = []byte("epochs")
	keySeen       = []byte("seen")
)

// Options configure Open. The zero value is usable.
type Options struct {
	// Timeout bounds the wait for the file lock that another process (a
	// running server, a CLI) may hold; 0 means 5 seconds.
	Timeout time.Duration
	// Now reads the time of ingest for Device.LastSeen; nil means time.Now.
	Now func() time.Time
	// NoSync skips fsync on commit: for tests and benchmarks only.
	NoSync bool
}

// Store is a central.Store in one bbolt file.
type Store struct {
	db  *bolt.DB
	now func() time.Time
}

// Open opens or creates the store at path.
func Open(path string, opts *Options) (*Store, error) {
	var o Options
	if opts != nil {
		o = *opts
	}
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: o.Timeout, NoSync: o.NoSync, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w (is another sentinel-central using it?)", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketDevices)
		return err
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	return &Store{db: db, now: o.Now}, nil
}

// Path returns the file the store was opened from.
func (s *Store) Path() string { return s.db.Path() }

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// Ingest implements central.Store.
func (s *Store) Ingest(ctx context.Context, device string, epoch central.Epoch, recs []central.Record) (uint64, error) {
	if err := central.Validate(device, recs); err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	var hw uint64
	err := s.db.Update(func(tx *bolt.Tx) error {
		devs := tx.Bucket(bucketDevices)
		var cur uint64
		if d := devs.Bucket([]byte(device)); d != nil {
			if v := d.Bucket(bucketMarks).Get(epoch[:]); len(v) == 8 {
				cur = binary.BigEndian.Uint64(v)
			}
		}
		rest, mark, err := central.Plan(device, epoch, cur, recs)
		hw = mark
		if err != nil || len(rest) == 0 {
			return err
		}
		d, err := devs.CreateBucketIfNotExists([]byte(device))
		if err != nil {
			return err
		}
		marks, err := d.CreateBucketIfNotExists(bucketMarks)
		if err != nil {
			return err
		}
		epochs, err := d.CreateBucketIfNotExists(bucketEpochs)
		if err != nil {
			return err
		}
		eb, err := epochs.CreateBucketIfNotExists(epoch[:])
		if err != nil {
			return err
		}
		eb.FillPercent = 1 // keys only ever grow
		var buf []byte
		for i := range rest {
			buf = appendRecord(buf[:0], &rest[i])
			if err := eb.Put(be64(rest[i].Seq), bytes.Clone(buf)); err != nil {
				return err
			}
		}
		if err := marks.Put(epoch[:], be64(mark)); err != nil {
			return err
		}
		return d.Put(keySeen, be64(uint64(s.now().UnixNano())))
	})
	if err != nil {
		if _, ok := err.(*central.GapError); ok {
			return hw, err
		}
		return 0, fmt.Errorf("boltstore: ingest %s/%s: %w", device, epoch, err)
	}
	return hw, nil
}

// HighWater implements central.Store.
func (s *Store) HighWater(ctx context.Context, device string, epoch central.Epoch) (uint64, error) {
	var hw uint64
	err := s.db.View(func(tx *bolt.Tx) error {
		if d := tx.Bucket(bucketDevices).Bucket([]byte(device)); d != nil {
			if v := d.Bucket(bucketMarks).Get(epoch[:]); len(v) == 8 {
				hw = binary.BigEndian.Uint64(v)
			}
		}
		return nil
	})
	if err != nil {
		return 0, fmt.Errorf("boltstore: high-water %s/%s: %w", device, epoch, err)
	}
	return hw, nil
}

// Passages implements central.Store. See the caveats in the package
// documentation.
func (s *Store) Passages(ctx context.Context, f central.Filter) iter.Seq2[central.Passage, error] {
	return func(yield func(central.Passage, error) bool) {
		var out []central.Passage
		err := s.db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketDevices).ForEachBucket(func(dev []byte) error {
				if f.Device != "" && string(dev) != f.Device {
					return nil
				}
				if err := ctx.Err(); err != nil {
					return err
				}
				epochs := tx.Bucket(bucketDevices).Bucket(dev).Bucket(bucketEpochs)
				return epochs.ForEachBucket(func(ek []byte) error {
					p := central.Passage{Device: string(dev)}
					copy(p.Epoch[:], ek)
					return epochs.Bucket(ek).ForEach(func(k, v []byte) error {
						r, err := decodeRecord(binary.BigEndian.Uint64(k), v)
						if err != nil {
							return err
						}
						p.Record = r
						if f.Match(&p) {
							out = append(out, p)
						}
						return nil
					})
				})
			})
		})
		if err != nil {
			yield(central.Passage{}, fmt.Errorf("boltstore: passages: %w", err))
			return
		}
		slices.SortFunc(out, central.ComparePassages)
		for _, p := range out {
			if !yield(p, nil) {
				return
			}
		}
	}
}

// Devices implements central.Store.
func (s *Store) Devices(ctx context.Context) ([]central.Device, error) {
	var out []central.Device
	err := s.db.View(func(tx *bolt.Tx) error {
		devs := tx.Bucket(bucketDevices)
		return devs.ForEachBucket(func(k []byte) error {
			b := devs.Bucket(k)
			d := central.Device{ID: string(k)}
			if v := b.Get(keySeen); len(v) == 8 {
				d.LastSeen = time.Unix(0, int64(binary.BigEndian.Uint64(v))).UTC()
			}
			err := b.Bucket(bucketMarks).ForEach(func(ek, v []byte) error {
				m := central.Mark{HighWater: binary.BigEndian.Uint64(v)}
				copy(m.Epoch[:], ek)
				d.Marks = append(d.Marks, m)
				return nil
			})
			out = append(out, d)
			return err
		})
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: devices: %w", err)
	}
	return out, nil
}

// Backup writes a consistent copy of the store to w while it keeps
// serving (bbolt's Tx.WriteTo in a read transaction). It returns the
// number of bytes written.
func (s *Store) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := s.db.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(ctxWriter{ctx, w})
		return err
	})
	if err != nil {
		return n, fmt.Errorf("boltstore: backup: %w", err)
	}
	return n, nil
}

// ctxWriter stops a backup when its context ends.
type ctxWriter struct {
	ctx context.Context
	w   io.Writer
}

func (c ctxWriter) Write(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.w.Write(p)
}

// Close implements central.Store.
func (s *Store) Close() error {
	if err := s.db.Close(); err != nil {
		return fmt.Errorf("boltstore: close: %w", err)
	}
	return nil
}
