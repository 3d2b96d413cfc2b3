package throttle

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"slices"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"sentinel/internal/keyrate"
)

// Defaults of Options.
const (
	DefaultLogEvery   = time.Minute
	DefaultMaxSources = 10000
)

// overflow is the key the sources share once the table is full.
const overflow = "(too many sources)"

// Options configure a Throttle.
type Options struct {
	// Listener names the listener in the log and in the answer ("enrol",
	// "ops").
	Listener string
	// Rate is the sustained number of requests a second one source may
	// make, Burst how many it may make at once. Rate 0 refuses nothing
	// for the rate (refusals are still logged).
	Rate  rate.Limit
	Burst int
	// LogEvery is the least time between two log lines about one source's
	// refusals (DefaultLogEvery).
	LogEvery time.Duration
	// MaxSources bounds the table of sources (DefaultMaxSources).
	MaxSources int
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger gets the refusals (discarded when nil).
	Logger *slog.Logger
}

// Throttle is a per-source rate limit and refusal log in front of a
// handler. It is safe for concurrent use.
type Throttle struct {
	opts   Options
	logger *slog.Logger

	limit *keyrate.Limiter // a bucket per entry of sources

	mu      sync.Mutex
	sources map[string]*source
}

// source is what the Throttle remembers of one address.
type source struct {
	key  string    // of its bucket in Throttle.limit: the address, or overflow
	seen time.Time // the last request
	// logged is when the last refusal line was written (zero: never);
	// pending counts the refusals since, by status.
	logged  time.Time
	first   time.Time // the first pending refusal
	pending map[int]int
}

// New returns a Throttle with opts.
func New(opts Options) *Throttle {
	if opts.LogEvery <= 0 {
		opts.LogEvery = DefaultLogEvery
	}
	if opts.MaxSources <= 0 {
		opts.MaxSources = DefaultMaxSources
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Burst < 1 {
		opts.Burst = 1
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Throttle{opts: opts, logger: logger, limit: keyrate.New(opts.Rate, opts.Burst), sources: make(map[string]*source)}
}

// refusal is the JSON body of a 429, in the shape both enrolment
// (enrol.Refusal) and the operator API answer with.
type refusal struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Handler returns next behind the limit: a source over its rate gets 429
// with Retry-After, and every refusal is counted and logged.
func (t *Throttle) Handler(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := Source(r.RemoteAddr)
		if wait := t.take(key); wait > 0 {
			secs := int((wait + time.Second - 1) / time.Second)
			w.Header().Set("Retry-After", strconv.Itoa(secs))
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			json.NewEncoder(w).Encode(refusal{
				Code:    "rate-limited",
				Message: fmt.Sprintf("too many requests from %s: wait %d s and try again", key, secs),
			})
			t.refused(key, http.StatusTooManyRequests)
			return
		}
		sw := &statusWriter{ResponseWriter: w}
		next.ServeHTTP(sw, r)
		if sw.status >= 400 && sw.status < 500 {
			t.refused(key, sw.status)
		}
	})
}

// take spends a token of key's bucket, or returns how long until one is
// due.
func (t *Throttle) take(key string) time.Duration {
	now := t.opts.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.source(key, now)
	s.seen = now
	return t.limit.Take(s.key, now)
}

// source returns key's entry, making one; the caller holds t.mu.
func (t *Throttle) source(key string, now time.Time) *source {
	if s := t.sources[key]; s != nil {
		return s
	}
	if len(t.sources) >= t.opts.MaxSources {
		t.sweep(now)
		if len(t.sources) >= t.opts.MaxSources {
			key = overflow
			if s := t.sources[key]; s != nil {
				return s
			}
		}
	}
	s := &source{key: key, seen: now}
	t.sources[key] = s
	return s
}

// refused counts a refusal of key and logs it when its source's minute is
// up.
func (t *Throttle) refused(key string, status int) {
	now := t.opts.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	s := t.source(key, now)
	if s.pending == nil {
		s.pending = make(map[int]int)
	}
	if len(s.pending) == 0 {
		s.first = now
	}
	s.pending[status]++
	if s.logged.IsZero() || now.Sub(s.logged) >= t.opts.LogEvery {
		t.log(key, s, now)
	}
}

// log writes key's pending refusals as one line; the caller holds t.mu.
func (t *Throttle) log(key string, s *source, now time.Time) {
	n := 0
	statuses := make([]any, 0, 2*len(s.pending))
	for _, st := range slices.Sorted(maps.Keys(s.pending)) {
		n += s.pending[st]
		statuses = append(statuses, strconv.Itoa(st), s.pending[st])
	}
	t.logger.Warn("requests refused",
		"listener", t.opts.Listener, "source", key, "count", n,
		slog.Group("status", statuses...), "since", s.first)
	clear(s.pending)
	s.logged = now
}

// Sweep logs the refusals whose minute is up and forgets the sources that
// have been idle long enough to have a full bucket and nothing to log.
// Call it on a timer (every LogEvery or so).
func (t *Throttle) Sweep() {
	now := t.opts.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	t.sweep(now)
}

func (t *Throttle) sweep(now time.Time) {
	idle := t.opts.LogEvery
	if t.opts.Rate > 0 {
		idle = max(idle, time.Duration(float64(t.opts.Burst)/float64(t.opts.Rate)*float64(time.Second)))
	}
	for key, s := range t.sources {
		if len(s.pending) > 0 && now.Sub(s.logged) >= t.opts.LogEvery {
			t.log(key, s, now)
		}
		if len(s.pending) == 0 && now.Sub(s.seen) >= idle && now.Sub(s.logged) >= t.opts.LogEvery {
			delete(t.sources, key)
			t.limit.Forget(key)
		}
	}
}

// Flush logs every pending refusal now, whether or not its minute is up:
// call it when the listener stops.
func (t *Throttle) Flush() {
	now := t.opts.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for key, s := range t.sources {
		if len(s.pending) > 0 {
			t.log(key, s, now)
		}
	}
}

// Source returns the key of a request's remote address: the IPv4 address,
// or the /64 of an IPv6 address.
func Source(remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	ip = ip.Unmap().WithZone("")
	if ip.Is6() {
		p, _ := ip.Prefix(64)
		return p.String()
	}
	return ip.String()
}

// statusWriter records the status of the answer.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 && code >= 200 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

// Flush lets handlers that stream (exports) flush through the wrapper.
func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap gives http.ResponseController the underlying writer.
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }
