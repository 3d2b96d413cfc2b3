package central

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
	"time"
)

// Fork is a place where a device's journal went two ways: the centre holds
// one copy of Epoch up to Mark, and a batch carried a different record at
// At (a terminal running on a restored backup or a cloned card). The
// records of that other copy, from At on, are stored under Branch, an
// epoch of their own, so that both copies are kept, each exactly once.
type Fork struct {
	Epoch   Epoch     // the epoch (or earlier branch) in which the copies differ
	Journal Epoch     // the journal epoch the records carry (Epoch unless Epoch is itself a branch)
	At      uint64    // the first sequence number at which they differ
	Mark    uint64    // the centre's mark of Epoch when the fork was found
	Branch  Epoch     // where the other copy's records from At on are stored
	Found   time.Time // when the centre found it
}

// ForkBranch returns the branch epoch of the copy of epoch whose record at
// seq at has the stored bytes stored: the same fork found twice (an answer
// lost, a retry) names the same branch, and two clones that differ at the
// same place name two.
func ForkBranch(epoch Epoch, at uint64, stored []byte) Epoch {
	sum := sha256.Sum256(stored)
	h := sha256.New()
	h.Write([]byte("sentinel/fork v1"))
	h.Write(epoch[:])
	h.Write(binary.BigEndian.AppendUint64(nil, at))
	h.Write(sum[:])
	var b Epoch
	copy(b[:], h.Sum(nil))
	return b
}

// Errors of an ingest that conflicts with what the store holds.
var (
	// ErrFork matches a *ForkError.
	ErrFork = errors.New("central: the batch forks from the records stored")
	// ErrEpochOwned matches an *EpochOwnerError.
	ErrEpochOwned = errors.New("central: the epoch belongs to another device")
	// ErrBusy is wrapped by the error of an ingest refused for an
	// expected, short condition of the store (a site being moved to
	// another cluster): the device's next upload overcomes it.
	ErrBusy = errors.New("central: the store is busy; retry")
	// ErrSiteFixed matches a *SiteFixedError.
	ErrSiteFixed = errors.New("central: the device's passages are kept at another site")
)

// ForkError refuses a batch holding a record at or below the mark that
// differs from the record stored at the same (device, epoch, seq). Nothing
// of the batch is stored; the store has recorded Fork, and the device
// must send its records from Fork.At on under Fork.Branch.
type ForkError struct {
	Device string
	Fork   Fork
}

func (e *ForkError) Error() string {
	return fmt.Sprintf("central: ingest %s/%s: record %d differs from the one stored (the centre holds up to %d): the journal forked; send from %d under branch %s",
		e.Device, e.Fork.Epoch, e.Fork.At, e.Fork.Mark, e.Fork.At, e.Fork.Branch)
}

// Is reports whether target is ErrFork.
func (e *ForkError) Is(target error) bool { return target == ErrFork }

// EpochOwnerError refuses a batch for an epoch that another device
// uploaded first: an epoch belongs to one device. Nothing is stored.
type EpochOwnerError struct {
	Device string
	Epoch  Epoch
	Owner  string
}

func (e *EpochOwnerError) Error() string {
	return fmt.Sprintf("central: ingest %s/%s: the epoch belongs to device %s: nothing stored", e.Device, e.Epoch, e.Owner)
}

// Is reports whether target is ErrEpochOwned.
func (e *EpochOwnerError) Is(target error) bool { return target == ErrEpochOwned }

// SiteFixedError refuses a batch whose records name another site than
// the one the device's passages are kept at: a device's site is fixed at
// its first upload (a store spread by site keeps all of a device's
// passages with its site). Nothing is stored, and the same upload is
// refused again until the device's enrolment names Kept again.
type SiteFixedError struct {
	Device string
	Site   string // the site the records name (the device's enrolment now)
	Kept   string // the site the device's passages are kept at
}

func (e *SiteFixedError) Error() string {
	return fmt.Sprintf("central: ingest %s: the terminal is registered at site %q, but its passages are kept at site %q (its site at its first upload), on that site's cluster: nothing stored",
		e.Device, e.Site, e.Kept)
}

// Is reports whether target is ErrSiteFixed.
func (e *SiteFixedError) Is(target error) bool { return target == ErrSiteFixed }

