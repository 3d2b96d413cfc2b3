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
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/clock"
	"sentinel/internal/status"
	"sentinel/sync/client"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

var dlNow = time.Date(2026, 11, 29, 12, 0, 0, 0, time.UTC)

// swap serves the latest of a kind from a fixed Published when set (a
// centre that serves an old bundle), else from the repository.
type swap struct {
	*bundles.Repo
	mu     sync.Mutex
	fixed  *server.Published
	status []*server.Published // served for every since, when set
}

func (s *swap) StatusSince(v uint64) ([]*server.Published, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.status != nil {
		return s.status, nil
	}
	return s.Repo.StatusSince(v)
}

func (s *swap) Latest(k trust.Kind) (*server.Published, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fixed != nil && s.fixed.Kind == k {
		return s.fixed, nil
	}
	return s.Repo.Latest(k)
}

type dlFixture struct {
	keys  *bundlestest.Keys
	repo  *bundles.Repo
	src   *swap
	srv   *httptest.Server
	data  string
	gets  map[string]int
	codes map[int]int
	mu    sync.Mutex
}

func newDL(t *testing.T) *dlFixture {
	t.Helper()
	f := &dlFixture{keys: bundlestest.NewKeys(t, dlNow), data: t.TempDir(), gets: map[string]int{}, codes: map[int]int{}}
	var err error
	f.repo, err = bundles.Open(bundles.Options{Dir: t.TempDir(), Root: f.keys.Root.Public(), Now: func() time.Time { return dlNow }})
	if err != nil {
		t.Fatal(err)
	}
	f.src = &swap{Repo: f.repo}
	h, err := server.NewDownload(server.DownloadOptions{Bundles: f.src, Auth: servertest.HeaderAuth{},
		TimeKey: f.keys.Signer, TimeDelegation: f.keys.Delegation, Now: func() time.Time { return dlNow }})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.Header.Set(servertest.DeviceHeader, "T1")
		rec := &codeWriter{ResponseWriter: w, code: 200}
		h.ServeHTTP(rec, r)
		f.mu.Lock()
		f.gets[r.URL.Path]++
		f.codes[rec.code]++
		f.mu.Unlock()
	}))
	t.Cleanup(f.srv.Close)
	return f
}

type codeWriter struct {
	http.ResponseWriter
	code int
}

func (w *codeWriter) WriteHeader(c int) { w.code = c; w.ResponseWriter.WriteHeader(c) }

func (f *dlFixture) publish(t *testing.T, k trust.Kind, payload []byte) {
	t.Helper()
	if _, err := f.repo.Publish(k, payload, f.keys.Signer, f.keys.Delegation, 24*time.Hour, 72*time.Hour); err != nil {
		t.Fatalf("publish %s: %v", k, err)
	}
}

func (f *dlFixture) downloader(t *testing.T, o client.DownloadOptions) *client.Downloader {
	t.Helper()
	o.URL, o.DataDir, o.Root = f.srv.URL, f.data, f.keys.Root.Public()
	o.Logger = slog.New(slog.DiscardHandler)
	o.Now = func() (time.Time, bool) { return dlNow.Add(time.Minute), true }
	d, err := client.NewDownloader(o)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func (f *dlFixture) installedVersion(t *testing.T, k trust.Kind) uint64 {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(f.data, "bundles", string(k)+".bundle"))
	if err != nil {
		t.Fatalf("installed %s: %v", k, err)
	}
	b, _, err := trust.OpenBundle(data, f.keys.Root.Public(), dlNow, trust.State{})
	if err != nil {
		t.Fatalf("installed %s: %v", k, err)
	}
	return b.Version
}

