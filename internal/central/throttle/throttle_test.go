package throttle

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a settable clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// forbid answers every request as an unknown enrolment token.
var forbid = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	http.Error(w, "token unknown", http.StatusForbidden)
})

func newThrottle(t *testing.T, opts Options) (*Throttle, *clock, *bytes.Buffer) {
	t.Helper()
	c := &clock{t: time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)}
	var log bytes.Buffer
	opts.Now = c.now
	opts.Logger = slog.New(slog.NewTextHandler(&log, nil))
	return New(opts), c, &log
}

func do(h http.Handler, remote string) *httptest.ResponseRecorder {
	r := httptest.NewRequest("POST", "/v1/enrol", nil)
	r.RemoteAddr = remote
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

var countRE = regexp.MustCompile(`count=(\d+)`)

// counts returns the count of every refusal line in log.
func counts(log string) []int {
	var out []int
	for _, m := range countRE.FindAllStringSubmatch(log, -1) {
		n, _ := strconv.Atoi(m[1])
		out = append(out, n)
	}
	return out
}

// TestTokenGuessing: 2,000 guesses in one second from one address are
// mostly refused for the rate, and logged as one line at once and one
// line with the count a minute later.
func TestTokenGuessing(t *testing.T) {
	th, c, log := newThrottle(t, Options{Listener: "enrol", Rate: 1, Burst: 10})
	h := th.Handler(forbid)
	got := map[int]int{}
	for i := range 2000 {
		w := do(h, "203.0.113.7:"+strconv.Itoa(40000+i%1000))
		got[w.Code]++
		if i%4 == 3 {
			c.add(2 * time.Millisecond) // 2,000 a second
		}
	}
	if got[http.StatusForbidden] > 12 || got[http.StatusForbidden] < 10 {
		t.Errorf("got %d guesses through to the handler, want the burst of 10 (+1 per second)", got[http.StatusForbidden])
	}
	if got[http.StatusTooManyRequests] < 1980 {
		t.Errorf("got %d answers 429, want the rest", got[http.StatusTooManyRequests])
	}
	if n := counts(log.String()); len(n) != 1 || n[0] != 1 {
		t.Fatalf("after a second of guessing got log counts %v, want one line of count 1:\n%s", n, log)
	}
	if !strings.Contains(log.String(), "source=203.0.113.7") || !strings.Contains(log.String(), "listener=enrol") {
		t.Errorf("the log line does not name the source and listener:\n%s", log)
	}
	th.Sweep() // within the minute: nothing new
	if n := counts(log.String()); len(n) != 1 {
		t.Fatalf("a sweep within the minute logged: %v", n)
	}
	c.add(time.Minute)
	th.Sweep()
	n := counts(log.String())
	if len(n) != 2 || n[1] != 1999 {
		t.Fatalf("a minute later got log counts %v, want [1 1999]:\n%s", n, log)
	}
	if !strings.Contains(log.String(), "status.429=") || !strings.Contains(log.String(), "status.403=") {
		t.Errorf("the summary does not count by status:\n%s", log)
	}
	th.Sweep()
	if n := counts(log.String()); len(n) != 2 {
		t.Errorf("a sweep with nothing pending logged: %v", n)
	}
}

// TestRetryAfter: a refusal for the rate says when to come back, in JSON
// that enrolment clients read.
func TestRetryAfter(t *testing.T) {
	th, c, _ := newThrottle(t, Options{Listener: "enrol", Rate: 0.5, Burst: 1})
	h := th.Handler(forbid)
	if w := do(h, "198.51.100.1:1"); w.Code != http.StatusForbidden {
		t.Fatalf("first request: got %d, want the handler's 403", w.Code)
	}
	w := do(h, "198.51.100.1:2")
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") != "2" {
		t.Fatalf("second request: got %d Retry-After %q, want 429 and 2", w.Code, w.Header().Get("Retry-After"))
	}
	var body struct{ Code, Message string }
	if err := json.Unmarshal(w.Body.Bytes(), &body); err != nil || body.Code != "rate-limited" || !strings.Contains(body.Message, "wait 2 s") {
		t.Errorf("got body %q (%v), want code rate-limited and the wait in words", w.Body, err)
	}
	c.add(2 * time.Second)
	if w := do(h, "198.51.100.1:3"); w.Code != http.StatusForbidden {
		t.Errorf("after the wait: got %d, want the handler's answer", w.Code)
	}
}

// TestSourcesApart: one address's flood does not limit another, and an
// IPv6 /64 counts as one source.
func TestSourcesApart(t *testing.T) {
	ok := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})
	th, _, log := newThrottle(t, Options{Listener: "ops", Rate: 1, Burst: 2})
	h := th.Handler(ok)
	for range 5 {
		do(h, "203.0.113.7:1")
	}
	if w := do(h, "203.0.113.8:1"); w.Code != http.StatusOK {
		t.Errorf("another address: got %d, want 200", w.Code)
	}
	do(h, "[2001:db8:1:2::1]:443")
	do(h, "[2001:db8:1:2::ffff]:443")
	if w := do(h, "[2001:db8:1:2:aaaa::1]:443"); w.Code != http.StatusTooManyRequests {
		t.Errorf("third request from one /64: got %d, want 429", w.Code)
	}
	if w := do(h, "[2001:db8:1:3::1]:443"); w.Code != http.StatusOK {
		t.Errorf("another /64: got %d, want 200", w.Code)
	}
	if !strings.Contains(log.String(), "source=2001:db8:1:2::/64") {
		t.Errorf("the log does not name the /64:\n%s", log)
	}
	if strings.Contains(log.String(), "203.0.113.8") {
		t.Errorf("an answered request was logged as refused:\n%s", log)
	}
}

// TestBoundedSources: a flood from many addresses keeps the table bounded;
// the newcomers share one bucket, and idle sources are forgotten.
func TestBoundedSources(t *testing.T) {
	th, c, _ := newThrottle(t, Options{Listener: "enrol", Rate: 1, Burst: 1, MaxSources: 10})
	h := th.Handler(forbid)
	for i := range 1000 {
		do(h, "10.0."+strconv.Itoa(i/256)+"."+strconv.Itoa(i%256)+":1")
	}
	th.mu.Lock()
	n := len(th.sources)
	th.mu.Unlock()
	if n > 11 {
		t.Errorf("got %d sources in the table, want at most 10 and the shared one", n)
	}
	c.add(2 * time.Minute)
	th.Sweep()
	c.add(2 * time.Minute)
	th.Sweep()
	th.mu.Lock()
	n = len(th.sources)
	th.mu.Unlock()
	if n != 0 {
		t.Errorf("got %d sources after they went idle, want 0", n)
	}
	if w := do(h, "10.9.9.9:1"); w.Code != http.StatusForbidden {
		t.Errorf("a new source after the sweep: got %d, want its own bucket", w.Code)
	}
}

func TestSource(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1:443":          "192.0.2.1",
		"[::ffff:192.0.2.1]:443": "192.0.2.1",
		"[2001:db8::1]:443":      "2001:db8::/64",
		"[fe80::1%eth0]:443":     "fe80::/64",
		"not an address":         "not an address",
	} {
		if got := Source(in); got != want {
			t.Errorf("Source(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFlush: refusals still counted when the listener stops are logged.
func TestFlush(t *testing.T) {
	th, _, log := newThrottle(t, Options{Listener: "enrol", Rate: 100, Burst: 100})
	h := th.Handler(forbid)
	for range 5 {
		do(h, "192.0.2.1:1")
	}
	th.Flush()
	if n := counts(log.String()); len(n) != 2 || n[0] != 1 || n[1] != 4 {
		t.Errorf("got log counts %v, want [1 4]:\n%s", n, log)
	}
	th.Flush()
	if n := counts(log.String()); len(n) != 2 {
		t.Errorf("a second flush logged again: %v", n)
	}
}
