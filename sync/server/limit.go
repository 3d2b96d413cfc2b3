package server

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// limiter is a token bucket per device (golang.org/x/time/rate): rate
// requests a second, bursts of burst. Upload and health reports each keep
// one. Devices are enrolled, so the map is bounded by the fleet.
type limiter struct {
	rate  rate.Limit
	burst int

	mu      sync.Mutex
	buckets map[string]*rate.Limiter
}

func newLimiter(r float64, burst int) *limiter {
	return &limiter{rate: rate.Limit(r), burst: burst, buckets: make(map[string]*rate.Limiter)}
}

// take spends a token of device's bucket at now, or returns how long to
// wait for one (and spends nothing).
func (l *limiter) take(device string, now time.Time) time.Duration {
	l.mu.Lock()
	b := l.buckets[device]
	if b == nil {
		b = rate.NewLimiter(l.rate, l.burst)
		l.buckets[device] = b
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