func TestDownloadLatestAndNotModified(t *testing.T) {
	f := newDL(t)
	f.publish(t, trust.KindPolicy, bundlestest.Policy(t, "p1"))
	f.publish(t, trust.KindPolicy, bundlestest.Policy(t, "p2"))
	f.publish(t, trust.KindConfig, bundlestest.Config(t))
	f.publish(t, trust.KindTrust, bundlestest.Trust(t))
	d := f.downloader(t, client.DownloadOptions{})
	if err := d.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	for k, want := range map[trust.Kind]uint64{trust.KindPolicy: 2, trust.KindConfig: 1, trust.KindTrust: 1} {
		if got := f.installedVersion(t, k); got != want {
			t.Errorf("%s: got v%d installed, want v%d", k, got, want)
		}
	}
	st, _ := os.Stat(filepath.Join(f.data, "bundles", "policy.bundle"))
	// A second round (a restarted terminal: a new Downloader reading
	// state.json) asks with If-None-Match and gets 304s.
	f.codes = map[int]int{}
	d2 := f.downloader(t, client.DownloadOptions{})
	if err := d2.Sync(context.Background()); err != nil {
		t.Fatalf("second Sync: %v", err)
	}
	if f.codes[http.StatusNotModified] != 4 || f.codes[http.StatusOK] != 0 {
		t.Errorf("second round: got answers %v, want 4× 304 (three bundles, status) and no 200", f.codes)
	}
	st2, _ := os.Stat(filepath.Join(f.data, "bundles", "policy.bundle"))
	if !st2.ModTime().Equal(st.ModTime()) {
		t.Errorf("policy.bundle rewritten on a 304")
	}
	// A third version arrives.
	f.publish(t, trust.KindPolicy, bundlestest.Policy(t, "p3"))
	if err := d2.Sync(context.Background()); err != nil {
		t.Fatalf("third Sync: %v", err)
	}
	if got := f.installedVersion(t, trust.KindPolicy); got != 3 {
		t.Errorf("got policy v%d, want v3", got)
	}
}

func TestDownloadRefusesRollback(t *testing.T) {
	f := newDL(t)
	f.publish(t, trust.KindPolicy, bundlestest.Policy(t, "p1"))
	old, _ := f.repo.Latest(trust.KindPolicy)
	f.publish(t, trust.KindPolicy, bundlestest.Policy(t, "p2"))
	d := f.downloader(t, client.DownloadOptions{Kinds: []trust.Kind{trust.KindPolicy}})
	if err := d.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	installed, _ := os.ReadFile(filepath.Join(f.data, "bundles", "policy.bundle"))
	// The centre (or someone between) now serves v1 again; a restarted
	// terminal still remembers v2 from state.json.
	f.src.mu.Lock()
	f.src.fixed = old
	f.src.mu.Unlock()
	d2 := f.downloader(t, client.DownloadOptions{Kinds: []trust.Kind{trust.KindPolicy}})
	err := d2.Sync(context.Background())
	if !errors.Is(err, trust.ErrRollback) {
		t.Fatalf("got %v, want a rollback refusal", err)
	}
	now, _ := os.ReadFile(filepath.Join(f.data, "bundles", "policy.bundle"))
	if !bytes.Equal(now, installed) {
		t.Errorf("policy.bundle changed after a refused rollback")
	}
	if got := f.installedVersion(t, trust.KindPolicy); got != 2 {
		t.Errorf("got v%d installed, want v2", got)
	}
}

// applyTo is an OnBundle hook that applies the status bundles to l.
func applyTo(l client.StatusApplier) func(*trust.Bundle, []byte) error {
	return func(b *trust.Bundle, _ []byte) error {
		switch b.Kind {
		case trust.KindStatusBase:
			return l.ApplyBase(b)
		case trust.KindStatusDelta:
			return l.ApplyDelta(b)
		}
		return nil
	}
}

func TestDownloadStatusChain(t *testing.T) {
	f := newDL(t)
	f.publish(t, trust.KindStatusBase, bundlestest.StatusBase(t, dlNow.Add(-time.Hour), 1, 2))
	f.publish(t, trust.KindStatusDelta, bundlestest.StatusDelta(t, dlNow.Add(-time.Hour), 1, status.Green))
	list, err := status.New(status.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var got []uint64
	d := f.downloader(t, client.DownloadOptions{Kinds: []trust.Kind{}, OnBundle: applyTo(list),
		Installed: func(k trust.Kind, v uint64) { got = append(got, v) }})
	if err := d.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	f.publish(t, trust.KindStatusDelta, bundlestest.StatusDelta(t, dlNow.Add(-time.Hour), 2, status.Yellow))
	f.publish(t, trust.KindStatusDelta, bundlestest.StatusDelta(t, dlNow.Add(-time.Hour), 3, status.Red))
	if err := d.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if want := []uint64{1, 2, 3, 4}; !equalU(got, want) {
		t.Errorf("installed status versions %v, want %v", got, want)
	}
	if v, _ := list.Version(); v != 4 {
		t.Errorf("live list at v%d, want v4", v)
	}
	issued := dlNow.Add(-2 * time.Hour)
	check := func(name string, l *status.List) {
		for idx, want := range map[uint32]status.Status{1: status.Green, 2: status.Yellow, 3: status.Red} {
			h, err := credential.ParseHolder(fmt.Sprintf("ZJ:%d", idx))
			if err != nil {
				t.Fatal(err)
			}
			r := l.Lookup(h, issued, dlNow)
			if !r.Overridden || r.Status != want {
				t.Errorf("%s: ZJ:%d: got %+v, want %v", name, idx, r, want)
			}
		}
	}
	check("live", list)
	// What sentineld would load from the data directory: base and chain.
	fresh, _ := status.New(status.Options{})
	v, err := client.LoadStatus(f.data, f.keys.Root.Public(), dlNow, fresh)
	if err != nil || v != 4 {
		t.Fatalf("LoadStatus: v%d, %v; want v4", v, err)
	}
	check("loaded", fresh)
	// A new base replaces the chain.
	f.publish(t, trust.KindStatusBase, bundlestest.StatusBase(t, dlNow.Add(-time.Hour), 9))
	if err := d.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(f.data, client.ChainDir, "*.bundle")); len(left) != 0 {
		t.Errorf("deltas of the old base left: %v", left)
	}
	if v, _ := list.Version(); v != 5 {
		t.Errorf("live list at v%d after a new base, want v5", v)
	}
}

