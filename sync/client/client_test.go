package client_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"sentinel/sync/client"
	"sentinel/sync/journal"
	"sentinel/sync/protocol"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

func TestMain(m *testing.M) {
	servertest.RefuseNonLoopback()
	os.Exit(m.Run())
}

const dev = "gate-1"

type fixture struct {
	j     *journal.Journal
	store *servertest.Mem
	srv   *httptest.Server
	posts atomic.Int64 // requests that reached the handler
}

// newFixture starts a real server on loopback; wrap, when set, wraps its
// handler (to inject faults).
func newFixture(t testing.TB, n int, opts server.Options, wrap func(http.Handler) http.Handler) *fixture {
	t.Helper()
	f := &fixture{j: servertest.Journal(t, n), store: servertest.NewMem()}
	opts.Store, opts.Auth = f.store, servertest.HeaderAuth{}
	if opts.Rate == 0 {
		opts.Rate, opts.Burst = 1e6, 1e6
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h, err := server.New(opts)
	if err != nil {
		t.Fatal(err)
	}
	var hh http.Handler = h
	if wrap != nil {
		hh = wrap(h)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.posts.Add(1)
		hh.ServeHTTP(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fixture) client(t testing.TB, src client.Source, opts client.Options) *client.Client {
	t.Helper()
	if src == nil {
		src = f.j
	}
	opts.URL, opts.Device = f.srv.URL, dev
	if opts.HTTP == nil {
		opts.HTTP = &http.Client{Transport: &servertest.Transport{Device: dev}}
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	c, err := client.New(src, opts)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// check asserts the centre holds records 1..n of the journal exactly, and
// the journal's cursor is n.
func (f *fixture) check(t testing.TB, n int) {
	t.Helper()
	recs := f.store.Records(dev, f.j.Epoch())
	if len(recs) != n {
		t.Fatalf("got %d records at the centre, want %d", len(recs), n)
	}
	want := servertest.Stored(t, f.j, 1, journal.Seq(n))
	for i, r := range recs {
		if r.Seq != journal.Seq(i+1) || !bytes.Equal(r.Stored, want[i]) || r.Break != "" {
			t.Fatalf("record %d: got seq %d, break %q, or other bytes", i+1, r.Seq, r.Break)
		}
	}
	if got, err := f.j.Acked(); err != nil || got != journal.Seq(n) {
		t.Fatalf("got acked %d (%v), want %d", got, err, n)
	}
}

func TestDrain(t *testing.T) {
	f := newFixture(t, 2500, server.Options{}, nil)
	c := f.client(t, nil, client.Options{Batch: 1000})
	if err := c.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.check(t, 2500)
	if got := f.posts.Load(); got != 3 {
		t.Fatalf("got %d requests, want 3", got)
	}
	if got := f.store.Keys(dev, f.j.Epoch()); got < 1 {
		t.Fatalf("got %d data keys at the centre, want at least 1", got)
	}
	// Nothing new: no request.
	if err := c.Drain(t.Context()); err != nil || f.posts.Load() != 3 {
		t.Fatalf("got %v after %d requests, want nil after 3", err, f.posts.Load())
	}
	servertest.Append(t, f.j, 10)
	if err := c.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.check(t, 2510)
}

// forgetful is a journal whose acknowledged cursor was lost.
type forgetful struct{ *journal.Journal }

func (forgetful) Acked() (journal.Seq, error) { return 0, nil }

// A terminal that sends everything again changes nothing at the centre.
func TestReuploadExactlyOnce(t *testing.T) {
	f := newFixture(t, 1200, server.Options{}, nil)
	if err := f.client(t, nil, client.Options{Batch: 500}).Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if err := f.client(t, forgetful{f.j}, client.Options{Batch: 700}).Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.check(t, 1200)
}

// The centre commits but the answer is lost: the cursor does not move,
// the retry stores nothing twice.
func TestResponseLostAfterCommit(t *testing.T) {
	var lose atomic.Int64
	lose.Store(2)
	f := newFixture(t, 600, server.Options{}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if lose.Add(-1) >= 0 {
				h.ServeHTTP(httptest.NewRecorder(), r) // committed
				panic(http.ErrAbortHandler)            // and the connection dropped
			}
			h.ServeHTTP(w, r)
		})
	})
	c := f.client(t, nil, client.Options{Batch: 400})
	for i := range 2 {
		if err := c.Drain(t.Context()); err == nil {
			t.Fatalf("drain %d: got nil, want the lost answer's error", i)
		}
		if acked, _ := f.j.Acked(); acked != 0 {
			t.Fatalf("got acked %d without an answer, want 0", acked)
		}
	}
	if got := f.store.Count(dev, f.j.Epoch()); got != 400 {
		t.Fatalf("got %d records committed, want 400", got)
	}
	if err := c.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.check(t, 600)
}

// The centre holds less than the terminal's cursor says (a restore): the
// gap answer makes the client resume from the centre's mark.
func TestGapResumes(t *testing.T) {
	f := newFixture(t, 900, server.Options{}, nil)
	c := f.client(t, nil, client.Options{Batch: 300})
	if err := c.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	// The centre loses everything (restored from an empty backup).
	f.store = servertest.NewMem()
	h, _ := server.New(server.Options{Store: f.store, Auth: servertest.HeaderAuth{}, Rate: 1e6, Burst: 1e6, Logger: slog.New(slog.DiscardHandler)})
	f.srv.Config.Handler = h
	servertest.Append(t, f.j, 100)
	if err := c.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.check(t, 1000)
}

// A gap the journal cannot fill (the records were purged) is an error.
func TestGapLost(t *testing.T) {
	src := &purged{Journal: servertest.Journal(t, 50), from: 20}
	f := newFixture(t, 1, server.Options{}, nil)
	c := f.client(t, src, client.Options{})
	src.Ack(src.Epoch(), 19)
	err := c.Drain(t.Context())
	if !errors.Is(err, client.ErrLost) {
		t.Fatalf("got %v, want ErrLost", err)
	}
}

// purged is a journal whose records before from are gone.
type purged struct {
	*journal.Journal
	from journal.Seq
}

func (p *purged) Range(from, to journal.Seq, fn func(journal.Seq, []byte) error) error {
	return p.Journal.Range(max(from, p.from), to, fn)
}

// The centre's size limit makes the client send fewer records per request.
func TestOversizedHalves(t *testing.T) {
	f := newFixture(t, 3000, server.Options{MaxRequest: 48 << 10}, nil)
	c := f.client(t, nil, client.Options{Batch: 4096})
	if err := c.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.check(t, 3000)
}

func TestRefusedIsError(t *testing.T) {
	f := newFixture(t, 10, server.Options{}, nil)
	c := f.client(t, nil, client.Options{HTTP: &http.Client{Transport: &servertest.Transport{Device: "gate-2"}}})
	err := c.Drain(t.Context())
	if !errors.Is(err, client.ErrRefused) || !strings.Contains(err.Error(), protocol.CodeIdentity) {
		t.Fatalf("got %v, want ErrRefused with %q", err, protocol.CodeIdentity)
	}
	if f.store.Count(dev, f.j.Epoch()) != 0 {
		t.Fatal("records stored under another device's identity")
	}
}

func TestBacklogDrains(t *testing.T) {
	n := 100_000
	if testing.Short() || raceEnabled {
		n = 10_000 // the race detector makes 100k take 20 s; BenchmarkDrain has the rate
	}
	f := newFixture(t, n, server.Options{}, nil)
	c := f.client(t, nil, client.Options{Batch: 4096})
	if err := c.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	f.check(t, n)
}

// logs collects log records.
type logs struct {
	mu   sync.Mutex
	recs []string
}

func (l *logs) Enabled(context.Context, slog.Level) bool { return true }
func (l *logs) WithAttrs([]slog.Attr) slog.Handler       { return l }
func (l *logs) WithGroup(string) slog.Handler            { return l }
func (l *logs) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	l.mu.Lock()
	l.recs = append(l.recs, b.String())
	l.mu.Unlock()
	return nil
}
func (l *logs) all() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.recs...)
}

// stamps records the (bubble's) time of every request.
type stamps struct {
	mu   sync.Mutex
	at   []time.Time
	base http.RoundTripper
}

func (s *stamps) RoundTrip(r *http.Request) (*http.Response, error) {
	s.mu.Lock()
	s.at = append(s.at, time.Now())
	s.mu.Unlock()
	return s.base.RoundTrip(r)
}

func (s *stamps) gaps() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []time.Duration
	for i := 1; i < len(s.at); i++ {
		out = append(out, s.at[i].Sub(s.at[i-1]).Round(time.Millisecond))
	}
	return out
}

// scripted answers the first statuses in turn (with Retry-After when
// given), then serves.
func scripted(answers []struct {
	status int
	after  string
}) func(http.Handler) http.Handler {
	var mu sync.Mutex
	i := 0
	return func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			k := i
			i++
			mu.Unlock()
			if k < len(answers) {
				if answers[k].after != "" {
					w.Header().Set("Retry-After", answers[k].after)
				}
				w.WriteHeader(answers[k].status)
				return
			}
			h.ServeHTTP(w, r)
		})
	}
}

type answer = struct {
	status int
	after  string
}

// The backoff schedule, Retry-After, logging once and the recovery, in a
// synctest bubble: the server runs outside it on loopback, the client's
// timers inside.
func TestBackoffSchedule(t *testing.T) {
	tests := []struct {
		name    string
		answers []answer
		want    []time.Duration
	}{
		{"capped exponential", []answer{{503, ""}, {503, ""}, {503, ""}, {503, ""}, {503, ""}, {502, ""}},
			[]time.Duration{500 * time.Millisecond, time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second}},
		{"retry-after honoured", []answer{{429, "7"}, {503, "3"}, {503, ""}},
			[]time.Duration{7 * time.Second, 3 * time.Second, 2 * time.Second}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, 20, server.Options{}, scripted(tc.answers))
			lg := &logs{}
			st := &stamps{base: &servertest.Transport{Device: dev, Base: &http.Transport{DisableKeepAlives: true}}}
			synctest.Test(t, func(t *testing.T) {
				c := f.client(t, nil, client.Options{
					HTTP: &http.Client{Transport: st}, MinBackoff: time.Second, MaxBackoff: 10 * time.Second,
					Interval: time.Hour, Rand: func() float64 { return 0 }, Logger: slog.New(lg),
				})
				c.Start(t.Context())
				for range 3 * len(tc.answers) {
					time.Sleep(time.Minute) // fake time: the bubble's clock
					if f.store.Count(dev, f.j.Epoch()) == 20 {
						break
					}
				}
				c.Stop()
			})
			f.check(t, 20)
			got := st.gaps()
			if len(got) < len(tc.want) {
				t.Fatalf("got gaps %v, want %v", got, tc.want)
			}
			for i, w := range tc.want {
				if got[i] != w {
					t.Fatalf("got gaps %v, want %v", got, tc.want)
				}
			}
			var failed, recovered int
			for _, l := range lg.all() {
				switch {
				case strings.Contains(l, "canceled"):
					t.Errorf("logged a cancellation: %s", l)
				case strings.HasPrefix(l, "sync: upload failed"):
					failed++
				case strings.HasPrefix(l, "sync: upload recovered"):
					recovered++
					if !strings.Contains(l, "failures=") || !strings.Contains(l, "outage=") {
						t.Errorf("recovery without the failure count and the outage's duration: %s", l)
					}
				}
			}
			distinct := map[int]bool{}
			for _, a := range tc.answers {
				distinct[a.status] = true
			}
			// One line per change of error, not one per failure.
			if failed > len(distinct)+1 || failed == 0 || recovered != 1 {
				t.Fatalf("got %d failure and %d recovery lines for %d failures: %q", failed, recovered, len(tc.answers), lg.all())
			}
		})
	}
}

