// Package backoff is the capped exponential delay between the attempts of
// something that fails while the world is away: the sync client's requests
// to an unreachable centre, a scanner's reopen of an unplugged device.
//
// It is a leaf: it imports only the standard library, so that the devices
// and the sync layer share it without importing each other.
package backoff

import "time"

// Backoff is the delay after n consecutive failures: Min·2^(n-1), capped
// at Max. With Rand set, the upper half of that delay is jitter, so that
// terminals that lost the centre together do not return in step. The zero
// value is not ready: set Min and Max (Max < Min counts as Min).
type Backoff struct {
	Min, Max time.Duration
	// Rand returns a number in [0, 1): a delay d becomes d/2 + Rand()·d/2.
	// Nil: no jitter, the delays are exact.
	Rand func() float64

	n int // consecutive failures
}

// Next counts a failure and returns the delay before the next attempt.
func (b *Backoff) Next() time.Duration {
	b.n++
	return b.Delay(b.n)
}

// Delay returns the delay after n consecutive failures (n ≥ 1) without
// counting one.
func (b *Backoff) Delay(n int) time.Duration {
	hi := max(b.Max, b.Min)
	d := hi
	if n < 1 {
		n = 1
	}
	if n < 63 && b.Min > 0 {
		if s := b.Min << (n - 1); s > 0 && s>>(n-1) == b.Min { // no overflow
			d = min(hi, s)
		}
	}
	if b.Rand == nil {
		return d
	}
	return d/2 + time.Duration(b.Rand()*float64(d/2))
}

// Failures returns the consecutive failures counted since the last Reset.
func (b *Backoff) Failures() int { return b.n }

// Reset starts again at Min after a success.
func (b *Backoff) Reset() { b.n = 0 }
