package statusdb

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/bbolt"
	bberrors "go.etcd.io/bbolt/errors"

	"sentinel/crypto/credential"
	"sentinel/internal/status"
)

// Errors of the record.
var (
	// ErrHolder: the holder is neither native nor pseudonymous.
	ErrHolder = errors.New("statusdb: holder must be ISSUER:INDEX or p:HEX")
	// ErrRecord: an entry is not valid (status, or until not after effective).
	ErrRecord = errors.New("statusdb: invalid entry")
	// ErrDamaged: a stored value does not decode.
	ErrDamaged = errors.New("statusdb: damaged record")
)

// DefaultTimeout is how long Open waits for another process holding the file.
const DefaultTimeout = 2 * time.Second

var (
	bucketEntries = []byte("entries")
	bucketRevoked = []byte("revoked")
	bucketMeta    = []byte("meta")
	keyVersion    = []byte("version")
)

// Record is one holder's current status entry as the centre keeps it.
type Record struct {
	Holder    credential.Holder `json:"holder"`
	Status    status.Status     `json:"status"`
	Effective time.Time         `json:"effective"`
	Until     time.Time         `json:"until,omitzero"`
	Reason    byte              `json:"reason"`
	Note      string            `json:"note,omitempty"` // words stay at the centre
	SetAt     time.Time         `json:"set_at"`
}

// stored is a Record as the file keeps it.
type stored struct {
	Status    string    `json:"status"`
	Effective time.Time `json:"effective"`
	Until     time.Time `json:"until,omitzero"`
	Reason    byte      `json:"reason"`
	Note      string    `json:"note,omitempty"`
	SetAt     time.Time `json:"set_at"`
}

func encode(r Record) ([]byte, error) {
	return json.Marshal(stored{Status: r.Status.String(), Effective: r.Effective.UTC(), Until: r.Until.UTC(),
		Reason: r.Reason, Note: r.Note, SetAt: r.SetAt.UTC()})
}

func decode(key, val []byte) (Record, error) {
	var s stored
	if err := json.Unmarshal(val, &s); err != nil {
		return Record{}, fmt.Errorf("%w: %s: %v", ErrDamaged, key, err)
	}
	h, err := credential.ParseHolder(string(key))
	if err != nil {
		return Record{}, fmt.Errorf("%w: %s: %v", ErrDamaged, key, err)
	}
	st, err := status.ParseStatus(s.Status)
	if err != nil {
		return Record{}, fmt.Errorf("%w: %s: %v", ErrDamaged, key, err)
	}
	return Record{Holder: h, Status: st, Effective: s.Effective, Until: s.Until, Reason: s.Reason, Note: s.Note, SetAt: s.SetAt}, nil
}

// Entry returns the record as a status.Entry for a Builder.
func (r Record) Entry() status.Entry {
	return status.Entry{Status: r.Status, Effective: r.Effective, Until: r.Until, Reason: r.Reason}
}

// Validate checks what a terminal would refuse.
func (r Record) Validate() error {
	switch r.Holder.Kind {
	case credential.HolderNative, credential.HolderPseudonym:
	default:
		return ErrHolder
	}
	if !r.Status.Valid() {
		return fmt.Errorf("%w: status %d", ErrRecord, r.Status)
	}
	if r.Effective.IsZero() {
		return fmt.Errorf("%w: no effective time", ErrRecord)
	}
	if !r.Until.IsZero() && !r.Until.After(r.Effective) {
		return fmt.Errorf("%w: until %s is not after effective %s", ErrRecord,
			r.Until.Format(time.RFC3339), r.Effective.Format(time.RFC3339))
	}
	return nil
}

// Revocation is a revoked EU DCC certificate identifier.
type Revocation struct {
	UCI       string    `json:"uci"`
	RevokedAt time.Time `json:"revoked_at"`
	// Until is when the revocation lapses (the certificate has expired by
	// then, so terminals refuse it anyway); zero: never.
	Until time.Time `json:"until,omitzero"`
}

// Lapsed reports whether the revocation has lapsed at now.
func (r Revocation) Lapsed(now time.Time) bool { return !r.Until.IsZero() && !r.Until.After(now) }

// Lapsed reports whether the entry has lapsed at now.
func (r Record) Lapsed(now time.Time) bool { return !r.Until.IsZero() && !r.Until.After(now) }

