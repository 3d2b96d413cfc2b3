package central

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/status"
)

// StatusEntry is one holder's current status as the centre keeps it: the
// latest change, as on the terminal (each holder has one entry).
type StatusEntry struct {
	Holder    credential.Holder `json:"holder"`
	Status    status.Status     `json:"status"`
	Effective time.Time         `json:"effective"`
	// Until is when the status lapses; zero: open.
	Until time.Time `json:"until,omitzero"`
	// Reason is the one-byte reason code (docs/reasons.md) that travels
	// to the terminals.
	Reason byte `json:"reason"`
	// Note is the reason in words; it stays at the centre.
	Note string `json:"note,omitempty"`
	// Source says who or what made the change: an operator ("ops:NAME"),
	// the code engine ("engine"), an import. Empty for entries made
	// before sources were kept.
	Source string `json:"source,omitempty"`
	// RuleSet is the version of the rule set that decided the change
	// (the code engine); empty for a change by hand.
	RuleSet string `json:"rule_set,omitempty"`
	// SetAt is the centre's time of the change.
	SetAt time.Time `json:"set_at"`
}

// Entry returns e as a status.Entry for a status.Builder.
func (e StatusEntry) Entry() status.Entry {
	return status.Entry{Status: e.Status, Effective: e.Effective, Until: e.Until, Reason: e.Reason}
}

// Holds reports whether the entry holds its holder at a colour other than
// green at at or later: it is not green and has not lapsed at at (the
// entries StatusReader.HeldBy yields, by their source).
func (e StatusEntry) Holds(at time.Time) bool {
	return e.Status != status.Green && (e.Until.IsZero() || e.Until.After(at))
}

// Lapsed reports whether the entry has lapsed at now.
func (e StatusEntry) Lapsed(now time.Time) bool { return !e.Until.IsZero() && !e.Until.After(now) }

