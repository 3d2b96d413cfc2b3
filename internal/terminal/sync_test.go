package terminal

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/device/scanner"
	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/bundles/bundlestest"
	centralenrol "sentinel/internal/central/enrol"
	"sentinel/internal/central/server"
	"sentinel/internal/clock"
	"sentinel/internal/gate"
	"sentinel/internal/passage"
	"sentinel/internal/sdnotify"
	"sentinel/internal/version"
	"sentinel/sync/enrol"
	"sentinel/sync/journal"
	"sentinel/sync/protocol"
)

// centreStore is what the tests use of the centre's store: bbolt's or
// PostgreSQL's.
type centreStore interface {
	central.Store
	central.HealthStore
}

// centre is an in-process central server on loopback with a bbolt store
// (or PostgreSQL's, startCentreOn).
type centre struct {
	data   string
	store  centreStore
	srv    *server.Server
	url    string // the device calls, over mutual TLS
	enrolU string // enrolment
	keys   *bundlestest.Keys
	// ahead moves the centre's clock on (a time.Duration).
	ahead atomic.Int64
}

func startCentre(t *testing.T) *centre {
	t.Helper()
	return startCentreWith(t, nil)
}

// startCentreWith is startCentre with a chance to change the server's
// configuration.
func startCentreWith(t *testing.T, mutate func(*server.Config)) *centre {
	t.Helper()
	return startCentreOn(t, nil, mutate)
}

// startCentreOn is startCentreWith on st (closed when the test ends), or
// on a bbolt store in the centre's data directory when st is nil.
func startCentreOn(t *testing.T, st centreStore, mutate func(*server.Config)) *centre {
	t.Helper()
	c := &centre{data: t.TempDir()}
	if st == nil {
		bst, err := boltstore.Open(filepath.Join(c.data, server.StoreFile), nil)
		if err != nil {
			t.Fatal(err)
		}
		st = bst
	}
	c.store = st
	t.Cleanup(func() { st.Close() })
	if _, err := centralenrol.LoadCA(c.data, true, time.Now()); err != nil {
		t.Fatal(err)
	}
	c.keys = bundlestest.NewKeys(t, time.Now())
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.Root, cfg.Store = c.data, c.keys.Root.Public(), st
	cfg.TimeKey, cfg.TimeDelegation = c.keys.Signer, c.keys.Delegation
	cfg.Listen, cfg.EnrolListen = "127.0.0.1:0", "127.0.0.1:0"
	cfg.Hosts = []string{"127.0.0.1"}
	cfg.Now = func() time.Time { return time.Now().Add(time.Duration(c.ahead.Load())) }
	if mutate != nil {
		mutate(&cfg)
	}
	var err error
	c.srv, err = server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.srv.Stop() })
	dev, en := c.srv.Addrs()
	c.url, c.enrolU = "https://"+dev.String(), "https://"+en.String()
	return c
}

// enrolTerminal makes a token and enrols a new terminal data directory
// with it, as sentinelctl enrol does; it returns the directory and the
// device id.
func (c *centre) enrolTerminal(t *testing.T) (string, string) {
	t.Helper()
	dir := t.TempDir()
	return dir, c.enrolTerminalInto(t, dir)
}

// publishTrust publishes a trust bundle at the centre, which enrolment
// hands out with the first bundles.
func (c *centre) publishTrust(t *testing.T) {
	t.Helper()
	repo, err := bundles.Open(bundles.Options{Dir: filepath.Join(c.data, server.BundlesDir), Root: c.keys.Root.Public()})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := repo.Publish(trust.KindTrust, bundlestest.Trust(t), c.keys.Signer, c.keys.Delegation, 24*time.Hour, 72*time.Hour); err != nil {
		t.Fatal(err)
	}
}

// enrolTerminalInto enrols the terminal data directory dir and returns
// the device id.
func (c *centre) enrolTerminalInto(t *testing.T, dir string) string {
	t.Helper()
	fst := c.store
	value, tok, err := centralenrol.NewToken("gate-1", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := fst.AddEnrolToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(c.data, centralenrol.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}}}
	defer hc.CloseIdleConnections()
	req, key, err := enrol.NewRequest(value)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := enrol.Post(ctx, hc, c.enrolU, req)
	if err != nil {
		t.Fatal(err)
	}
	in, err := enrol.Install(dir, key, resp, nil)
	if err != nil {
		t.Fatal(err)
	}
	return in.Device
}