// growing shows the first upto records of a journal: records "appended"
// inside a synctest bubble (the journal's committer runs outside it).
type growing struct {
	*journal.Journal
	upto atomic.Uint64
}

func (g *growing) Range(from, to journal.Seq, fn func(journal.Seq, []byte) error) error {
	last := journal.Seq(g.upto.Load())
	if to == 0 || to > last {
		to = last
	}
	if from > to {
		return nil
	}
	return g.Journal.Range(from, to, fn)
}

// Kick uploads at once; an idle client otherwise waits for its interval.
func TestKick(t *testing.T) {
	f := newFixture(t, 30, server.Options{}, nil)
	src := &growing{Journal: f.j}
	src.upto.Store(20)
	tr := &servertest.Transport{Device: dev, Base: &http.Transport{DisableKeepAlives: true}}
	synctest.Test(t, func(t *testing.T) {
		c := f.client(t, src, client.Options{HTTP: &http.Client{Transport: tr}, Interval: time.Hour})
		c.Start(t.Context())
		time.Sleep(time.Second)
		if got := f.store.Count(dev, f.j.Epoch()); got != 20 {
			t.Fatalf("got %d records after start, want 20", got)
		}
		src.upto.Store(30)
		time.Sleep(time.Minute)
		if got := f.store.Count(dev, f.j.Epoch()); got != 20 {
			t.Fatalf("got %d records before the kick, want 20", got)
		}
		c.Kick()
		time.Sleep(time.Second)
		if got := f.store.Count(dev, f.j.Epoch()); got != 30 {
			t.Fatalf("got %d records after the kick, want 30", got)
		}
		c.Stop()
	})
}