func equalU(a, b []uint64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

type observed struct {
	mu  sync.Mutex
	t   []time.Time
	rtt []time.Duration
}

func (o *observed) ObserveSignedTime(t time.Time, rtt time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.t, o.rtt = append(o.t, t), append(o.rtt, rtt)
}

func TestDownloadSignedTime(t *testing.T) {
	f := newDL(t)
	var obs observed
	d := f.downloader(t, client.DownloadOptions{Kinds: []trust.Kind{}, Clock: &obs})
	if err := d.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if len(obs.t) != 1 || !obs.t[0].Equal(dlNow) || obs.rtt[0] <= 0 {
		t.Fatalf("observed %v rtt %v, want %v once with a positive rtt", obs.t, obs.rtt, dlNow)
	}
}

func TestDownloadLoopStartStop(t *testing.T) {
	f := newDL(t)
	f.publish(t, trust.KindConfig, bundlestest.Config(t))
	done := make(chan struct{})
	var once sync.Once
	d := f.downloader(t, client.DownloadOptions{Kinds: []trust.Kind{trust.KindConfig}, Interval: time.Hour,
		Installed: func(trust.Kind, uint64) { once.Do(func() { close(done) }) }})
	d.Start(context.Background())
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("no bundle installed by the loop within 10 s")
	}
	d.Stop()
	d.Stop() // twice is fine
}

func TestDownloadRefusesReplayedTime(t *testing.T) {
	f := newDL(t)
	h := f.srv.Config.Handler
	var (
		mu     sync.Mutex
		cached []byte
	)
	// A man in the middle answers every time request with the first
	// answer it saw.
	f.srv.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/v1/time" {
			h.ServeHTTP(w, r)
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if cached == nil {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r)
			cached = rec.Body.Bytes()
		}
		w.Header().Set("Content-Type", server.TimeType)
		w.Write(cached)
	})
	var obs observed
	d := f.downloader(t, client.DownloadOptions{Kinds: []trust.Kind{}, Clock: &obs})
	if err := d.Sync(context.Background()); err != nil {
		t.Fatalf("first Sync: %v", err)
	}
	if err := d.Sync(context.Background()); !errors.Is(err, server.ErrTimeNonce) {
		t.Fatalf("replayed time: got %v, want ErrTimeNonce", err)
	}
	if len(obs.t) != 1 {
		t.Errorf("clock observed %d times, want 1 (the replay must not reach it)", len(obs.t))
	}
}

func TestDownloadWaitsForTrustedClock(t *testing.T) {
	f := newDL(t)
	f.publish(t, trust.KindConfig, bundlestest.Config(t))
	var obs observed
	d, err := client.NewDownloader(client.DownloadOptions{URL: f.srv.URL, DataDir: f.data, Root: f.keys.Root.Public(),
		Clock: &obs, Logger: slog.New(slog.DiscardHandler),
		Now: func() (time.Time, bool) { return time.Unix(0, 0), false }})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Sync(context.Background()); err == nil || !strings.Contains(err.Error(), "not trusted") {
		t.Fatalf("got %v, want the untrusted clock named", err)
	}
	if len(obs.t) != 1 {
		t.Errorf("signed time observed %d times, want 1: it is what makes the clock trusted", len(obs.t))
	}
	if _, err := os.Stat(filepath.Join(f.data, "bundles", "config.bundle")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("config.bundle written on an untrusted clock (stat: %v)", err)
	}
}

func TestDownloadLoopBacksOff(t *testing.T) {
	var (
		mu    sync.Mutex
		calls int
	)
	done := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		calls++
		if calls == 3 {
			close(done)
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
	}))
	defer srv.Close()
	k := bundlestest.NewKeys(t, dlNow)
	d, err := client.NewDownloader(client.DownloadOptions{URL: srv.URL, DataDir: t.TempDir(), Root: k.Root.Public(),
		Kinds: []trust.Kind{trust.KindPolicy}, MinBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond,
		Interval: time.Hour, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	d.Start(context.Background())
	select {
	case <-done: // retried after failures, not after Interval
	case <-time.After(10 * time.Second):
		t.Fatal("no retry within 10 s after failures")
	}
	d.Stop()
}

func ExampleNewDownloader() {
	root, _ := trust.GenerateRoot(nil, trust.KeyEd25519) // sentineld reads DATA/trust/root.pub
	dir, _ := os.MkdirTemp("", "terminal")
	defer os.RemoveAll(dir)
	list, _ := status.New(status.Options{})
	d, err := client.NewDownloader(client.DownloadOptions{
		URL:     "https://central.example:8443",
		DataDir: dir,
		Root:    root.Public(),
		// Clock: the terminal's clock.Monitor.
		OnBundle: func(b *trust.Bundle, _ []byte) error {
			switch b.Kind {
			case trust.KindStatusBase:
				return list.ApplyBase(b)
			case trust.KindStatusDelta:
				return list.ApplyDelta(b)
			}
			return nil // trust, policy, config: install them
		},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	d.Start(context.Background())
	d.Stop()
	fmt.Println("stopped")
	// Output: stopped
}

func TestDownloadRemembersRevocations(t *testing.T) {
	f := newDL(t)
	// A second online key, which the operator then revokes.
	other, err := trust.GenerateKey(nil, trust.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	od, err := trust.Delegate(f.keys.Root, other.Public(), trust.Kinds(), dlNow.Add(-time.Hour), dlNow.Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	c, err := trust.ParseTrustContent(bundlestest.Trust(t))
	if err != nil {
		t.Fatal(err)
	}
	c.RevokedDelegations = []trust.KeyID{od.KID}
	payload, err := trust.MarshalTrustContent(c)
	if err != nil {
		t.Fatal(err)
	}
	f.publish(t, trust.KindTrust, payload)
	f.publish(t, trust.KindPolicy, bundlestest.Policy(t, "p1"))
	d := f.downloader(t, client.DownloadOptions{Kinds: []trust.Kind{trust.KindTrust, trust.KindPolicy}})
	if err := d.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	// Someone with the revoked key serves a newer policy, and a trust
	// bundle without the revocation is no longer offered: a restarted
	// terminal still refuses it.
	data, err := trust.SealBundle(other, od, trust.Bundle{Kind: trust.KindPolicy, Version: 9, IssuedAt: dlNow,
		FreshUntil: dlNow.Add(time.Hour), GraceUntil: dlNow.Add(time.Hour), Payload: bundlestest.Policy(t, "evil")})
	if err != nil {
		t.Fatal(err)
	}
	f.src.mu.Lock()
	f.src.fixed = &server.Published{Kind: trust.KindPolicy, Version: 9, Digest: [32]byte{9}, Data: data}
	f.src.mu.Unlock()
	d2 := f.downloader(t, client.DownloadOptions{Kinds: []trust.Kind{trust.KindPolicy}})
	if err := d2.Sync(context.Background()); !errors.Is(err, trust.ErrDelegationRevoked) {
		t.Fatalf("got %v, want ErrDelegationRevoked", err)
	}
	if got := f.installedVersion(t, trust.KindPolicy); got != 1 {
		t.Errorf("got policy v%d installed, want v1", got)
	}
}

func TestDownloadRefusesStatusRollback(t *testing.T) {
	f := newDL(t)
	f.publish(t, trust.KindStatusBase, bundlestest.StatusBase(t, dlNow.Add(-time.Hour), 1))
	oldBase, _ := f.repo.StatusSince(0)
	f.publish(t, trust.KindStatusDelta, bundlestest.StatusDelta(t, dlNow.Add(-time.Hour), 2, status.Red))
	f.publish(t, trust.KindStatusBase, bundlestest.StatusBase(t, dlNow.Add(-time.Hour), 3))
	f.publish(t, trust.KindStatusDelta, bundlestest.StatusDelta(t, dlNow.Add(-time.Hour), 4, status.Red))
	oldDelta, _ := f.repo.StatusSince(3)
	d := f.downloader(t, client.DownloadOptions{Kinds: []trust.Kind{}})
	if err := d.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	before, _ := os.ReadFile(filepath.Join(f.data, "bundles", "status-base.bundle"))
	for _, tc := range []struct {
		name  string
		serve []*server.Published
		want  error
	}{
		{"older base", oldBase, trust.ErrRollback},
		{"delta already applied", oldDelta, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f.src.mu.Lock()
			f.src.status = tc.serve
			f.src.mu.Unlock()
			d2 := f.downloader(t, client.DownloadOptions{Kinds: []trust.Kind{}})
			err := d2.Sync(context.Background())
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Fatalf("got %v, want a refusal (%v)", err, tc.want)
			}
			after, _ := os.ReadFile(filepath.Join(f.data, "bundles", "status-base.bundle"))
			if !bytes.Equal(after, before) {
				t.Errorf("status-base.bundle changed")
			}
			list, _ := status.New(status.Options{})
			if v, err := client.LoadStatus(f.data, f.keys.Root.Public(), dlNow, list); err != nil || v != 4 {
				t.Errorf("LoadStatus: v%d, %v; want v4", v, err)
			}
		})
	}
}

// whyClock records why signed times failed.
type whyClock struct {
	observed
	codes, whys []string
}

func (w *whyClock) SignedTimeUnavailable(code, why string) {
	w.codes = append(w.codes, code)
	w.whys = append(w.whys, why)
}

// TestSignedTimeFailureReachesClock: the terminal's clock learns why no
// signed time came (before, only the log said "centre answered 404"), so
// that the guard and selftest can say it: a centre without a time key,
// one that does not answer, an answer that does not verify.
func TestSignedTimeFailureReachesClock(t *testing.T) {
	keys := bundlestest.NewKeys(t, dlNow)
	other := bundlestest.NewKeys(t, dlNow)
	serve := func(o server.DownloadOptions) string {
		repo, err := bundles.Open(bundles.Options{Dir: t.TempDir(), Root: keys.Root.Public()})
		if err != nil {
			t.Fatal(err)
		}
		o.Bundles, o.Auth = repo, servertest.HeaderAuth{}
		h, err := server.NewDownload(o)
		if err != nil {
			t.Fatal(err)
		}
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			r.Header.Set(servertest.DeviceHeader, "T1")
			h.ServeHTTP(w, r)
		}))
		t.Cleanup(srv.Close)
		return srv.URL
	}
	down := httptest.NewServer(http.NotFoundHandler())
	downURL := down.URL
	down.Close()
	for _, tc := range []struct {
		name, url, code string
	}{
		{"no time key", serve(server.DownloadOptions{}), clock.CodeCentralNoTime},
		{"another root's key", serve(server.DownloadOptions{TimeKey: other.Signer, TimeDelegation: other.Delegation}), clock.CodeCentralInvalid},
		{"centre down", downURL, clock.CodeCentralUnreachable},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var c whyClock
			d, err := client.NewDownloader(client.DownloadOptions{URL: tc.url, DataDir: t.TempDir(), Root: keys.Root.Public(),
				Clock: &c, Logger: slog.New(slog.DiscardHandler), Timeout: 5 * time.Second,
				Now: func() (time.Time, bool) { return time.Unix(0, 0), false }})
			if err != nil {
				t.Fatal(err)
			}
			if err := d.Sync(context.Background()); err == nil {
				t.Fatal("Sync: no error")
			}
			if len(c.codes) != 1 || c.codes[0] != tc.code || c.whys[0] == "" {
				t.Errorf("clock told %v %v, want %s once with words", c.codes, c.whys, tc.code)
			}
		})
	}
	// The words are the guard's, not a 404.
	code, why := client.SignedTimeFailure(client.ErrNoSignedTime)
	if code != clock.CodeCentralNoTime || !strings.Contains(why, "does not sign its time") {
		t.Errorf("got %s %q", code, why)
	}
}

