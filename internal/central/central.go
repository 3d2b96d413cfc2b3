package central

import (
	"bytes"
	"cmp"
	"context"
	"encoding/hex"
	"fmt"
	"iter"
	"time"
)

// Epoch identifies one journal file's unbroken chain on a terminal. It has
// the same layout as the journal's epoch, so journal.Epoch converts to it.
type Epoch [16]byte

// String returns the epoch in hex.
func (e Epoch) String() string { return hex.EncodeToString(e[:]) }

// ParseEpoch parses an epoch written by Epoch.String.
func ParseEpoch(s string) (Epoch, error) {
	var e Epoch
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(e) {
		return e, fmt.Errorf("central: epoch %q is not 32 hex digits", s)
	}
	copy(e[:], b)
	return e, nil
}

// Record is one journal record as the centre stores it: the journal's
// stored bytes unchanged, with the fields opened at ingest beside them.
type Record struct {
	Seq      uint64    // sequence number within the epoch, from 1
	Stored   []byte    // the journal's stored bytes, unchanged
	Time     time.Time // when the passage happened
	Site     string
	Holder   string // opened holder pseudonym such as "ZJ:42"; may be empty
	Decision string
	Reasons  []string
	// Hash is the record's link of the journal's hash chain (SHA-256 of
	// the previous hash and Stored); the store keeps the last one with the
	// mark. Zero when the uploader did not compute it.
	Hash [32]byte
	// Break says why the hash chain does not hold at this record; empty
	// when it does. A broken record is stored and flagged, never dropped.
	Break string
	// Salvaged marks a record recovered from a damaged journal: at or
	// below the mark it is dropped without comparing it with the stored
	// one (the stored copy was uploaded intact), so that it never makes a
	// fork. Not stored.
	Salvaged bool
}

// Passage is a stored record with its identity.
type Passage struct {
	Device string
	Epoch  Epoch
	Record
}

// Filter selects passages. Zero fields select everything; From is
// inclusive and To exclusive.
type Filter struct {
	From, To time.Time
	Site     string
	Device   string
	Holder   string
	// Slim asks for the passages without their stored record, reasons
	// and chain break (Stored, Reasons and Break may come empty): what
	// contact derivation and visits read. PostgreSQL then answers from
	// its covering indexes alone (migration 0011).
	Slim bool
}

// Match reports whether p passes f.
func (f Filter) Match(p *Passage) bool {
	switch {
	case !f.From.IsZero() && p.Time.Before(f.From):
		return false
	case !f.To.IsZero() && !p.Time.Before(f.To):
		return false
	case f.Site != "" && p.Site != f.Site:
		return false
	case f.Device != "" && p.Device != f.Device:
		return false
	case f.Holder != "" && p.Holder != f.Holder:
		return false
	}
	return true
}

// Mark is the high-water mark of one epoch of a device.
type Mark struct {
	Epoch     Epoch
	HighWater uint64
}

// Link is a high-water mark with the chain hash of the record it names,
// so that the next upload's first record can be checked against it. The
// zero Link means nothing is stored.
type Link struct {
	Seq  uint64
	Hash [32]byte
}

// AdmitFunc decides, inside a store's ingest transaction, what of a batch
// to store given the mark the store holds: it returns a suffix of the
// batch (records past the mark, possibly with Break set, possibly none),
// or an error, which stores nothing and is returned by the ingest as it
// is (a gap error, for one). The sync server's decision is
// syncstore.Admit, which checks the hash chain (server.Admit).
//
// The EngineStep it returns, when not nil, runs in the same transaction
// on the engine's part of the store (the facts derived from the admitted
// records: KeepFeversTx): the records and their facts are stored together
// or not at all. An error from the step stores nothing.
type AdmitFunc func(mark Link) ([]Record, EngineStep, error)

// EngineStep changes the engine's part of a store inside another of the
// store's transactions (an ingest's), through the same EngineTx that
// EngineStore.UpdateEngine gives.
type EngineStep func(ctx context.Context, tx EngineTx) error

// Device is a terminal as the store knows it.
type Device struct {
	ID       string
	LastSeen time.Time // time of the last ingest that carried records
	Marks    []Mark    // one per epoch, in ascending epoch order
	Forks    []Fork    // forks found in its journals, oldest first
}

// Ingester is the part of a store that the sync server's ingest uses
// (package syncstore): exactly-once storage with the chain hash kept at
// the mark, data keys, forks. See the package comment.
type Ingester interface {
	// IngestLinked stores a contiguous ascending batch of one device's
	// epoch in one transaction: it reads the stored mark, refuses a
	// batch that forks from the records stored (*ForkError) or an epoch
	// that another device owns (*EpochOwnerError), lets admit decide
	// what of recs to store, stores that with its Break, adds the data
	// key entries keys (once each), and raises the mark to the last
	// record stored, keeping its Hash. It returns the mark after the
	// transaction. An error from admit stores nothing and is returned
	// unwrapped with the stored mark. See the package comment.
	IngestLinked(ctx context.Context, device string, epoch Epoch, recs []Record, keys [][]byte, admit AdmitFunc) (Link, error)
	// Link returns the mark of (device, epoch) with its chain hash; the
	// zero Link when nothing is stored.
	Link(ctx context.Context, device string, epoch Epoch) (Link, error)
	// Keys returns the data key entries stored for (device, epoch).
	Keys(ctx context.Context, device string, epoch Epoch) ([][]byte, error)
	// Fork returns the fork of device whose branch is branch, false when
	// there is none.
	Fork(ctx context.Context, device string, branch Epoch) (Fork, bool, error)
}

// Store keeps passages exactly once per (device, epoch, seq), and the
// rest of the centre's state: the holders' statuses, the code engine's
// facts, areas and rule sets, the device registry
// with its enrolment tokens, the audit log and the operator API's tokens.
// What it keeps besides the passages expires by Expire; the passages by
// each store's own purge (boltstore.PurgeBefore, pgstore.DropBefore).
type Store interface {
	Ingester
	StatusStore
	EngineStore
	Registry
	AuditLog
	OpsTokens
	Expirer
	// HighWater returns the mark of (device, epoch), 0 when nothing is stored.
	HighWater(ctx context.Context, device string, epoch Epoch) (uint64, error)
	// Passages yields the passages that f selects, ordered by time, then
	// device, epoch and seq. It stops at the first error.
	Passages(ctx context.Context, f Filter) iter.Seq2[Passage, error]
	// Devices lists every device with records, ordered by ID.
	Devices(ctx context.Context) ([]Device, error)
	// Close releases the store.
	Close() error
}

// ComparePassages orders passages by time, device, epoch and seq, the
// order in which Store.Passages yields them.
func ComparePassages(a, b Passage) int {
	return cmp.Or(a.Time.Compare(b.Time), cmp.Compare(a.Device, b.Device),
		bytes.Compare(a.Epoch[:], b.Epoch[:]), cmp.Compare(a.Seq, b.Seq))
}
