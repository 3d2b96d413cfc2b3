package gate

import (
	"context"
	"log/slog"
	"time"
)

// Code is one code read at a lane.
type Code struct {
	// Text holds the bytes read, without a line terminator. It is not
	// validated: it may be any payload up to the source's line limit.
	Text []byte
	// Source names the scanner or camera that read the code.
	Source string
	// At is when the code was read.
	At time.Time
}

// LogValue reports the code without its payload, which may carry personal
// data and must never reach a log.
func (c Code) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("source", c.Source),
		slog.Int("len", len(c.Text)),
		slog.Time("at", c.At),
	)
}

var _ slog.LogValuer = Code{}

// CodeSource yields the codes read at a lane: a scanner or a camera. The
// gate declares what it consumes; internal/hardware/gatedev adapts the
// device packages' scanners and cameras to it.
type CodeSource interface {
	// Next blocks until a code has been read or ctx is done. It returns an
	// error matching ErrSourceClosed after Close and one matching io.EOF
	// when the source has no more codes (a replay's end): the lane stops
	// reading it then. An error matching ErrCodeTooLong is a line longer
	// than any code, refused like a bad payload; any other error is a read
	// that failed, shown to the guard. After those two, Next is called
	// again.
	Next(ctx context.Context) (Code, error)
	// Close releases the device. A Next in progress returns an error
	// matching ErrSourceClosed.
	Close() error
}
