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