// A centre that does not answer costs one request timeout, not a hang.
func TestRequestTimeout(t *testing.T) {
	release := make(chan struct{})
	f := newFixture(t, 5, server.Options{}, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		})
	})
	defer close(release)
	c := f.client(t, nil, client.Options{Timeout: 50 * time.Millisecond})
	err := c.Drain(t.Context())
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("got %v, want a deadline error", err)
	}
	if acked, _ := f.j.Acked(); acked != 0 {
		t.Fatalf("got acked %d, want 0", acked)
	}
}

// A salvage with records missing goes up run by run, flagged: the centre
// keeps what it lacks, records the lost range as a break, and the source
// ends acknowledged to its last record.
func TestDrainSalvage(t *testing.T) {
	f := newFixture(t, 30, server.Options{}, nil)
	up := f.client(t, nil, client.Options{Batch: 10})
	if err := up.Drain(context.Background()); err != nil {
		t.Fatal(err)
	}
	s := &journal.Salvage{Epoch: f.j.Epoch()}
	f.j.Range(1, 0, func(seq journal.Seq, b []byte) error {
		if seq < 12 || seq > 14 {
			s.Records = append(s.Records, journal.SalvagedRecord{Seq: seq, Stored: b})
		}
		return nil
	})
	keys, _ := f.j.Keys()
	s.Keys = keys
	// The centre holds 1 to 30 already: nothing new, done.
	src := journal.NewSalvageSource(s)
	if err := f.client(t, src, client.Options{Salvaged: true, Batch: 8}).Drain(context.Background()); err != nil || !src.Done() {
		t.Fatalf("salvage the centre holds: %v, done %v", err, src.Done())
	}
	if n := len(f.store.Records(dev, f.j.Epoch())); n != 30 {
		t.Fatalf("got %d records, want 30", n)
	}

	// A centre that holds none of it gets 1 to 11, then 15 to 30 with
	// the loss of 12 to 14 flagged.
	g := newFixture(t, 0, server.Options{}, nil)
	src = journal.NewSalvageSource(s)
	if err := g.client(t, src, client.Options{Salvaged: true, Batch: 8}).Drain(context.Background()); err != nil || !src.Done() {
		t.Fatalf("salvage: %v, done %v", err, src.Done())
	}
	recs := g.store.Records(dev, f.j.Epoch())
	if len(recs) != 27 {
		t.Fatalf("got %d records, want 27", len(recs))
	}
	want := fmt.Sprintf(server.BreakLost, 12, 14)
	for _, r := range recs {
		if (r.Seq == 15) != (r.Break == want) {
			t.Errorf("seq %d: break %q, want %q only at 15", r.Seq, r.Break, want)
		}
	}
}

// TestFlushWaitsOutRetryAfter: the daemon's last upload and a salvage's
// delivery (Flush) wait out a centre's 429 with Retry-After where the
// context leaves time, where Drain returns it; with no time left, Flush
// returns it too.
func TestFlushWaitsOutRetryAfter(t *testing.T) {
	busyOnce := func(h http.Handler) http.Handler {
		var n atomic.Int64
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if n.Add(1) == 1 {
				w.Header().Set("Retry-After", "1")
				http.Error(w, "too many uploads", http.StatusTooManyRequests)
				return
			}
			h.ServeHTTP(w, r)
		})
	}

	f := newFixture(t, 20, server.Options{}, busyOnce)
	var re *client.RetryError
	if err := f.client(t, nil, client.Options{}).Drain(t.Context()); !errors.As(err, &re) {
		t.Fatalf("Drain: got %v, want a RetryError", err)
	}

	f = newFixture(t, 20, server.Options{}, busyOnce)
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := f.client(t, nil, client.Options{}).Flush(ctx); err != nil {
		t.Fatalf("Flush: got %v, want the records delivered after the wait", err)
	}
	f.check(t, 20)

	f = newFixture(t, 20, server.Options{}, busyOnce)
	short, cancel2 := context.WithTimeout(t.Context(), 100*time.Millisecond)
	defer cancel2()
	if err := f.client(t, nil, client.Options{}).Flush(short); !errors.As(err, &re) {
		t.Fatalf("Flush with no time for the wait: got %v, want the RetryError", err)
	}
}