// Validate checks what a terminal would refuse; the error wraps
// ErrStatusHolder or ErrStatusEntry.
func (e StatusEntry) Validate() error {
	switch e.Holder.Kind {
	case credential.HolderNative, credential.HolderPseudonym:
	default:
		return ErrStatusHolder
	}
	if !e.Status.Valid() {
		return fmt.Errorf("%w: status %d", ErrStatusEntry, e.Status)
	}
	if e.Effective.IsZero() {
		return fmt.Errorf("%w: no effective time", ErrStatusEntry)
	}
	if !e.Until.IsZero() && !e.Until.After(e.Effective) {
		return fmt.Errorf("%w: until %s is not after effective %s", ErrStatusEntry,
			e.Until.UTC().Format(time.RFC3339), e.Effective.UTC().Format(time.RFC3339))
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

// Errors of the status part of a store.
var (
	// ErrStatusHolder: the holder is neither native nor pseudonymous.
	ErrStatusHolder = errors.New("central: a status holder must be ISSUER:INDEX or p:HEX")
	// ErrStatusEntry: a status entry or revocation is not valid (status,
	// no effective time, until not after effective, empty identifier).
	ErrStatusEntry = errors.New("central: invalid status entry")
	// ErrStatusDamaged: a stored status entry or revocation does not
	// decode.
	ErrStatusDamaged = errors.New("central: damaged status record")
)

// StatusStore is the status part of the central store: the current status
// entry of every holder whose status the centre changed, the EU DCC
// revocations, and the status version they were last published at, so
// that a status base can be rebuilt at any time from the store alone.
//
// A change and the publication of its bundle happen in one transaction
// (UpdateStatus): the caller records the change, publishes the bundle and
// records the version the bundle took (SetVersion); when publishing fails
// fn returns the error and nothing of the change is kept. Transactions
// are serialised against each other in this process and in every other
// process on the same store (bbolt: the file lock and its single writer;
// PostgreSQL: the row lock of the status version), so two publishers never
// interleave. Package statuspub is that caller; `sentinel-central status`,
// serve's scheduler and the code engine publish through it.
type StatusStore interface {
	// UpdateStatus runs fn in a read-write status transaction: every
	// change fn makes is kept when fn returns nil and none when it
	// returns an error, which UpdateStatus returns unwrapped. fn must not
	// call the store itself, only tx.
	UpdateStatus(ctx context.Context, fn func(tx StatusTx) error) error
	// ViewStatus runs fn in a read-only transaction that sees one
	// consistent state. fn must not call the store itself, only r.
	ViewStatus(ctx context.Context, fn func(r StatusReader) error) error
	// StatusOf returns the holder's current entry; ok is false when the
	// centre never changed the holder's status.
	StatusOf(ctx context.Context, h credential.Holder) (e StatusEntry, ok bool, err error)
}

// StatusReader reads the status part of a store within a transaction.
type StatusReader interface {
	// Status returns the holder's current entry.
	Status(ctx context.Context, h credential.Holder) (StatusEntry, bool, error)
	// Entries yields every entry in holder order (the order of
	// Holder.String's bytes); it stops at the first error. The body of
	// the loop may call the reader's other methods.
	Entries(ctx context.Context) iter.Seq2[StatusEntry, error]
	// EntriesOf returns the entries of those of holders that have one,
	// in holder order, once each (holders may repeat and come in any
	// order): a sweep reads the statuses of the holders it judges
	// without reading everyone's.
	EntriesOf(ctx context.Context, holders []credential.Holder) ([]StatusEntry, error)
	// HeldBy yields, in holder order, the entries made by source (the
	// code engine: "engine") whose status is not green and that have not
	// lapsed at at (Until zero or after at): the holders that source
	// still holds at a colour, whom a sweep must judge even when they
	// have no facts left. Stores index these, so that their number and
	// not the number of entries sets its cost. It stops at the first
	// error.
	HeldBy(ctx context.Context, source string, at time.Time) iter.Seq2[StatusEntry, error]
	// Revocations yields every revocation, lapsed ones included, in
	// identifier order; it stops at the first error.
	Revocations(ctx context.Context) iter.Seq2[Revocation, error]
	// Version returns the status version the store was last published at
	// (0: never).
	Version(ctx context.Context) (uint64, error)
	// Counts says how many entries and revocations the store holds.
	Counts(ctx context.Context) (entries, revocations int, err error)
	// LapsedBetween counts the entries and revocations that lapse after
	// from and at or before to: what a base published at from still
	// carries and one published at to would leave out.
	LapsedBetween(ctx context.Context, from, to time.Time) (entries, revocations int, err error)
}

// StatusTx changes the status part of a store within UpdateStatus.
type StatusTx interface {
	StatusReader
	// SetStatus validates e (StatusEntry.Validate), records it as the
	// holder's current entry and returns the entry it replaces, if any.
	SetStatus(ctx context.Context, e StatusEntry) (prev StatusEntry, had bool, err error)
	// Revoke records the EU DCC certificate identifier as revoked at at
	// until until (zero: never lapses); see MergeRevocation. It reports
	// whether the identifier was not revoked before (or its revocation
	// had lapsed).
	Revoke(ctx context.Context, uci string, at, until time.Time) (fresh bool, err error)
	// SetVersion records the status version of the bundle just published.
	SetVersion(ctx context.Context, v uint64) error
}

// MergeRevocation decides what Revoke stores: the revocation of uci at at
// until until, given the stored one (prev, when had). A revocation that
// has not lapsed at at keeps its time and the later of the two ends (an
// open end is the latest); one that has lapsed is replaced. It returns
// what to store, whether the identifier is freshly revoked, and whether
// anything changed; the error wraps ErrStatusEntry.
func MergeRevocation(prev Revocation, had bool, uci string, at, until time.Time) (next Revocation, fresh, changed bool, err error) {
	if uci == "" {
		return next, false, false, fmt.Errorf("%w: empty certificate identifier", ErrStatusEntry)
	}
	if !until.IsZero() && !until.After(at) {
		return next, false, false, fmt.Errorf("%w: revocation of %s lapses at %s, not after it was revoked at %s", ErrStatusEntry, uci,
			until.UTC().Format(time.RFC3339), at.UTC().Format(time.RFC3339))
	}
	next = Revocation{UCI: uci, RevokedAt: at.UTC(), Until: until.UTC()}
	if until.IsZero() {
		next.Until = time.Time{}
	}
	if !had || prev.Lapsed(at) {
		return next, true, true, nil
	}
	next.RevokedAt = prev.RevokedAt
	if prev.Until.IsZero() || (!next.Until.IsZero() && prev.Until.After(next.Until)) {
		next.Until = prev.Until
	}
	return next, false, !prev.Until.Equal(next.Until), nil
}

// AddStatus sets e on b by the holder's kind.
func AddStatus(b *status.Builder, e StatusEntry) error {
	switch e.Holder.Kind {
	case credential.HolderNative:
		return b.SetNative(e.Holder.Issuer, e.Holder.Index, e.Entry())
	case credential.HolderPseudonym:
		return b.SetPseudonym(e.Holder.Pseudonym, e.Entry())
	}
	return ErrStatusHolder
}

// BaseOptions say which entries a base leaves out because they can no
// longer override a valid code (the terminal's status.Options).
type BaseOptions struct {
	NativeLifetime time.Duration // status.DefaultNativeLifetime when 0
	Tolerance      time.Duration // status.DefaultTolerance when 0
}

// BuildBase fills a new Builder from r with every entry that can still
// override a valid code at now, and every revocation that has not lapsed,
// for a status-base payload.
func BuildBase(ctx context.Context, r StatusReader, now time.Time, opts BaseOptions) (*status.Builder, error) {
	if opts.NativeLifetime <= 0 {
		opts.NativeLifetime = status.DefaultNativeLifetime
	}
	if opts.Tolerance <= 0 {
		opts.Tolerance = status.DefaultTolerance
	}
	horizon := now.Add(-opts.NativeLifetime - opts.Tolerance)
	b := status.NewBuilder()
	for e, err := range r.Entries(ctx) {
		if err != nil {
			return nil, err
		}
		if e.Lapsed(now) {
			continue
		}
		if e.Holder.Kind == credential.HolderNative && !e.Effective.After(horizon) {
			continue // older than any valid native code
		}
		if err := AddStatus(b, e); err != nil {
			return nil, err
		}
	}
	for rv, err := range r.Revocations(ctx) {
		if err != nil {
			return nil, err
		}
		if !rv.Lapsed(now) {
			b.Revoke(rv.UCI)
		}
	}
	return b, nil
}

// LapsesBetween reports whether an end until lies after from and at or
// before to: the test of StatusReader.LapsedBetween.
func LapsesBetween(until, from, to time.Time) bool {
	return !until.IsZero() && until.After(from) && !until.After(to)
}