// FindFork compares the records of a validated batch at or below the
// mark with those stored; stored returns the stored bytes of a seq, false
// when the store no longer holds it (retention purged it). It returns the
// seq of the first record that differs and its stored bytes in the batch,
// or 0. Salvaged records are not compared (the stored copy was uploaded
// whole).
//
// A run of records the store no longer holds is judged by the chain: it
// matches when the batch links through it (no Break) to a held record
// that matches, or to the mark's own hash; when it differs, or cannot be
// judged within the batch while the batch's records carry their Hash,
// the fork is put at the run's start, so that a restored copy loses
// nothing (at worst, records the centre purged come back under the
// branch). Records without a Hash (a plain Ingest) cannot be judged and
// count as matching, as before.
func FindFork(mark Link, recs []Record, stored func(seq uint64) ([]byte, bool, error)) (uint64, []byte, error) {
	run, last := -1, -1                 // the first record of a run the store no longer holds; the last record at or below the mark
	linked := func(from, to int) bool { // recs from+1..to each link to the one before
		for k := from + 1; k <= to; k++ {
			if recs[k].Break != "" {
				return false
			}
		}
		return true
	}
	for i := range recs {
		r := &recs[i]
		if r.Seq > mark.Seq {
			break
		}
		last = i
		if r.Salvaged {
			continue
		}
		b, ok, err := stored(r.Seq)
		if err != nil {
			return 0, nil, err
		}
		switch {
		case !ok:
			if run < 0 {
				run = i
			}
		case !bytes.Equal(b, r.Stored):
			if run >= 0 {
				return recs[run].Seq, recs[run].Stored, nil
			}
			return r.Seq, r.Stored, nil
		case run >= 0:
			if !linked(run, i) {
				return recs[run].Seq, recs[run].Stored, nil
			}
			run = -1
		}
	}
	if run < 0 {
		return 0, nil, nil
	}
	l := &recs[last]
	switch {
	case l.Hash == [32]byte{}:
		return 0, nil, nil // nothing to judge by
	case l.Seq == mark.Seq && mark.Hash != [32]byte{} && l.Hash == mark.Hash && linked(run, last):
		return 0, nil, nil
	}
	return recs[run].Seq, recs[run].Stored, nil
}

// NewFork returns the fork that a batch for epoch (whose records carry
// journal) makes at seq at with stored bytes stored, found at now against
// the mark.
func NewFork(epoch, journal Epoch, at, mark uint64, stored []byte, now time.Time) Fork {
	return Fork{Epoch: epoch, Journal: journal, At: at, Mark: mark, Branch: ForkBranch(epoch, at, stored), Found: now.UTC()}
}

// AppendFork encodes f for a store: epoch, journal, branch (16 bytes
// each), at, mark and found (Unix nanoseconds), 8 bytes big-endian each.
func AppendFork(b []byte, f *Fork) []byte {
	b = append(b, f.Epoch[:]...)
	b = append(b, f.Journal[:]...)
	b = append(b, f.Branch[:]...)
	b = binary.BigEndian.AppendUint64(b, f.At)
	b = binary.BigEndian.AppendUint64(b, f.Mark)
	return binary.BigEndian.AppendUint64(b, uint64(f.Found.UnixNano()))
}

// DecodeFork decodes AppendFork's encoding.
func DecodeFork(b []byte) (Fork, error) {
	var f Fork
	if len(b) != 3*16+3*8 {
		return f, fmt.Errorf("central: fork record of %d bytes, want %d", len(b), 3*16+3*8)
	}
	copy(f.Epoch[:], b[0:16])
	copy(f.Journal[:], b[16:32])
	copy(f.Branch[:], b[32:48])
	f.At = binary.BigEndian.Uint64(b[48:])
	f.Mark = binary.BigEndian.Uint64(b[56:])
	f.Found = time.Unix(0, int64(binary.BigEndian.Uint64(b[64:]))).UTC()
	return f, nil
}

// SortForks orders forks as Device.Forks holds them: by the time found,
// then epoch and seq.
func SortForks(fs []Fork) {
	slices.SortFunc(fs, func(a, b Fork) int {
		return cmp.Or(a.Found.Compare(b.Found), bytes.Compare(a.Epoch[:], b.Epoch[:]), cmp.Compare(a.At, b.At))
	})
}
