package journal

import (
	"errors"
	"fmt"
)

// Errors returned by the journal.
var (
	// ErrClosed is returned by Append and Ack after Close.
	ErrClosed = errors.New("journal: closed")
	// ErrInvalidPassage is returned by Append for a passage that breaks the
	// journal's limits (see Passage); the gate should treat it as a bug.
	ErrInvalidPassage = errors.New("journal: invalid passage")
	// ErrMalformed is returned by DecodeRecord and DecodeWrappedKey for
	// bytes that are not a well-formed, canonical record of a known version.
	ErrMalformed = errors.New("journal: malformed record")
	// ErrEpoch is returned by Ack for an epoch other than the journal's.
	ErrEpoch = errors.New("journal: acknowledgement for another epoch")
	// ErrAckAhead is returned by Ack for a sequence number not yet written.
	ErrAckAhead = errors.New("journal: acknowledgement beyond the last record")
	// ErrNoKey is returned by an Opener that does not hold the data key a
	// record was sealed with.
	ErrNoKey = errors.New("journal: data key unknown to this opener")
	// ErrSealed is returned by an Opener whose key cannot open a wrapped
	// data key or a record's sealed fields (wrong key or tampered bytes).
	ErrSealed = errors.New("journal: sealed fields do not open")
	// ErrUnavailable matches (errors.Is) every *UnavailableError: a passage
	// that could not be committed.
	ErrUnavailable = errors.New("journal: passage not recorded")
	// ErrCorrupt is wrapped by errors about a journal file that bbolt cannot
	// open or whose contents are inconsistent.
	ErrCorrupt = errors.New("journal: file corrupt")
)

// UnavailableError is returned by Append when the passage could not be
// committed (disk full, I/O error). The passage is not in the journal: the
// gate must stay shut and the guard switch to the manual procedure.
type UnavailableError struct {
	Err error // the cause from bbolt or the file system
}

func (e *UnavailableError) Error() string {
	return fmt.Sprintf("journal: passage not recorded, keep the gate shut and use the manual procedure: %v", e.Err)
}

func (e *UnavailableError) Unwrap() error { return e.Err }

// Is reports whether target is ErrUnavailable.
func (e *UnavailableError) Is(target error) bool { return target == ErrUnavailable }