// waitFor polls cond every 10 ms for at most 10 s.
func waitFor(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		ok, state := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 10 s: %s: %s", what, state)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// syncDaemon returns a daemon for dataDir that syncs with url, logging
// to logs; runDaemon runs it.
func syncDaemon(t *testing.T, dataDir, url string, logs io.Writer) *daemon {
	cfg := firmwareconfig.DefaultConfig()
	cfg.DataDir = dataDir
	cfg.Terminal = firmwareconfig.Terminal{ID: "T-1", SiteID: "S-1"}
	cfg.Central = firmwareconfig.Central{URL: url}
	cfg.Listen = firmwareconfig.Listen{Display: "127.0.0.1:0", Management: "127.0.0.1:0"}
	cfg.Lanes = []firmwareconfig.Lane{{Name: "in-1", Scanners: []firmwareconfig.Scanner{{
		Type: firmwareconfig.ScannerSerial, Port: filepath.Join(t.TempDir(), "no-such-tty"), Framing: firmwareconfig.FramingCR,
	}}}}
	return &daemon{
		cfg: cfg, logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		hw: hostHardware(), notify: sdnotify.New(""), clock: systemClock{},
		// Only a Kick or the final upload at drain sends: the idle
		// rounds would hide whether the drain sends the last passages.
		syncEvery: time.Hour,
	}
}

// runningDaemon is a sentineld run in a test, from runDaemon until stop
// or the end of the test.
type runningDaemon struct {
	d     *daemon
	logs  *syncBuffer
	drain context.CancelFunc
	done  chan error

	once    sync.Once
	err     error // run's
	stopped bool  // by stop, which reported err
}

// runDaemon runs d, whose log goes to logs, and returns once it serves.
// The daemon drains at stop, or when the test ends.
func runDaemon(t *testing.T, d *daemon, logs *syncBuffer) *runningDaemon {
	t.Helper()
	ready := make(chan struct{})
	d.serving = func(*daemon) { close(ready) }
	drainCtx, drain := context.WithCancel(context.Background())
	r := &runningDaemon{d: d, logs: logs, drain: drain, done: make(chan error, 1)}
	go func() { r.done <- d.run(context.Background(), drainCtx) }()
	t.Cleanup(func() {
		if err := r.wait(); err != nil && !r.stopped {
			t.Errorf("run: %v\n%s", err, logs.String())
		}
	})
	select {
	case <-ready:
	case err := <-r.done:
		r.once.Do(func() { r.err = err })
		r.stopped = true
		t.Fatalf("sentineld did not come up: %v\n%s", err, logs.String())
	case <-time.After(10 * time.Second):
		t.Fatalf("sentineld not serving within 10 s\n%s", logs.String())
	}
	return r
}

// startDaemon runs sentineld on dataDir, syncing with url every second,
// and waits until it serves.
func startDaemon(t *testing.T, dataDir, url string) *runningDaemon {
	t.Helper()
	logs := &syncBuffer{}
	d := syncDaemon(t, dataDir, url, logs)
	d.syncEvery = time.Second
	return runDaemon(t, d, logs)
}

// wait drains the daemon, once, and returns run's error.
func (r *runningDaemon) wait() error {
	r.once.Do(func() {
		r.drain()
		r.err = <-r.done
	})
	return r.err
}

// stop drains the daemon and fails the test when run failed.
func (r *runningDaemon) stop(t *testing.T) {
	t.Helper()
	r.stopped = true
	if err := r.wait(); err != nil {
		t.Fatalf("run: %v\n%s", err, r.logs.String())
	}
}

// TestSyncUploadsJournal enrols a terminal with an in-process centre, runs
// the daemon on its data directory and passes people: their passages reach
// the centre's store and the journal's acknowledged cursor follows; a
// passage journalled without a Kick goes up with the final upload at drain.
func TestSyncUploadsJournal(t *testing.T) {
	c := startCentre(t)
	dir, device := c.enrolTerminal(t)

	var logs syncBuffer
	d := syncDaemon(t, dir, c.url, &logs)
	r := runDaemon(t, d, &logs)
	if d.sync.Load() == nil {
		t.Fatalf("an enrolled terminal with a central URL does not sync\n%s", logs.String())
	}
	if d.sync.Load().device != device {
		t.Errorf("got device %q, want %q from enrolment", d.sync.Load().device, device)
	}

	const passes = 3
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range passes {
		if _, err := d.gate.Process(ctx, "in-1", []byte("NOT A HEALTH CODE")); err != nil {
			t.Fatal(err)
		}
	}
	epoch := central.Epoch(d.journal.Epoch())
	waitFor(t, "the centre's mark and the acknowledged cursor", func() (bool, string) {
		hw, err := c.store.HighWater(ctx, device, epoch)
		acked, aerr := d.journal.Acked()
		return err == nil && aerr == nil && hw == passes && acked == passes,
			fmt.Sprintf("high water %d (%v), acked %d (%v), want %d\n%s", hw, err, acked, aerr, passes, logs.String())
	})
	waitFor(t, "the centre's health report of the terminal", func() (bool, string) {
		h, ok, err := c.store.Health(ctx, device)
		if err != nil || !ok {
			return false, fmt.Sprintf("no report (%v)\n%s", err, logs.String())
		}
		rep, err := protocol.DecodeHealth(h.Report)
		if err != nil {
			return false, fmt.Sprintf("report does not decode: %v", err)
		}
		off := protocol.ClockOffset(rep.Time, h.ReceivedAt, 0)
		scanner := false
		for _, l := range rep.Lanes {
			scanner = scanner || l.Name == "in-1 scanner"
		}
		return rep.Device == device && rep.Software == version.String() && rep.Acked <= rep.Last && off.Abs() < time.Minute && scanner,
			fmt.Sprintf("got %+v received %v (offset %v), want device %s, software version %s, offset under a minute, lane in-1's scanner", rep, h.ReceivedAt, off, device, version.String())
	})
	sst := d.sync.Load().State()
	online, last := sst.Online, sst.Last
	if !online || last.IsZero() {
		t.Errorf("got online %v, last sync %v; want online with a last sync", online, last)
	}
	if st := d.displayStatus(); !st.Online || st.LastSync.IsZero() {
		t.Errorf("the display got online %v, last sync %v; want online with a last sync", st.Online, st.LastSync)
	}
	metrics := getMetrics(t, "http://"+d.mgmtAddr.String()+"/metrics")
	for _, want := range []string{"sentinel_sync_enabled 1", "sentinel_sync_online 1", "sentinel_sync_backlog_records 0"} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	if m := regexp.MustCompile(`sentinel_sync_last_success_timestamp_seconds (\S+)`).FindStringSubmatch(metrics); m == nil || m[1] == "0" {
		t.Errorf("got last success %v in /metrics, want a time", m)
	}

	// Journalled without a Kick: the loop idles for an hour, so only the
	// final upload at drain sends it.
	if _, err := d.journal.Append(ctx, &journal.Passage{Time: time.Now(), ClockTrusted: true, Lane: "in-1", Decision: passage.Refer}); err != nil {
		t.Fatal(err)
	}
	if n, err := backlog(d.journal); err != nil || n != 1 {
		t.Errorf("got backlog %d (%v), want 1", n, err)
	}
	r.stop(t)
	if hw, err := c.store.HighWater(ctx, device, epoch); err != nil || hw != passes+1 {
		t.Errorf("after drain: got high water %d (%v), want %d\n%s", hw, err, passes+1, logs.String())
	}
	if !strings.Contains(logs.String(), "final upload done") {
		t.Errorf("the log lacks the final upload:\n%s", logs.String())
	}
}

// observingClock is the system clock, trusted, counting the centre's
// signed times it gets.
type observingClock struct {
	systemClock
	observed atomic.Int32
}

func (c *observingClock) ObserveSignedTime(time.Time, time.Duration) { c.observed.Add(1) }

// TestSyncDownloadsBundles: a config and a policy published at the centre after
// enrolment is downloaded into the data directory and decides the next
// passages; the clock gets the centre's signed time.
func TestSyncDownloadsBundles(t *testing.T) {
	c := startCentre(t)
	dir, _ := c.enrolTerminal(t)
	repo, err := bundles.Open(bundles.Options{Dir: filepath.Join(c.data, server.BundlesDir), Root: c.keys.Root.Public()})
	if err != nil {
		t.Fatal(err)
	}
	for _, b := range []struct {
		kind    trust.Kind
		payload []byte
	}{{trust.KindConfig, bundlestest.Config(t)}, {trust.KindPolicy, bundlestest.Policy(t, "p-sync")}} {
		if _, err := repo.Publish(b.kind, b.payload, c.keys.Signer, c.keys.Delegation, 24*time.Hour, 72*time.Hour); err != nil {
			t.Fatal(err)
		}
	}

	var logs syncBuffer
	d := syncDaemon(t, dir, c.url, &logs)
	clk := &observingClock{}
	d.clock, d.reloadEvery = clk, 10*time.Millisecond
	r := runDaemon(t, d, &logs)
	waitFor(t, "the downloaded policy in force", func() (bool, string) {
		st := d.gate.State()
		v, cv := st.Bundles[trust.KindPolicy].Version, st.Bundles[trust.KindConfig].Version
		return v == 1 && cv == 1, fmt.Sprintf("policy version %d, config version %d, want 1 and 1\n%s", v, cv, logs.String())
	})
	if _, err := os.Stat(filepath.Join(dir, "bundles", "state.json")); err != nil {
		t.Errorf("the downloader's state: %v", err)
	}
	if clk.observed.Load() == 0 {
		t.Error("the clock never got the centre's signed time")
	}
	r.stop(t)
}

// whyClock is an untrusted clock that keeps why the centre's signed time
// failed, as the Monitor does.
type whyClock struct {
	mu   sync.Mutex
	code string
}

func (c *whyClock) Now() (time.Time, bool)                     { return time.Now(), false }
func (c *whyClock) ObserveSignedTime(time.Time, time.Duration) {}
func (c *whyClock) SignedTimeUnavailable(code, why string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.code = code
}
func (c *whyClock) ClockState() clock.State {
	c.mu.Lock()
	defer c.mu.Unlock()
	return clock.State{Source: clock.SourceNone, Code: c.code}
}

// TestClockReasonOnDisplay: a terminal whose centre does not sign its time
// shows the guard why its clock is not set (before: only "CLOCK NOT SET",
// with "centre answered 404" in the log).
func TestClockReasonOnDisplay(t *testing.T) {
	c := startCentreWith(t, func(cfg *server.Config) { cfg.TimeKey, cfg.TimeDelegation = nil, nil })
	dir, _ := c.enrolTerminal(t)
	var logs syncBuffer
	d := syncDaemon(t, dir, c.url, &logs)
	d.clock = &whyClock{}
	r := runDaemon(t, d, &logs)
	waitFor(t, "the clock's reason on the display", func() (bool, string) {
		st := d.displayStatus()
		return st.ClockUntrusted && st.ClockReason == clock.CodeCentralNoTime,
			fmt.Sprintf("display: untrusted %v reason %q, want %q\n%s", st.ClockUntrusted, st.ClockReason, clock.CodeCentralNoTime, logs.String())
	})

	// The status list shows as the policy judges it: a fresh delta on a
	// base past its grace is a fresh list.
	now := time.Now()
	ns := *d.gate.State()
	ns.Bundles = maps.Clone(ns.Bundles)
	ns.Bundles[trust.KindStatusBase] = gate.BundleState{Version: 3, IssuedAt: now.Add(-96 * time.Hour), FreshUntil: now.Add(-72 * time.Hour), GraceUntil: now.Add(-time.Hour)}
	ns.Bundles[trust.KindStatusDelta] = gate.BundleState{Version: 5, IssuedAt: now.Add(-time.Hour), FreshUntil: now.Add(23 * time.Hour), GraceUntil: now.Add(71 * time.Hour)}
	d.gate.SetState(&ns)
	for _, b := range d.displayStatus().Bundles {
		if b.Kind == trust.KindStatusBase && b.Freshness != trust.FreshnessFresh {
			t.Errorf("display: status list %s, want fresh (a fresh delta on an old base)", b.Freshness)
		}
	}
	r.stop(t)
}

// TestSyncOffline: with the centre down the gate decides and journals as
// ever, the display and /metrics say offline with the backlog, and the
// drain does not hang on the final upload.
func TestSyncOffline(t *testing.T) {
	c := startCentre(t)
	dir, _ := c.enrolTerminal(t)
	c.srv.Stop()

	var logs syncBuffer
	d := syncDaemon(t, dir, c.url, &logs)
	r := runDaemon(t, d, &logs)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for range 2 {
		if _, err := d.gate.Process(ctx, "in-1", []byte("NOT A HEALTH CODE")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "an upload attempt", func() (bool, string) {
		return strings.Contains(logs.String(), "component=sync part=upload"), logs.String()
	})
	// One key per line: sentineld logs JSON, where a second "component"
	// is a duplicate key that log tools keep only one of.
	for line := range strings.Lines(logs.String()) {
		if strings.Count(line, " component=") > 1 {
			t.Errorf("a log line names its component twice: %s", line)
		}
	}
	if sst := d.sync.Load().State(); sst.Online || sst.Failing || !sst.Last.IsZero() {
		online, last := sst.Online, sst.Last
		t.Errorf("got online %v, last sync %v; want offline, never synced", online, last)
	}
	metrics := getMetrics(t, "http://"+d.mgmtAddr.String()+"/metrics")
	for _, want := range []string{"sentinel_sync_online 0", "sentinel_sync_backlog_records 2", "sentinel_sync_last_success_timestamp_seconds 0"} {
		if !strings.Contains(metrics, want+"\n") {
			t.Errorf("/metrics lacks %q", want)
		}
	}
	start := time.Now()
	r.stop(t)
	if took := time.Since(start); took > finalUploadTimeout+2*time.Second {
		t.Errorf("drain took %v offline, want at most the final upload's %v and a little", took, finalUploadTimeout)
	}
}

// TestSyncNotEnrolled: without a device identity nothing syncs, and the
// log says so once.
func TestSyncNotEnrolled(t *testing.T) {
	var logs syncBuffer
	d := syncDaemon(t, t.TempDir(), "https://127.0.0.1:1", &logs)
	r := runDaemon(t, d, &logs)
	if d.sync.Load() != nil {
		t.Error("a terminal that is not enrolled syncs")
	}
	metrics := getMetrics(t, "http://"+d.mgmtAddr.String()+"/metrics")
	r.stop(t)
	if n := strings.Count(logs.String(), "not enrolled: no sync until"); n != 1 {
		t.Errorf("got %d log lines saying not enrolled: no sync, want 1\n%s", n, logs.String())
	}
	if !strings.Contains(metrics, "sentinel_sync_enabled 0\n") {
		t.Errorf("/metrics lacks sentinel_sync_enabled 0:\n%s", metrics)
	}
}

// TestSyncRenewsCertificate: on a clock 25 days on, the 30-day certificate
// is due; the syncer renews it over mutual TLS, presents the new one, and
// uploads with it. The centre's clock is a minute ahead, so that the new
// certificate outlives the old one (certificate times count seconds).
func TestSyncRenewsCertificate(t *testing.T) {
	c := startCentre(t)
	dir, device := c.enrolTerminal(t)
	old, err := os.ReadFile(filepath.Join(dir, enrol.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(journal.Path(dir), journal.Options{PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	later := func() (time.Time, bool) { return time.Now().Add(25 * 24 * time.Hour), true }
	var logs syncBuffer
	s, err := newSyncer(syncOptions{dataDir: dir, url: c.url, journal: j, now: later, interval: time.Hour,
		logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil || s == nil {
		t.Fatalf("newSyncer: %v, %v", s, err)
	}
	defer s.Close()
	oldSerial := s.cert.Load().Leaf.SerialNumber
	c.ahead.Store(int64(time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.renewIfDue(ctx); err != nil {
		t.Fatalf("renewIfDue: %v", err)
	}
	now, err := os.ReadFile(filepath.Join(dir, enrol.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(old, now) {
		t.Fatal("cert.pem unchanged after a due renewal")
	}
	if s.cert.Load().Leaf.SerialNumber.Cmp(oldSerial) == 0 {
		t.Error("the syncer still presents the old certificate")
	}
	if id, _ := enrol.DeviceID(s.cert.Load().Leaf); id != device {
		t.Errorf("got device %q after renewal, want %q", id, device)
	}
	// Renewed just now: not due again on the real clock.
	if due, _, err := enrol.RenewDue(dir, time.Now()); err != nil || due {
		t.Errorf("got due %v (%v) right after renewal, want not due", due, err)
	}
	if _, err := j.Append(ctx, &journal.Passage{Time: time.Now(), ClockTrusted: true, Lane: "in-1", Decision: passage.Refer}); err != nil {
		t.Fatal(err)
	}
	s.FinalUpload(ctx)
	if hw, err := c.store.HighWater(ctx, device, central.Epoch(j.Epoch())); err != nil || hw != 1 {
		t.Errorf("upload with the renewed certificate: got high water %d (%v), want 1\n%s", hw, err, logs.String())
	}
}

func getMetrics(t *testing.T, url string) string {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	parseMetrics(t, string(b))
	return string(b)
}

// TestSyncStartsAfterEnrolment: a daemon that started before its
// terminal was enrolled picks the identity up without a restart, syncs,
// and the display leaves NOT ENROLLED with the first bundles that came
// with enrolment.
func TestSyncStartsAfterEnrolment(t *testing.T) {
	c := startCentre(t)
	c.publishTrust(t)
	var logs syncBuffer
	dir := t.TempDir()
	d := syncDaemon(t, dir, c.url, &logs)
	d.reloadEvery, d.syncEvery = 50*time.Millisecond, 100*time.Millisecond
	runDaemon(t, d, &logs)
	if d.sync.Load() != nil || !d.displayStatus().NotEnrolled {
		t.Fatal("not enrolled, yet syncing or enrolled on the display")
	}
	device := c.enrolTerminalInto(t, dir)
	waitFor(t, "sync with the new identity", func() (bool, string) {
		s := d.sync.Load()
		if s == nil {
			return false, "no syncer\n" + logs.String()
		}
		sst := s.State()
		online, last := sst.Online, sst.Last
		return s.device == device && online && !last.IsZero(), fmt.Sprintf("device %s online %v last %v", s.device, online, last)
	})
	waitFor(t, "the display leaves NOT ENROLLED", func() (bool, string) {
		st := d.displayStatus()
		return !st.NotEnrolled, fmt.Sprintf("%+v\n%s", st, logs.String())
	})
	if !strings.Contains(logs.String(), "enrolment found: sync started without a restart") {
		t.Errorf("the log does not say so:\n%s", logs.String())
	}
}

// TestSyncRevokedRunning: ops revoke a terminal while its daemon runs with
// open connections: its next request is refused (no upload is accepted
// afterwards), the terminal records and shows that it was removed from
// service, and it stops asking.
func TestSyncRevokedRunning(t *testing.T) {
	c := startCentre(t)
	dir, device := c.enrolTerminal(t)
	var logs syncBuffer
	d := syncDaemon(t, dir, c.url, &logs)
	d.syncEvery = 100 * time.Millisecond
	runDaemon(t, d, &logs)
	// Enrolled, but the centre published no trust bundle: not "NOT
	// ENROLLED", but no keys yet.
	if st := d.displayStatus(); st.NotEnrolled || !st.NoKeys {
		t.Errorf("enrolled without a trust bundle: got not enrolled %v, no keys %v; want false, true", st.NotEnrolled, st.NoKeys)
	}
	ctx := context.Background()
	if _, err := d.gate.Process(ctx, "in-1", []byte("NOT A HEALTH CODE")); err != nil {
		t.Fatal(err)
	}
	epoch := central.Epoch(d.journal.Epoch())
	waitFor(t, "the first passage at the centre", func() (bool, string) {
		hw, err := c.store.HighWater(ctx, device, epoch)
		return err == nil && hw == 1, fmt.Sprintf("high water %d (%v)", hw, err)
	})

	fst := c.store // as `devices revoke` does, through serve's store
	if err := fst.RevokeDevice(context.Background(), device, time.Now()); err != nil {
		t.Fatal(err)
	}
	if _, err := d.gate.Process(ctx, "in-1", []byte("NOT A HEALTH CODE")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the terminal learns it was revoked", func() (bool, string) {
		msg, ok := d.sync.Load().Revoked()
		return ok && strings.Contains(msg, device), fmt.Sprintf("revoked %v %q\n%s", ok, msg, logs.String())
	})
	if hw, _ := c.store.HighWater(ctx, device, epoch); hw != 1 {
		t.Errorf("got high water %d after the revocation, want 1: an upload was accepted", hw)
	}
	if st := d.displayStatus(); st.Revoked == "" {
		t.Error("the display does not show the revocation")
	}
	if r, ok, err := enrol.Revoked(dir); err != nil || !ok || r.Device != device {
		t.Errorf("recorded revocation: %+v %v %v", r, ok, err)
	}
	if m := getMetrics(t, "http://"+d.mgmtAddr.String()+"/metrics"); !strings.Contains(m, "sentinel_revoked 1\n") {
		t.Errorf("/metrics lacks sentinel_revoked 1")
	}
	if n := strings.Count(logs.String(), "the centre revoked this terminal"); n != 1 {
		t.Errorf("got %d log lines of the revocation, want 1:\n%s", n, logs.String())
	}
}

// TestTrackTransportRevoked: once the centre said device-revoked, the
// transport sends one request an hour and answers the others itself with
// the same refusal; an injected clock drives the hour.
func TestTrackTransportRevoked(t *testing.T) {
	var sent atomic.Int32
	var serveAgain bool
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		sent.Add(1)
		if serveAgain {
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
		}
		h := http.Header{}
		h.Set(enrol.RefusalHeader, enrol.CodeRevoked)
		return &http.Response{StatusCode: http.StatusForbidden, Header: h, Body: io.NopCloser(strings.NewReader(`{"code":"device-revoked","message":"removed: call ops"}`)), Request: r}, nil
	})
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	var told []string
	tr := &trackTransport{base: base, now: func() time.Time { return now }, probeEvery: time.Hour, onRevoked: func(m string) { told = append(told, m) }}
	get := func() error {
		req, _ := http.NewRequest(http.MethodGet, "https://centre.invalid/v1/time", nil)
		resp, err := tr.RoundTrip(req)
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			if !strings.Contains(string(b), "device-revoked") {
				t.Errorf("the client's body was consumed: %q", b)
			}
		}
		return err
	}
	if err := get(); err != nil {
		t.Fatal(err)
	}
	for range 150 {
		now = now.Add(30 * time.Second)
		// Answered as the centre would, sent or not.
		if err := get(); err != nil {
			t.Fatal(err)
		}
	}
	// 75 minutes of requests every 30 s: the first and one probe after an
	// hour went out.
	if n := sent.Load(); n != 2 {
		t.Errorf("sent %d requests in 75 minutes, want 2", n)
	}
	if len(told) != 1 || told[0] != "removed: call ops" {
		t.Errorf("told %q, want the centre's words once", told)
	}
	// A revocation undone at the centre: the next probe finds the
	// terminal served again, and it is back in service.
	restored := 0
	tr.onRestored = func() { restored++ }
	serveAgain = true
	now = now.Add(time.Hour)
	req, _ := http.NewRequest(http.MethodGet, "https://centre.invalid/v1/time", nil)
	if _, err := tr.RoundTrip(req); err != nil {
		t.Fatal(err)
	}
	if _, revoked := tr.Revoked(); revoked || restored != 1 {
		t.Errorf("after a served probe: revoked %v, restored %d times; want false, 1", revoked, restored)
	}
}

// TestTrackTransportStaleSuccess: an exchange sent before the centre's
// revocation that succeeds after it (the upload is refused while the
// download was already under way) says nothing of the revocation: the
// terminal stays removed from service, and says so once, until a request
// sent after the revocation is served.
func TestTrackTransportStaleSuccess(t *testing.T) {
	inFlight, release := make(chan struct{}), make(chan struct{})
	var serveAgain atomic.Bool
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		ok := func() (*http.Response, error) {
			return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader("")), Request: r}, nil
		}
		if r.URL.Path == "/v1/time" {
			close(inFlight)
			<-release // answered before the revocation, read after it
			return ok()
		}
		if serveAgain.Load() {
			return ok()
		}
		h := http.Header{}
		h.Set(enrol.RefusalHeader, enrol.CodeRevoked)
		return &http.Response{StatusCode: http.StatusForbidden, Header: h, Body: io.NopCloser(strings.NewReader(`{"code":"device-revoked","message":"removed: call ops"}`)), Request: r}, nil
	})
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	var told []string
	restored := 0
	tr := &trackTransport{base: base, probeEvery: time.Hour,
		now:        func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
		onRevoked:  func(m string) { mu.Lock(); defer mu.Unlock(); told = append(told, m) },
		onRestored: func() { mu.Lock(); defer mu.Unlock(); restored++ },
	}
	send := func(path string) {
		req, _ := http.NewRequest(http.MethodGet, "https://centre.invalid"+path, nil)
		if resp, err := tr.RoundTrip(req); err != nil {
			t.Error(err)
		} else {
			resp.Body.Close()
		}
	}
	done := make(chan struct{})
	go func() { defer close(done); send("/v1/time") }()
	<-inFlight
	send("/v1/upload")
	close(release)
	<-done
	if _, revoked := tr.Revoked(); !revoked || restored != 0 {
		t.Errorf("after a success sent before the revocation: revoked %v, restored %d times; want true, 0", revoked, restored)
	}
	// The next probe, an hour on, is still refused: no second revocation.
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	send("/v1/upload")
	if len(told) != 1 {
		t.Errorf("told %q, want the revocation once", told)
	}
	// Only a request sent after the revocation and served restores.
	serveAgain.Store(true)
	mu.Lock()
	now = now.Add(time.Hour)
	mu.Unlock()
	send("/v1/upload")
	if _, revoked := tr.Revoked(); revoked || restored != 1 {
		t.Errorf("after a served probe: revoked %v, restored %d times; want false, 1", revoked, restored)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// sliceSource reads the given codes, then blocks.
type sliceSource struct {
	codes []string
	i     int
}

func (s *sliceSource) Next(ctx context.Context) (scanner.Code, error) {
	if s.i < len(s.codes) {
		s.i++
		return scanner.Code{Text: []byte(s.codes[s.i-1]), Source: "fake"}, nil
	}
	<-ctx.Done()
	return scanner.Code{}, ctx.Err()
}
func (s *sliceSource) Status() scanner.Status { return scanner.Status{} }
func (s *sliceSource) Close() error           { return nil }

// TestScannedTicketEnrols: the ticket's QR code shown to a lane's scanner
// is not judged as a person's code; it enrols the terminal, and a running
// daemon then syncs.
func TestScannedTicketEnrols(t *testing.T) {
	c := startCentre(t)
	c.publishTrust(t)
	fst := c.store
	value, tok, err := centralenrol.NewToken("gate-1", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := fst.AddEnrolToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	ca, err := centralenrol.LoadCA(c.data, false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	u, _ := url.Parse(c.enrolU)
	tk, err := enrol.NewTicket(value, u.Host, ca.Cert.Raw)
	if err != nil {
		t.Fatal(err)
	}

	var got []string
	tap := enrolTap{Source: &sliceSource{codes: []string{tk.QR(), "HC1:person"}}, onTicket: func(s string) { got = append(got, s) }}
	code, err := tap.Next(context.Background())
	if err != nil || string(code.Text) != "HC1:person" || len(got) != 1 || got[0] != tk.QR() {
		t.Fatalf("got code %q (%v), tickets %q; want the person's code passed on and the ticket taken", code.Text, err, got)
	}

	var logs syncBuffer
	dir := t.TempDir()
	d := syncDaemon(t, dir, c.url, &logs)
	d.reloadEvery = 50 * time.Millisecond
	runDaemon(t, d, &logs)
	d.enrolFromScan(tk.QR())
	d.enrolFromScan(tk.QR()) // the scanner repeats it: one enrolment
	waitFor(t, "sync after the scanned enrolment", func() (bool, string) {
		// The enrolment watcher may start sync before the enrolling
		// goroutine logs its line: wait for both.
		s := d.sync.Load()
		done := strings.Contains(logs.String(), "enrolled from a scanned code")
		return s != nil && !d.displayStatus().NotEnrolled && done, logs.String()
	})
	if ds, _ := fst.Enrolled(context.Background()); len(ds) != 1 {
		t.Errorf("got %d devices, want 1", len(ds))
	}
	if n := strings.Count(logs.String(), "enrolled from a scanned code"); n != 1 {
		t.Errorf("got %d enrolments, want 1:\n%s", n, logs.String())
	}
	d.enrolFromScan(tk.QR())
	if note := d.displayStatus().EnrolNote; !strings.Contains(note, "enrolled already") {
		t.Errorf("scanned again when enrolled: note %q", note)
	}
}
