package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"iter"
	"math"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/status"
)

var _ central.StatusStore = (*Store)(nil)

// The status part of the store: three top-level buckets. Values are the
// JSON the former status.db held, so that its import copies them as they
// are and an old file's revocations (the binary time alone) still read.
var (
	bucketStatusEntries = []byte("status-entries") // holder (Holder.String) -> storedStatus
	bucketStatusRevoked = []byte("status-revoked") // UCI -> storedRevocation, or the binary time alone
	bucketStatusMeta    = []byte("status-meta")
	// bucketStatusHeld indexes the entries that hold a holder at a colour
	// other than green, for HeldBy: a bucket per source ('s' and the
	// source), in it heldKey(until, holder) -> nothing, so that the
	// entries still in force at a time are one cursor range.
	bucketStatusHeld = []byte("status-held")
	keyStatusVersion = []byte("version") // big-endian uint64
)

// storedStatus is a central.StatusEntry as the store keeps it.
type storedStatus struct {
	Status    string    `json:"status"`
	Effective time.Time `json:"effective"`
	Until     time.Time `json:"until,omitzero"`
	Reason    byte      `json:"reason"`
	Note      string    `json:"note,omitempty"`
	Source    string    `json:"source,omitempty"`
	RuleSet   string    `json:"rule_set,omitempty"`
	SetAt     time.Time `json:"set_at"`
}

// storedRevocation is a central.Revocation as the store keeps it.
type storedRevocation struct {
	RevokedAt time.Time `json:"revoked_at"`
	Until     time.Time `json:"until,omitzero"`
}

func encodeStatus(e central.StatusEntry) ([]byte, error) {
	return json.Marshal(storedStatus{Status: e.Status.String(), Effective: e.Effective.UTC(), Until: e.Until.UTC(),
		Reason: e.Reason, Note: e.Note, Source: e.Source, RuleSet: e.RuleSet, SetAt: e.SetAt.UTC()})
}

func decodeStatus(key, val []byte) (central.StatusEntry, error) {
	var s storedStatus
	if err := json.Unmarshal(val, &s); err != nil {
		return central.StatusEntry{}, fmt.Errorf("%w: %s: %v", central.ErrStatusDamaged, key, err)
	}
	h, err := credential.ParseHolder(string(key))
	if err != nil {
		return central.StatusEntry{}, fmt.Errorf("%w: %s: %v", central.ErrStatusDamaged, key, err)
	}
	st, err := status.ParseStatus(s.Status)
	if err != nil {
		return central.StatusEntry{}, fmt.Errorf("%w: %s: %v", central.ErrStatusDamaged, key, err)
	}
	return central.StatusEntry{Holder: h, Status: st, Effective: s.Effective, Until: s.Until, Reason: s.Reason,
		Note: s.Note, Source: s.Source, RuleSet: s.RuleSet, SetAt: s.SetAt}, nil
}

// decodeRevocation reads a revocation; one recorded before revocations
// could lapse holds the binary time alone and never lapses.
func decodeRevocation(k, v []byte) (central.Revocation, error) {
	r := central.Revocation{UCI: string(k)}
	if len(v) > 0 && v[0] == '{' {
		var s storedRevocation
		if err := json.Unmarshal(v, &s); err != nil {
			return r, fmt.Errorf("%w: revocation %s: %v", central.ErrStatusDamaged, k, err)
		}
		r.RevokedAt, r.Until = s.RevokedAt, s.Until
		return r, nil
	}
	if err := r.RevokedAt.UnmarshalBinary(v); err != nil {
		return r, fmt.Errorf("%w: revocation %s: %v", central.ErrStatusDamaged, k, err)
	}
	return r, nil
}

func encodeRevocation(r central.Revocation) ([]byte, error) {
	return json.Marshal(storedRevocation{RevokedAt: r.RevokedAt.UTC(), Until: r.Until.UTC()})
}

