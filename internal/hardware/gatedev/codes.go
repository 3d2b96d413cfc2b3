package gatedev

import (
	"context"
	"errors"

	"sentinel/device/scanner"
	"sentinel/internal/gate"
)

// Codes is a scanner.Source as the gate consumes it: a scanner, a
// hardware.CameraSource, or either behind scanner.Dedup.
type Codes struct {
	src scanner.Source
}

var _ gate.CodeSource = (*Codes)(nil)

// NewCodes returns src as a gate.CodeSource.
func NewCodes(src scanner.Source) *Codes { return &Codes{src: src} }

// Next returns the next code src reads. Its errors keep the scanner's
// words and also match the gate's: scanner.ErrClosed matches
// gate.ErrSourceClosed, a *scanner.LineTooLongError matches
// gate.ErrCodeTooLong. io.EOF (a replay's end) passes through as is.
func (c *Codes) Next(ctx context.Context) (gate.Code, error) {
	code, err := c.src.Next(ctx)
	if err != nil {
		return gate.Code{Source: code.Source}, gateError(err)
	}
	return gate.Code{Text: code.Text, Source: code.Source, At: code.At}, nil
}

// Close closes src.
func (c *Codes) Close() error { return c.src.Close() }

// gateError returns err matching the gate's sentinel for it, if any.
func gateError(err error) error {
	var tooLong *scanner.LineTooLongError
	switch {
	case errors.Is(err, scanner.ErrClosed):
		return &codeError{err: err, gate: gate.ErrSourceClosed}
	case errors.As(err, &tooLong):
		return &codeError{err: err, gate: gate.ErrCodeTooLong}
	}
	return err
}

// codeError is a scanner's error that also matches a gate sentinel. Its
// message is the scanner's, which says what to check.
type codeError struct {
	err  error // the scanner's
	gate error // the gate's sentinel
}

func (e *codeError) Error() string   { return e.err.Error() }
func (e *codeError) Unwrap() []error { return []error{e.err, e.gate} }
