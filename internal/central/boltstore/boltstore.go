package boltstore

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"iter"
	"os"
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
	bucketKeys    = []byte("keys")
	bucketForks   = []byte("forks")  // per device: branch epoch -> central.AppendFork
	bucketOwners  = []byte("owners") // top level: epoch -> the device that stored under it first
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
	db, err := openLocked(path, &bolt.Options{Timeout: o.Timeout, NoSync: o.NoSync, FreelistType: bolt.FreelistMapType})
	if err != nil {
		return nil, fmt.Errorf("boltstore: open %s: %w (is another sentinel-central using it?)", path, err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		if _, err := tx.CreateBucketIfNotExists(bucketDevices); err != nil {
			return err
		}
		if err := indexPassages(tx); err != nil {
			return err
		}
		return indexHeld(tx)
	}); err != nil {
		db.Close()
		return nil, fmt.Errorf("boltstore: open %s: %w", path, err)
	}
	return &Store{db: db, now: o.Now}, nil
}

// openLocked opens the bbolt file at path and makes sure that the file it
// holds the lock of is still the one at path: Compact renames a new file
// over path while it holds the old one's lock, and a process that waited
// for that lock would otherwise write to the old file, no longer in any
// directory.
func openLocked(path string, opts *bolt.Options) (*bolt.DB, error) {
	for range 3 {
		before, statErr := os.Stat(path)
		db, err := bolt.Open(path, 0o600, opts)
		if err != nil {
			return nil, err
		}
		after, err := os.Stat(path)
		if statErr != nil || err != nil || os.SameFile(before, after) {
			return db, nil
		}
		db.Close() // replaced while we waited: open the new one
	}
	return nil, errors.New("the file was replaced three times while opening it")
}

// Path returns the file the store was opened from.
func (s *Store) Path() string { return s.db.Path() }

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

// markValue encodes a mark: the big-endian seq, then the chain hash.
func markValue(l central.Link) []byte {
	return append(be64(l.Seq), l.Hash[:]...)
}

// decodeMark decodes a mark value. Stores written before the hash was
// kept hold 8 bytes; their hash reads as zero.
func decodeMark(v []byte) central.Link {
	var l central.Link
	if len(v) >= 8 {
		l.Seq = binary.BigEndian.Uint64(v)
	}
	if len(v) == 8+len(l.Hash) {
		copy(l.Hash[:], v[8:])
	}
	return l
}

