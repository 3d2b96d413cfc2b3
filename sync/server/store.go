package server

import (
	"context"
	"errors"
	"fmt"

	"sentinel/sync/journal"
)

// Store ingests uploaded ranges. Implementations (the central bbolt and
// PostgreSQL stores) must be safe for concurrent use and make Ingest one
// transaction, so that the effect is exactly once behind any load
// balancer.
type Store interface {
	// Ingest, in one transaction, reads the high-water mark of
	// (u.Device, u.Epoch), calls Admit(mark, u.Records), stores the
	// records Admit keeps (with their Break) and u.Keys, sets the mark to
	// the last kept record (Seq and Hash), and returns the new mark and
	// the records Admit kept. When Admit returns a *GapError, Ingest
	// stores nothing and returns it.
	//
	// Before Admit, a record at or below the mark whose stored bytes
	// differ from those stored at its seq makes a fork: Ingest records
	// it, stores nothing else and returns a *ForkError. A batch for an
	// epoch that another device stored under first returns an error
	// matching ErrEpochOwned, and one whose Branch the store does not
	// know (as a fork of u.Epoch by u.Device) ErrUnknownBranch; neither
	// stores anything. With Branch set, the records are stored under
	// Branch, whose mark starts at the fork's seq - 1.
	Ingest(ctx context.Context, u *Batch) (Ingested, error)
	// HighWater returns the mark of (device, epoch): the zero Mark when
	// nothing is stored.
	HighWater(ctx context.Context, device string, epoch journal.Epoch) (Mark, error)
}

// Mark is a high-water mark: every record up to Seq is stored, and Hash is
// the chain hash of record Seq.
type Mark struct {
	Seq  journal.Seq
	Hash journal.Hash
}

// Ingested is what Store.Ingest did.
type Ingested struct {
	Mark Mark     // the high-water mark after the transaction
	Kept []Record // the records stored, as Admit returned them
}

// Batch is a checked range of one device's journal epoch.
type Batch struct {
	Device  string
	Epoch   journal.Epoch
	Records []Record // contiguous, ascending Seq
	Keys    [][]byte // wrapped data key entries (journal.Opener.AddKey)
	// Branch, when not zero, is the fork branch the records (of Epoch,
	// from the fork on) are stored under.
	Branch journal.Epoch
}

// Record is one uploaded record, decoded and placed in the chain.
type Record struct {
	Seq    journal.Seq
	Stored []byte          // the journal's stored bytes, unchanged
	Rec    *journal.Record // Stored, decoded
	Hash   journal.Hash    // journal.Chain(previous hash, Stored)
	Break  string          // why the chain does not hold here; empty when it does
	// Salvaged: the record comes from a damaged journal the terminal
	// salvaged (protocol.Upload.Salvaged), so a gap before it is a loss
	// to flag, not a reason to refuse.
	Salvaged bool
}

// Reasons for Record.Break.
const (
	BreakLink  = "record does not link to the record before it in this upload"
	BreakMark  = "record does not link to the last record the centre stored"
	BreakFirst = "first record of the epoch does not link to the epoch's genesis"
)

// BreakLost is the Break of the first record of a salvaged range that
// starts past the mark: the records between were lost on the terminal.
const BreakLost = "records %d to %d were lost in a damaged journal on the terminal"

// GapError is Ingest's answer to a range that starts past mark+1.
type GapError struct {
	Mark  journal.Seq // the high-water mark: resume from Mark+1
	First journal.Seq // where the refused range started
}

func (e *GapError) Error() string {
	return fmt.Sprintf("server: gap: range starts at %d, centre holds up to %d", e.First, e.Mark)
}

// ErrInvalid is wrapped by a Store's error when the batch can never be
// stored as it is (a record the store's own checks refuse): the handler
// refuses it as malformed rather than asking the terminal to retry for
// ever.
var ErrInvalid = errors.New("server: the store refuses the batch")

// ForkError is Ingest's answer to a range holding a record at or below
// the mark that differs from the one stored: the journal was restored
// from an older copy or cloned. The device sends its records from At on
// under Branch.
type ForkError struct {
	Mark   Mark        // the mark of the epoch (or branch) uploaded to
	At     journal.Seq // the first seq whose record differs
	Branch journal.Epoch
}

func (e *ForkError) Error() string {
	return fmt.Sprintf("server: fork: record %d differs from the one stored (centre holds up to %d); branch %s", e.At, e.Mark.Seq, e.Branch)
}

// Is reports whether target is ErrFork.
func (e *ForkError) Is(target error) bool { return target == ErrFork }

// Errors of Ingest beside a *GapError.
var (
	// ErrFork matches every *ForkError.
	ErrFork = errors.New("server: the journal forked")
	// ErrEpochOwned is matched by Ingest's error for an epoch that
	// another device uploaded first.
	ErrEpochOwned = errors.New("server: the epoch belongs to another device")
	// ErrUnknownBranch is matched by Ingest's error for a Branch the store
	// does not know as a fork of the batch's device and epoch.
	ErrUnknownBranch = errors.New("server: no such branch of the epoch")
	// ErrBusy is matched by Ingest's error for an expected, short
	// condition of the store (a site being moved): answered 503 like any
	// other failure, but logged as expected, not as an error.
	ErrBusy = errors.New("server: the store is busy; retry")
	// ErrSiteFixed matches every *SiteError.
	ErrSiteFixed = errors.New("server: the terminal's passages are kept at another site")
)

// SiteError refuses a batch of a terminal whose registered site (Site)
// is not the one its passages are kept at (Kept, fixed at its first
// upload): the same upload is refused until one of them changes.
type SiteError struct {
	Site, Kept string
}

func (e *SiteError) Error() string {
	return fmt.Sprintf("server: the terminal is registered at site %q but its passages are kept at site %q", e.Site, e.Kept)
}

// Is reports whether target is ErrSiteFixed.
func (e *SiteError) Is(target error) bool { return target == ErrSiteFixed }

// ErrGap matches (errors.Is) every *GapError.
var ErrGap = errors.New("server: gap")

// Is reports whether target is ErrGap.
func (e *GapError) Is(target error) bool { return target == ErrGap }

// Admit decides, inside a Store's transaction, what of recs to store given
// the current mark: a *GapError when recs start past mark+1, unless they
// are Salvaged, in which case all are kept and the first gets BreakLost;
// otherwise the records past the mark (possibly none), the first of which
// gets BreakMark when it does not link to mark.Hash (mark.Seq > 0). recs
// must come from the Handler (contiguous, hashed). The slice returned
// shares recs' backing array; Admit sets Break on a copy.
func Admit(mark Mark, recs []Record) ([]Record, error) {
	if len(recs) == 0 {
		return nil, nil
	}
	first := recs[0].Seq
	if first > mark.Seq+1 {
		if !recs[0].Salvaged {
			return nil, &GapError{Mark: mark.Seq, First: first}
		}
		out := make([]Record, len(recs))
		copy(out, recs)
		lost := fmt.Sprintf(BreakLost, mark.Seq+1, first-1)
		if out[0].Break != "" {
			lost += "; " + out[0].Break
		}
		out[0].Break = lost
		return out, nil
	}
	skip := int(mark.Seq + 1 - first)
	if skip >= len(recs) {
		return nil, nil
	}
	kept := recs[skip:]
	if mark.Seq > 0 && kept[0].Rec != nil && kept[0].Rec.Prev != mark.Hash && kept[0].Break == "" {
		out := make([]Record, len(kept))
		copy(out, kept)
		out[0].Break = BreakMark
		return out, nil
	}
	return kept, nil
}
