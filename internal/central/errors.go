package central

import (
	"errors"
	"fmt"
)

// Errors returned by stores.
var (
	// ErrMalformed is wrapped by errors for a batch refused whole: an empty
	// device name, a sequence number 0, a batch that is not contiguous and
	// ascending, a record without stored bytes or time.
	ErrMalformed = errors.New("central: malformed batch")
	// ErrClosed is returned by a store after Close.
	ErrClosed = errors.New("central: store closed")
)

// GapError refuses a batch that would leave a gap after the high-water
// mark: the terminal must resend from HighWater+1.
type GapError struct {
	Device    string
	Epoch     Epoch
	HighWater uint64 // the mark the store holds
	First     uint64 // the first sequence number of the refused batch
}

func (e *GapError) Error() string {
	return fmt.Sprintf("central: ingest %s/%s: batch starts at %d but the store holds up to %d: resend from %d",
		e.Device, e.Epoch, e.First, e.HighWater, e.HighWater+1)
}

// Validate checks a batch before any store touches it; it returns an error
// wrapping ErrMalformed.
func Validate(device string, recs []Record) error {
	if device == "" {
		return fmt.Errorf("%w: empty device name", ErrMalformed)
	}
	for i := range recs {
		r := &recs[i]
		switch {
		case r.Seq == 0:
			return fmt.Errorf("%w: record %d has sequence number 0", ErrMalformed, i)
		case i > 0 && r.Seq != recs[i-1].Seq+1:
			return fmt.Errorf("%w: record %d has sequence number %d after %d: a batch must be contiguous", ErrMalformed, i, r.Seq, recs[i-1].Seq)
		case len(r.Stored) == 0:
			return fmt.Errorf("%w: record %d (seq %d) has no stored bytes", ErrMalformed, i, r.Seq)
		case r.Time.IsZero():
			return fmt.Errorf("%w: record %d (seq %d) has no time", ErrMalformed, i, r.Seq)
		}
	}
	return nil
}

// Plan applies the exactly-once rule to a validated batch against the mark
// hw: it returns the records to store (those above hw) and the new mark, or
// a *GapError.
func Plan(device string, epoch Epoch, hw uint64, recs []Record) ([]Record, uint64, error) {
	if len(recs) == 0 {
		return nil, hw, nil
	}
	if first := recs[0].Seq; first > hw+1 {
		return nil, hw, &GapError{Device: device, Epoch: epoch, HighWater: hw, First: first}
	}
	skip := hw + 1 - recs[0].Seq
	if skip >= uint64(len(recs)) {
		return nil, hw, nil
	}
	rest := recs[skip:]
	return rest, rest[len(rest)-1].Seq, nil
}