// TestDownloadOnBundle: every bundle a round verifies reaches OnBundle
// before it is written; one the hook refuses is neither written nor
// recorded, and the next round offers it again.
func TestDownloadOnBundle(t *testing.T) {
	f := newDL(t)
	f.publish(t, trust.KindPolicy, bundlestest.Policy(t, "p1"))
	f.publish(t, trust.KindConfig, bundlestest.Config(t))
	f.publish(t, trust.KindStatusBase, bundlestest.StatusBase(t, dlNow.Add(-time.Hour), 1))
	refuse := errors.New("the policy does not compile here")
	var seen []string
	var refusing bool
	d := f.downloader(t, client.DownloadOptions{Kinds: []trust.Kind{trust.KindPolicy, trust.KindConfig},
		OnBundle: func(b *trust.Bundle, data []byte) error {
			if ob, _, err := trust.OpenBundle(data, f.keys.Root.Public(), dlNow, trust.State{}); err != nil || ob.Digest != b.Digest {
				t.Errorf("%s: the bytes given are not the bundle's: %v", b.Kind, err)
			}
			if _, err := os.Stat(filepath.Join(f.data, "bundles", string(b.Kind)+".bundle")); err == nil {
				t.Errorf("%s v%d: written before the hook took it", b.Kind, b.Version)
			}
			seen = append(seen, fmt.Sprintf("%s v%d", b.Kind, b.Version))
			if refusing && b.Kind == trust.KindPolicy {
				return refuse
			}
			return nil
		}})
	refusing = true
	if err := d.Sync(context.Background()); !errors.Is(err, refuse) {
		t.Fatalf("Sync with the policy refused: got %v, want the hook's error", err)
	}
	if want := "policy v1,config v1,status-base v1"; strings.Join(seen, ",") != want {
		t.Errorf("the hook saw %q, want %q", strings.Join(seen, ","), want)
	}
	if _, err := os.Stat(filepath.Join(f.data, "bundles", "policy.bundle")); err == nil {
		t.Error("a policy the terminal refused was written")
	}
	if f.installedVersion(t, trust.KindConfig) != 1 {
		t.Error("the config the terminal took was not written")
	}
	refusing, seen = false, nil
	if err := d.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	if want := "policy v1"; strings.Join(seen, ",") != want {
		t.Errorf("the next round's hook saw %q, want %q (the refused policy again, nothing else)", strings.Join(seen, ","), want)
	}
	if f.installedVersion(t, trust.KindPolicy) != 1 {
		t.Error("the policy taken on the second round was not written")
	}
}

