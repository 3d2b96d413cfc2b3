package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"sentinel/internal/central"
)

// The passages' indexes, for Passages with a site or a holder (contact
// derivation, visits, a holder's trace): without them each such read
// scanned every record of every device. A key is the site or holder, 0,
// the big-endian time (ordered, see timeKey), the device, 0, the epoch
// and the big-endian seq; the value is empty. A passage with no site or
// no holder (not opened) is not in that index.
var (
	bucketBySite   = []byte("passages-by-site")
	bucketByHolder = []byte("passages-by-holder")
)

// timeKey orders times as bytes; times outside UnixNano's range clamp.
func timeKey(t time.Time) []byte {
	switch {
	case t.After(maxNano):
		t = maxNano
	case t.Before(minNano):
		t = minNano
	}
	return be64(uint64(t.UnixNano()) ^ 1<<63)
}

func passageKey(by string, t time.Time, device string, epoch []byte, seq uint64) []byte {
	k := append([]byte(by), 0)
	k = append(k, timeKey(t)...)
	k = append(append(k, device...), 0)
	k = append(k, epoch...)
	return binary.BigEndian.AppendUint64(k, seq)
}

// indexPassage adds (put) or removes a record's keys.
func indexPassage(tx *bolt.Tx, device string, epoch []byte, r *central.Record, put bool) error {
	for _, ix := range []struct {
		bucket []byte
		by     string
	}{{bucketBySite, r.Site}, {bucketByHolder, r.Holder}} {
		if ix.by == "" {
			continue
		}
		b := tx.Bucket(ix.bucket)
		if b == nil {
			return fmt.Errorf("the passages' index %s is missing: reopen the store to build it", ix.bucket)
		}
		k := passageKey(ix.by, r.Time, device, epoch, r.Seq)
		var err error
		if put {
			err = b.Put(k, nil)
		} else {
			err = b.Delete(k)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// indexPassages creates the passages' indexes in tx, from every record
// of a file written before they existed.
func indexPassages(tx *bolt.Tx) error {
	if tx.Bucket(bucketBySite) != nil && tx.Bucket(bucketByHolder) != nil {
		return nil
	}
	for _, name := range [][]byte{bucketBySite, bucketByHolder} {
		if tx.Bucket(name) != nil {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	devs := tx.Bucket(bucketDevices)
	if devs == nil {
		return nil
	}
	return devs.ForEachBucket(func(dev []byte) error {
		eps := devs.Bucket(dev).Bucket(bucketEpochs)
		if eps == nil {
			return nil
		}
		return eps.ForEachBucket(func(ek []byte) error {
			return eps.Bucket(ek).ForEach(func(k, v []byte) error {
				r, err := decodeRecord(binary.BigEndian.Uint64(k), v)
				if err != nil {
					return err
				}
				return indexPassage(tx, string(dev), ek, &r, true)
			})
		})
	})
}

// indexed returns the passages f selects through the index of its holder
// or else its site; ok is false when f names neither.
func indexed(ctx context.Context, tx *bolt.Tx, f central.Filter) (out []central.Passage, ok bool, err error) {
	bucket, by := bucketByHolder, f.Holder
	if by == "" {
		bucket, by = bucketBySite, f.Site
	}
	ix := tx.Bucket(bucket)
	if by == "" || ix == nil {
		return nil, false, nil
	}
	prefix := append([]byte(by), 0)
	from := append(slices.Clone(prefix), timeKey(time.Unix(0, math.MinInt64))...)
	if !f.From.IsZero() {
		from = append(slices.Clone(prefix), timeKey(f.From)...)
	}
	devs := tx.Bucket(bucketDevices)
	c := ix.Cursor()
	for k, _ := c.Seek(from); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if err := ctx.Err(); err != nil {
			return nil, true, err
		}
		rest := k[len(prefix)+8:]
		if len(rest) < 1+16+8 || rest[len(rest)-25] != 0 {
			return nil, true, errIndex(k)
		}
		if !f.To.IsZero() && int64(binary.BigEndian.Uint64(k[len(prefix):])^1<<63) >= f.To.UnixNano() && !f.To.After(maxNano) {
			break
		}
		device, epoch, seq := rest[:len(rest)-25], rest[len(rest)-24:len(rest)-8], rest[len(rest)-8:]
		d := devs.Bucket(device)
		var v []byte
		if d != nil {
			if eps := d.Bucket(bucketEpochs); eps != nil {
				if eb := eps.Bucket(epoch); eb != nil {
					v = eb.Get(seq)
				}
			}
		}
		if v == nil {
			return nil, true, errIndex(k)
		}
		r, err := decodeRecord(binary.BigEndian.Uint64(seq), v)
		if err != nil {
			return nil, true, err
		}
		p := central.Passage{Device: string(device), Record: r}
		copy(p.Epoch[:], epoch)
		if f.Match(&p) {
			out = append(out, p)
		}
	}
	return out, true, nil
}

func errIndex(k []byte) error {
	return fmt.Errorf("the index of passages names a record the store does not hold (%q): the file is damaged; restore it from a backup", k)
}
