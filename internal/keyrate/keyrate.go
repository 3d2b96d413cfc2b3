// Package keyrate limits requests per key (an enrolled device, a source
// address) with a token bucket for each key, from golang.org/x/time/rate,
// and says how long a refused request should wait: the Retry-After that
// the centre's listeners send.
//
// The package is a leaf: the sync server's per-device limits and the
// centre's per-source throttle share it.
//
// # Caveats
//
// A Limiter keeps a bucket for every key it has seen until Forget: a
// caller whose keys are not bounded (addresses on the internet) forgets
// the idle ones itself.
package keyrate

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Limiter holds a token bucket per key: Rate tokens a second, at most
// Burst at once. It is safe for concurrent use.
type Limiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

// New returns a Limiter of r requests a second per key with bursts of
// burst (at least 1). A rate of 0 limits nothing.
func New(r rate.Limit, burst int) *Limiter {
	return &Limiter{rate: r, burst: max(burst, 1), buckets: make(map[string]*rate.Limiter)}
}

// Take spends a token of key's bucket at now and returns 0, or returns
// how long to wait for one and spends nothing.
func (l *Limiter) Take(key string, now time.Time) time.Duration {
	if l.rate == 0 {
		return 0
	}
	l.mu.Lock()
	b := l.buckets[key]
	if b == nil {
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[key] = b
	}
	l.mu.Unlock()
	res := b.ReserveN(now, 1)
	if !res.OK() {
		return time.Second
	}
	if d := res.DelayFrom(now); d > 0 {
		res.CancelAt(now)
		return d
	}
	return 0
}

// Forget drops key's bucket: its next request starts with a full one.
func (l *Limiter) Forget(key string) {
	l.mu.Lock()
	delete(l.buckets, key)
	l.mu.Unlock()
}

// Len returns the number of keys with a bucket.
func (l *Limiter) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.buckets)
}