// TestDownloadNeedBase: a hook that cannot take a delta on its list
// (ErrNeedBase) makes the next round fetch the status base and its chain
// again; the hook then gets them in order and the terminal catches up.
func TestDownloadNeedBase(t *testing.T) {
	f := newDL(t)
	f.publish(t, trust.KindStatusBase, bundlestest.StatusBase(t, dlNow.Add(-time.Hour), 1))
	f.publish(t, trust.KindStatusDelta, bundlestest.StatusDelta(t, dlNow.Add(-time.Hour), 2, status.Red))
	var seen []uint64
	gap := true
	d := f.downloader(t, client.DownloadOptions{Kinds: []trust.Kind{},
		OnBundle: func(b *trust.Bundle, _ []byte) error {
			if b.Kind == trust.KindStatusDelta && b.Version == 3 && gap {
				return fmt.Errorf("delta v3 on a list at v1: %w", client.ErrNeedBase)
			}
			seen = append(seen, b.Version)
			return nil
		}})
	if err := d.Sync(context.Background()); err != nil {
		t.Fatalf("Sync: %v", err)
	}
	f.publish(t, trust.KindStatusDelta, bundlestest.StatusDelta(t, dlNow.Add(-time.Hour), 3, status.Red))
	if err := d.Sync(context.Background()); !errors.Is(err, client.ErrNeedBase) {
		t.Fatalf("Sync with a gap: got %v, want ErrNeedBase", err)
	}
	gap, seen = false, nil
	if err := d.Sync(context.Background()); err != nil {
		t.Fatalf("Sync after the gap: %v", err)
	}
	if want := []uint64{1, 2, 3}; !equalU(seen, want) {
		t.Errorf("after the gap the hook got versions %v, want the base and its chain %v", seen, want)
	}
	list, _ := status.New(status.Options{})
	if v, err := client.LoadStatus(f.data, f.keys.Root.Public(), dlNow, list); err != nil || v != 3 {
		t.Errorf("LoadStatus after the gap: v%d, %v; want v3", v, err)
	}
}