// storedRevocation is a Revocation as the file keeps it. Revocations
// recorded before they could lapse hold the binary time alone.
type storedRevocation struct {
	RevokedAt time.Time `json:"revoked_at"`
	Until     time.Time `json:"until,omitzero"`
}

// DB is the centre's status record.
type DB struct {
	bolt *bbolt.DB
}

// Open opens (or creates) the record at path, waiting at most timeout
// (DefaultTimeout when 0) for another process that holds it.
func Open(path string, timeout time.Duration) (*DB, error) {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	b, err := bbolt.Open(path, 0o600, &bbolt.Options{Timeout: timeout})
	if errors.Is(err, bberrors.ErrTimeout) {
		return nil, fmt.Errorf("statusdb: open %s: another process holds it (a status command or the server): wait and retry: %w", path, err)
	}
	if err != nil {
		return nil, fmt.Errorf("statusdb: open %s: %w", path, err)
	}
	err = b.Update(func(tx *bbolt.Tx) error {
		for _, name := range [][]byte{bucketEntries, bucketRevoked, bucketMeta} {
			if _, err := tx.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("statusdb: open %s: %w", path, err)
	}
	return &DB{bolt: b}, nil
}

// Close closes the record.
func (db *DB) Close() error { return db.bolt.Close() }

// Update runs fn in a read-write transaction: every change fn makes is kept
// when fn returns nil and none when it returns an error.
func (db *DB) Update(fn func(*Tx) error) error {
	return db.bolt.Update(func(tx *bbolt.Tx) error { return fn(&Tx{tx: tx}) })
}

// View runs fn in a read-only transaction; fn must not change anything.
func (db *DB) View(fn func(*Tx) error) error {
	return db.bolt.View(func(tx *bbolt.Tx) error { return fn(&Tx{tx: tx}) })
}

// Tx is a transaction on the record.
type Tx struct {
	tx *bbolt.Tx
}

// Set records r as the holder's current entry and returns the entry it
// replaces, if any.
func (t *Tx) Set(r Record) (prev Record, had bool, err error) {
	if err := r.Validate(); err != nil {
		return Record{}, false, err
	}
	key := []byte(r.Holder.String())
	b := t.tx.Bucket(bucketEntries)
	if old := b.Get(key); old != nil {
		if prev, err = decode(key, old); err != nil {
			return Record{}, false, err
		}
		had = true
	}
	val, err := encode(r)
	if err != nil {
		return Record{}, false, err
	}
	return prev, had, b.Put(key, val)
}

// Get returns the holder's current entry.
func (t *Tx) Get(h credential.Holder) (Record, bool, error) {
	v := t.tx.Bucket(bucketEntries).Get([]byte(h.String()))
	if v == nil {
		return Record{}, false, nil
	}
	r, err := decode([]byte(h.String()), v)
	if err != nil {
		return Record{}, false, err
	}
	return r, true, nil
}

// Revoke records the DCC certificate identifier as revoked at at until
// until (zero: never lapses); it reports false when it already was, and
// then keeps the later of the two ends.
func (t *Tx) Revoke(uci string, at, until time.Time) (bool, error) {
	if uci == "" {
		return false, fmt.Errorf("%w: empty certificate identifier", ErrRecord)
	}
	if !until.IsZero() && !until.After(at) {
		return false, fmt.Errorf("%w: revocation of %s lapses at %s, not after it was revoked at %s", ErrRecord, uci,
			until.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	b := t.tx.Bucket(bucketRevoked)
	s := storedRevocation{RevokedAt: at.UTC(), Until: until.UTC()}
	fresh := true
	if old := b.Get([]byte(uci)); old != nil {
		prev, err := decodeRevocation([]byte(uci), old)
		if err != nil {
			return false, err
		}
		if !prev.Lapsed(at) {
			fresh = false
			s.RevokedAt = prev.RevokedAt
			if prev.Until.IsZero() || (!until.IsZero() && prev.Until.After(until)) {
				s.Until = prev.Until
			}
			if prev.Until.Equal(s.Until) {
				return false, nil
			}
		}
	}
	v, err := json.Marshal(s)
	if err != nil {
		return false, err
	}
	return fresh, b.Put([]byte(uci), v)
}

func decodeRevocation(k, v []byte) (Revocation, error) {
	r := Revocation{UCI: string(k)}
	if len(v) > 0 && v[0] == '{' {
		var s storedRevocation
		if err := json.Unmarshal(v, &s); err != nil {
			return r, fmt.Errorf("%w: revocation %s: %v", ErrDamaged, k, err)
		}
		r.RevokedAt, r.Until = s.RevokedAt, s.Until
		return r, nil
	}
	if err := r.RevokedAt.UnmarshalBinary(v); err != nil {
		return r, fmt.Errorf("%w: revocation %s: %v", ErrDamaged, k, err)
	}
	return r, nil
}

// Version returns the status version the record was last published at (0:
// never).
func (t *Tx) Version() uint64 {
	v := t.tx.Bucket(bucketMeta).Get(keyVersion)
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// SetVersion records the status version of the bundle just published.
func (t *Tx) SetVersion(v uint64) error {
	return t.tx.Bucket(bucketMeta).Put(keyVersion, binary.BigEndian.AppendUint64(nil, v))
}

// Each calls fn for every entry, in holder order, until fn returns an error.
func (t *Tx) Each(fn func(Record) error) error {
	return t.tx.Bucket(bucketEntries).ForEach(func(k, v []byte) error {
		r, err := decode(k, v)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

// Revocations calls fn for every revoked identifier.
func (t *Tx) Revocations(fn func(Revocation) error) error {
	return t.tx.Bucket(bucketRevoked).ForEach(func(k, v []byte) error {
		r, err := decodeRevocation(k, v)
		if err != nil {
			return err
		}
		return fn(r)
	})
}

// LapsedBetween counts the entries and revocations that lapse after from
// and at or before to: what a base published at from still carries and
// one published at to would leave out.
func (t *Tx) LapsedBetween(from, to time.Time) (entries, revocations int, err error) {
	in := func(until time.Time) bool { return !until.IsZero() && until.After(from) && !until.After(to) }
	err = t.Each(func(r Record) error {
		if in(r.Until) {
			entries++
		}
		return nil
	})
	if err != nil {
		return 0, 0, err
	}
	err = t.Revocations(func(r Revocation) error {
		if in(r.Until) {
			revocations++
		}
		return nil
	})
	return entries, revocations, err
}

// Counts says how many entries and revocations the record holds.
func (t *Tx) Counts() (entries, revoked int) {
	return t.tx.Bucket(bucketEntries).Stats().KeyN, t.tx.Bucket(bucketRevoked).Stats().KeyN
}

// AddTo sets r on b (a status.Builder) by the holder's kind.
func AddTo(b *status.Builder, r Record) error {
	switch r.Holder.Kind {
	case credential.HolderNative:
		return b.SetNative(r.Holder.Issuer, r.Holder.Index, r.Entry())
	case credential.HolderPseudonym:
		return b.SetPseudonym(r.Holder.Pseudonym, r.Entry())
	}
	return ErrHolder
}

// BaseOptions say which entries a base leaves out because they can no
// longer override a valid code (the terminal's status.Options).
type BaseOptions struct {
	NativeLifetime time.Duration // status.DefaultNativeLifetime when 0
	Tolerance      time.Duration // status.DefaultTolerance when 0
}

// Base fills a new Builder with every entry that can still override a valid
// code at now, and every revocation that has not lapsed, for a
// status-base payload.
func (t *Tx) Base(now time.Time, opts BaseOptions) (*status.Builder, error) {
	if opts.NativeLifetime <= 0 {
		opts.NativeLifetime = status.DefaultNativeLifetime
	}
	if opts.Tolerance <= 0 {
		opts.Tolerance = status.DefaultTolerance
	}
	horizon := now.Add(-opts.NativeLifetime - opts.Tolerance)
	b := status.NewBuilder()
	err := t.Each(func(r Record) error {
		if r.Lapsed(now) {
			return nil
		}
		if r.Holder.Kind == credential.HolderNative && !r.Effective.After(horizon) {
			return nil // older than any valid native code
		}
		return AddTo(b, r)
	})
	if err != nil {
		return nil, err
	}
	err = t.Revocations(func(r Revocation) error {
		if !r.Lapsed(now) {
			b.Revoke(r.UCI)
		}
		return nil
	})
	return b, err
}

// Lookup returns the holder's current entry in a read-only transaction.
func (db *DB) Lookup(h credential.Holder) (r Record, ok bool, err error) {
	err = db.View(func(tx *Tx) error {
		r, ok, err = tx.Get(h)
		return err
	})
	return r, ok, err
}