// UpdateStatus implements central.StatusStore in one bbolt read-write
// transaction: bbolt has one writer at a time, and the file lock keeps
// every other process out.
func (s *Store) UpdateStatus(ctx context.Context, fn func(central.StatusTx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var fnErr error
	err := s.db.Update(func(tx *bolt.Tx) error {
		for _, name := range [][]byte{bucketStatusEntries, bucketStatusRevoked, bucketStatusMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		if err := indexHeld(tx); err != nil {
			return err
		}
		fnErr = fn(&statusTx{tx: tx})
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	if err != nil {
		return fmt.Errorf("boltstore: status update: %w", err)
	}
	return nil
}

// ViewStatus implements central.StatusStore.
func (s *Store) ViewStatus(ctx context.Context, fn func(central.StatusReader) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	return s.db.View(func(tx *bolt.Tx) error { return fn(&statusTx{tx: tx}) })
}

// StatusOf implements central.StatusStore.
func (s *Store) StatusOf(ctx context.Context, h credential.Holder) (e central.StatusEntry, ok bool, err error) {
	err = s.ViewStatus(ctx, func(r central.StatusReader) error {
		e, ok, err = r.Status(ctx, h)
		return err
	})
	return e, ok, err
}

// statusTx is a central.StatusTx on a bbolt transaction. In a read-only
// transaction the buckets may not exist yet: it reads as empty.
type statusTx struct {
	tx *bolt.Tx
}

var _ central.StatusTx = (*statusTx)(nil)

func (t *statusTx) Status(ctx context.Context, h credential.Holder) (central.StatusEntry, bool, error) {
	b := t.tx.Bucket(bucketStatusEntries)
	if b == nil {
		return central.StatusEntry{}, false, nil
	}
	key := []byte(h.String())
	v := b.Get(key)
	if v == nil {
		return central.StatusEntry{}, false, nil
	}
	e, err := decodeStatus(key, v)
	if err != nil {
		return central.StatusEntry{}, false, err
	}
	return e, true, nil
}

func (t *statusTx) Entries(ctx context.Context) iter.Seq2[central.StatusEntry, error] {
	return func(yield func(central.StatusEntry, error) bool) {
		b := t.tx.Bucket(bucketStatusEntries)
		if b == nil {
			return
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			if err := ctx.Err(); err != nil {
				yield(central.StatusEntry{}, err)
				return
			}
			e, err := decodeStatus(k, v)
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

func (t *statusTx) EntriesOf(ctx context.Context, holders []credential.Holder) ([]central.StatusEntry, error) {
	b := t.tx.Bucket(bucketStatusEntries)
	if b == nil {
		return nil, nil
	}
	keys := make([]string, len(holders))
	for i, h := range holders {
		keys[i] = h.String()
	}
	slices.Sort(keys)
	keys = slices.Compact(keys)
	var out []central.StatusEntry
	for _, k := range keys {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		v := b.Get([]byte(k))
		if v == nil {
			continue
		}
		e, err := decodeStatus([]byte(k), v)
		if err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (t *statusTx) HeldBy(ctx context.Context, source string, at time.Time) iter.Seq2[central.StatusEntry, error] {
	return func(yield func(central.StatusEntry, error) bool) {
		entries := t.tx.Bucket(bucketStatusEntries)
		if entries == nil {
			return
		}
		held := t.tx.Bucket(bucketStatusHeld)
		if held == nil {
			// A file whose statuses were last written before the index
			// (opened read-only since): read every entry.
			for e, err := range t.Entries(ctx) {
				if err != nil || e.Source == source && e.Holds(at) {
					if !yield(e, err) || err != nil {
						return
					}
				}
			}
			return
		}
		b := held.Bucket(heldBucket(source))
		if b == nil {
			return
		}
		// The keys after at's, in until order; yielded in holder order.
		var keys []string
		c := b.Cursor()
		from := untilKey(at)
		for k, _ := c.Seek(from); k != nil; k, _ = c.Next() {
			if bytes.Equal(k[:8], from) {
				continue // lapses at at
			}
			keys = append(keys, string(k[8:]))
		}
		slices.Sort(keys)
		for _, k := range keys {
			if err := ctx.Err(); err != nil {
				yield(central.StatusEntry{}, err)
				return
			}
			v := entries.Get([]byte(k))
			if v == nil {
				yield(central.StatusEntry{}, fmt.Errorf("%w: the index of held statuses names %s, which has no entry", central.ErrStatusDamaged, k))
				return
			}
			e, err := decodeStatus([]byte(k), v)
			if err == nil && (e.Source != source || !e.Holds(at)) {
				err = fmt.Errorf("%w: the index of held statuses does not match the entry of %s", central.ErrStatusDamaged, k)
			}
			if !yield(e, err) || err != nil {
				return
			}
		}
	}
}

// heldBucket names a source's bucket in bucketStatusHeld.
func heldBucket(source string) []byte { return append([]byte{'s'}, source...) }

// untilKey orders untils: an open entry last. Times past what UnixNano
// holds (after 2262) order as that end, before an open entry.
func untilKey(until time.Time) []byte {
	switch {
	case until.IsZero():
		return be64(^uint64(0))
	case until.After(maxNano):
		until = maxNano
	case until.Before(minNano):
		until = minNano
	}
	return be64(uint64(until.UnixNano()) ^ 1<<63)
}

var (
	minNano = time.Unix(0, math.MinInt64)
	maxNano = time.Unix(0, math.MaxInt64-1)
)

// heldKey is an entry's key in its source's bucket of bucketStatusHeld.
func heldKey(e central.StatusEntry) []byte { return append(untilKey(e.Until), e.Holder.String()...) }

// indexHeld keeps the index of held entries up to date in tx: it creates
// it from every entry in a file written before the index existed.
func indexHeld(tx *bolt.Tx) error {
	if tx.Bucket(bucketStatusHeld) != nil {
		return nil
	}
	held, err := tx.CreateBucket(bucketStatusHeld)
	if err != nil {
		return err
	}
	entries := tx.Bucket(bucketStatusEntries)
	if entries == nil {
		return nil
	}
	return entries.ForEach(func(k, v []byte) error {
		e, err := decodeStatus(k, v)
		if err != nil {
			return err
		}
		return putHeld(held, e)
	})
}

// putHeld adds e to the index when it holds its holder at a colour.
func putHeld(held *bolt.Bucket, e central.StatusEntry) error {
	if e.Status == status.Green {
		return nil
	}
	b, err := held.CreateBucketIfNotExists(heldBucket(e.Source))
	if err != nil {
		return err
	}
	return b.Put(heldKey(e), nil)
}

// deleteHeld removes e from the index.
func deleteHeld(held *bolt.Bucket, e central.StatusEntry) error {
	if b := held.Bucket(heldBucket(e.Source)); b != nil {
		return b.Delete(heldKey(e))
	}
	return nil
}

func (t *statusTx) Revocations(ctx context.Context) iter.Seq2[central.Revocation, error] {
	return func(yield func(central.Revocation, error) bool) {
		b := t.tx.Bucket(bucketStatusRevoked)
		if b == nil {
			return
		}
		c := b.Cursor()
		for k, v := c.First(); k != nil; k, v = c.Next() {
			r, err := decodeRevocation(k, v)
			if !yield(r, err) || err != nil {
				return
			}
		}
	}
}

func (t *statusTx) Version(ctx context.Context) (uint64, error) {
	b := t.tx.Bucket(bucketStatusMeta)
	if b == nil {
		return 0, nil
	}
	v := b.Get(keyStatusVersion)
	switch len(v) {
	case 0:
		return 0, nil
	case 8:
		return binary.BigEndian.Uint64(v), nil
	}
	return 0, fmt.Errorf("%w: the status version holds %d bytes, not 8", central.ErrStatusDamaged, len(v))
}

func (t *statusTx) Counts(ctx context.Context) (entries, revocations int, err error) {
	if b := t.tx.Bucket(bucketStatusEntries); b != nil {
		entries = b.Stats().KeyN
	}
	if b := t.tx.Bucket(bucketStatusRevoked); b != nil {
		revocations = b.Stats().KeyN
	}
	return entries, revocations, nil
}

func (t *statusTx) LapsedBetween(ctx context.Context, from, to time.Time) (entries, revocations int, err error) {
	for e, err := range t.Entries(ctx) {
		if err != nil {
			return 0, 0, err
		}
		if central.LapsesBetween(e.Until, from, to) {
			entries++
		}
	}
	for r, err := range t.Revocations(ctx) {
		if err != nil {
			return 0, 0, err
		}
		if central.LapsesBetween(r.Until, from, to) {
			revocations++
		}
	}
	return entries, revocations, nil
}

func (t *statusTx) SetStatus(ctx context.Context, e central.StatusEntry) (prev central.StatusEntry, had bool, err error) {
	if err := e.Validate(); err != nil {
		return prev, false, err
	}
	if prev, had, err = t.Status(ctx, e.Holder); err != nil {
		return central.StatusEntry{}, false, err
	}
	val, err := encodeStatus(e)
	if err != nil {
		return central.StatusEntry{}, false, err
	}
	held := t.tx.Bucket(bucketStatusHeld)
	if had {
		if err := deleteHeld(held, prev); err != nil {
			return central.StatusEntry{}, false, err
		}
	}
	// The index keeps the times as the entry decodes them.
	e.Until = e.Until.UTC()
	if err := putHeld(held, e); err != nil {
		return central.StatusEntry{}, false, err
	}
	return prev, had, t.tx.Bucket(bucketStatusEntries).Put([]byte(e.Holder.String()), val)
}

func (t *statusTx) Revoke(ctx context.Context, uci string, at, until time.Time) (bool, error) {
	b := t.tx.Bucket(bucketStatusRevoked)
	var prev central.Revocation
	had := false
	if uci != "" {
		if old := b.Get([]byte(uci)); old != nil {
			var err error
			if prev, err = decodeRevocation([]byte(uci), old); err != nil {
				return false, err
			}
			had = true
		}
	}
	next, fresh, changed, err := central.MergeRevocation(prev, had, uci, at, until)
	if err != nil || !changed {
		return fresh, err
	}
	v, err := encodeRevocation(next)
	if err != nil {
		return false, err
	}
	return fresh, b.Put([]byte(uci), v)
}

func (t *statusTx) SetVersion(ctx context.Context, v uint64) error {
	return t.tx.Bucket(bucketStatusMeta).Put(keyStatusVersion, binary.BigEndian.AppendUint64(nil, v))
}