// IngestLinked stores a contiguous ascending batch of one device's epoch
// in one transaction: it reads the stored mark, lets admit decide what
// of recs to store, stores that with its Break, adds the data key entries
// keys (deduplicated), and raises the mark to the last record stored,
// keeping its Hash. It returns the mark after the transaction. An error
// from admit stores nothing and is returned unwrapped with the stored
// mark.
func (s *Store) IngestLinked(ctx context.Context, device string, epoch central.Epoch, recs []central.Record, keys [][]byte, admit central.AdmitFunc) (central.Link, error) {
	if err := central.Validate(device, recs); err != nil {
		return central.Link{}, err
	}
	if err := ctx.Err(); err != nil {
		return central.Link{}, err
	}
	var (
		link     central.Link
		admitErr error
		forkErr  *central.ForkError
	)
	err := s.db.Update(func(tx *bolt.Tx) error {
		devs := tx.Bucket(bucketDevices)
		if err := claimEpoch(tx, device, epoch); err != nil {
			admitErr = err
			return err
		}
		var fork *central.Fork
		if d := devs.Bucket([]byte(device)); d != nil {
			link = decodeMark(d.Bucket(bucketMarks).Get(epoch[:]))
			if fork = forkOf(d, epoch); fork != nil && link.Seq == 0 {
				link.Seq = fork.At - 1 // a branch starts where it forked
			}
			if len(recs) > 0 && recs[0].Seq <= link.Seq {
				f, err := s.findFork(tx, device, d, epoch, fork, link, recs)
				if err != nil {
					return err
				}
				if f != nil {
					forkErr = &central.ForkError{Device: device, Fork: *f}
					return nil // commit the fork's record, store nothing else
				}
			}
		}
		rest, step, err := admit(link)
		if err != nil {
			admitErr = err
			return err
		}
		if step != nil {
			// The facts of the admitted records, in this transaction.
			for _, name := range engineBuckets {
				if _, err := tx.CreateBucketIfNotExists(name); err != nil {
					return err
				}
			}
			if err := step(ctx, central.EngineTxOf(&engineTx{tx: tx})); err != nil {
				return err
			}
		}
		if len(rest) == 0 && len(keys) == 0 {
			return nil
		}
		// A salvaged range may start past the mark with the loss flagged
		// as its first record's break (server.Admit).
		if len(rest) > 0 && rest[0].Seq != link.Seq+1 && !(rest[0].Seq > link.Seq+1 && rest[0].Break != "") {
			return fmt.Errorf("admitted records start at %d after the mark %d", rest[0].Seq, link.Seq)
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
		if err := putKeys(d, epoch, keys); err != nil {
			return err
		}
		if len(rest) == 0 {
			return nil
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
			if err := indexPassage(tx, device, epoch[:], &rest[i], true); err != nil {
				return err
			}
		}
		last := &rest[len(rest)-1]
		link = central.Link{Seq: last.Seq, Hash: last.Hash}
		if err := marks.Put(epoch[:], markValue(link)); err != nil {
			return err
		}
		return d.Put(keySeen, be64(uint64(s.now().UnixNano())))
	})
	if admitErr != nil {
		return link, admitErr
	}
	if err != nil {
		return central.Link{}, fmt.Errorf("boltstore: ingest %s/%s: %w", device, epoch, err)
	}
	if forkErr != nil {
		return link, forkErr
	}
	return link, nil
}

// claimEpoch refuses a batch for an epoch that another device stored
// under first, and records device as the owner of an epoch that has none.
// Stores written before owners were kept are searched once per epoch.
func claimEpoch(tx *bolt.Tx, device string, epoch central.Epoch) error {
	owners, err := tx.CreateBucketIfNotExists(bucketOwners)
	if err != nil {
		return err
	}
	if v := owners.Get(epoch[:]); v != nil {
		if string(v) != device {
			return &central.EpochOwnerError{Device: device, Epoch: epoch, Owner: string(v)}
		}
		return nil
	}
	owner := device
	devs := tx.Bucket(bucketDevices)
	err = devs.ForEachBucket(func(id []byte) error {
		if m := devs.Bucket(id).Bucket(bucketMarks); m != nil && m.Get(epoch[:]) != nil && string(id) != device {
			owner = string(id)
		}
		return nil
	})
	if err != nil {
		return err
	}
	if owner != device {
		return &central.EpochOwnerError{Device: device, Epoch: epoch, Owner: owner}
	}
	return owners.Put(epoch[:], []byte(device))
}

// forkOf returns the fork whose branch is epoch, nil when epoch is not a
// branch of d.
func forkOf(d *bolt.Bucket, epoch central.Epoch) *central.Fork {
	fb := d.Bucket(bucketForks)
	if fb == nil {
		return nil
	}
	v := fb.Get(epoch[:])
	if v == nil {
		return nil
	}
	f, err := central.DecodeFork(v)
	if err != nil {
		return nil
	}
	return &f
}

// findFork compares the batch's records at or below the mark with those
// stored; at the first that differs it records the fork (once: a fork
// found again keeps its first record), gives its branch to the device and
// returns it.
func (s *Store) findFork(tx *bolt.Tx, device string, d *bolt.Bucket, epoch central.Epoch, self *central.Fork, mark central.Link, recs []central.Record) (*central.Fork, error) {
	var eb *bolt.Bucket
	if epochs := d.Bucket(bucketEpochs); epochs != nil {
		eb = epochs.Bucket(epoch[:])
	}
	at, stored, err := central.FindFork(mark, recs, func(seq uint64) ([]byte, bool, error) {
		if eb == nil {
			return nil, false, nil
		}
		v := eb.Get(be64(seq))
		if v == nil {
			return nil, false, nil
		}
		r, err := decodeRecord(seq, v)
		return r.Stored, err == nil, err
	})
	if err != nil || at == 0 {
		return nil, err
	}
	journal := epoch
	if self != nil {
		journal = self.Journal
	}
	f := central.NewFork(epoch, journal, at, mark.Seq, stored, s.now())
	fb, err := d.CreateBucketIfNotExists(bucketForks)
	if err != nil {
		return nil, err
	}
	if v := fb.Get(f.Branch[:]); v != nil {
		if old, err := central.DecodeFork(v); err == nil {
			return &old, nil
		}
	}
	if err := fb.Put(f.Branch[:], central.AppendFork(nil, &f)); err != nil {
		return nil, err
	}
	if err := tx.Bucket(bucketOwners).Put(f.Branch[:], []byte(device)); err != nil {
		return nil, err
	}
	return &f, nil
}

// putKeys adds data key entries to the device's keys bucket of epoch,
// keyed by their SHA-256 so that a resent entry is stored once.
func putKeys(d *bolt.Bucket, epoch central.Epoch, keys [][]byte) error {
	if len(keys) == 0 {
		return nil
	}
	kb, err := d.CreateBucketIfNotExists(bucketKeys)
	if err != nil {
		return err
	}
	eb, err := kb.CreateBucketIfNotExists(epoch[:])
	if err != nil {
		return err
	}
	for _, k := range keys {
		sum := sha256.Sum256(k)
		if eb.Get(sum[:]) != nil {
			continue
		}
		if err := eb.Put(sum[:], bytes.Clone(k)); err != nil {
			return err
		}
	}
	return nil
}

// HighWater implements central.Store.
func (s *Store) HighWater(ctx context.Context, device string, epoch central.Epoch) (uint64, error) {
	l, err := s.Link(ctx, device, epoch)
	return l.Seq, err
}

// Link returns the mark of (device, epoch) with the chain hash of its
// record: the zero Link when nothing is stored.
func (s *Store) Link(ctx context.Context, device string, epoch central.Epoch) (central.Link, error) {
	var l central.Link
	err := s.db.View(func(tx *bolt.Tx) error {
		if d := tx.Bucket(bucketDevices).Bucket([]byte(device)); d != nil {
			if m := d.Bucket(bucketMarks); m != nil {
				l = decodeMark(m.Get(epoch[:]))
			}
		}
		return nil
	})
	if err != nil {
		return central.Link{}, fmt.Errorf("boltstore: high-water %s/%s: %w", device, epoch, err)
	}
	return l, nil
}

// Fork returns the fork of device whose branch is branch; false when
// there is none.
func (s *Store) Fork(ctx context.Context, device string, branch central.Epoch) (central.Fork, bool, error) {
	var f *central.Fork
	err := s.db.View(func(tx *bolt.Tx) error {
		if d := tx.Bucket(bucketDevices).Bucket([]byte(device)); d != nil {
			f = forkOf(d, branch)
		}
		return nil
	})
	if err != nil || f == nil {
		return central.Fork{}, false, err
	}
	return *f, true, nil
}

// Keys returns the data key entries stored for (device, epoch), which
// journal.Opener.AddKey takes, in no particular order.
func (s *Store) Keys(ctx context.Context, device string, epoch central.Epoch) ([][]byte, error) {
	var out [][]byte
	err := s.db.View(func(tx *bolt.Tx) error {
		d := tx.Bucket(bucketDevices).Bucket([]byte(device))
		if d == nil || d.Bucket(bucketKeys) == nil {
			return nil
		}
		eb := d.Bucket(bucketKeys).Bucket(epoch[:])
		if eb == nil {
			return nil
		}
		return eb.ForEach(func(_, v []byte) error {
			out = append(out, bytes.Clone(v))
			return nil
		})
	})
	if err != nil {
		return nil, fmt.Errorf("boltstore: keys %s/%s: %w", device, epoch, err)
	}
	return out, nil
}

// Passages implements central.Store. See the caveats in the package
// documentation.
func (s *Store) Passages(ctx context.Context, f central.Filter) iter.Seq2[central.Passage, error] {
	return func(yield func(central.Passage, error) bool) {
		var out []central.Passage
		err := s.db.View(func(tx *bolt.Tx) error {
			var ok bool
			var err error
			if out, ok, err = indexed(ctx, tx, f); ok || err != nil {
				return err
			}
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
				m := central.Mark{HighWater: decodeMark(v).Seq}
				copy(m.Epoch[:], ek)
				d.Marks = append(d.Marks, m)
				return nil
			})
			if err != nil {
				return err
			}
			if fb := b.Bucket(bucketForks); fb != nil {
				err = fb.ForEach(func(_, v []byte) error {
					f, err := central.DecodeFork(v)
					d.Forks = append(d.Forks, f)
					return err
				})
				central.SortForks(d.Forks)
			}
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
