package scanner

import (
	"context"
	"crypto/sha256"
	"time"
)

// DefaultDedupWindow is how long a code is remembered by default.
const DefaultDedupWindow = 2 * time.Second

// dedupMemory is how many distinct recent codes a Dedup remembers.
const dedupMemory = 16

// DedupConfig configures a Dedup.
type DedupConfig struct {
	// Window is how long a code is remembered after it was last read; zero
	// means DefaultDedupWindow.
	Window time.Duration
	// Now returns the current time; nil means time.Now.
	Now func() time.Time
}

// Dedup wraps a Source so that a code read again within the window is
// reported once. The window restarts at each repeated read, so a phone held
// in front of a scanner that keeps reading it passes once, however long it
// is held. It remembers the last 16 distinct codes by their SHA-256, never
// their text.
type Dedup struct {
	src    Source
	window time.Duration
	now    func() time.Time

	recent [dedupMemory]seen // guarded by being used by Next only
	next   int
}

type seen struct {
	sum [sha256.Size]byte
	at  time.Time
}

var _ Source = (*Dedup)(nil)

// NewDedup returns src with repeated codes removed.
func NewDedup(src Source, c DedupConfig) *Dedup {
	d := &Dedup{src: src, window: c.Window, now: c.Now}
	if d.window <= 0 {
		d.window = DefaultDedupWindow
	}
	if d.now == nil {
		d.now = time.Now
	}
	return d
}

// Next returns the next code that was not read within the window. Errors
// of the wrapped source pass through. Next must not be called concurrently.
func (d *Dedup) Next(ctx context.Context) (Code, error) {
	for {
		c, err := d.src.Next(ctx)
		if err != nil {
			return c, err
		}
		if d.fresh(c.Text, d.now()) {
			return c, nil
		}
	}
}

// fresh remembers text at now and reports whether it was not seen within
// the window.
func (d *Dedup) fresh(text []byte, now time.Time) bool {
	sum := sha256.Sum256(text)
	for i := range d.recent {
		r := &d.recent[i]
		if r.at.IsZero() || r.sum != sum {
			continue
		}
		dup := now.Sub(r.at) < d.window && !now.Before(r.at)
		r.at = now
		return !dup
	}
	d.recent[d.next] = seen{sum: sum, at: now}
	d.next = (d.next + 1) % dedupMemory
	return true
}

// Status reports the wrapped source's status.
func (d *Dedup) Status() Status { return d.src.Status() }

// Close closes the wrapped source.
func (d *Dedup) Close() error { return d.src.Close() }
