package terminal

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sentinel/crypto/trust"
	"sentinel/internal/version"
	"sentinel/sync/client"
	"sentinel/sync/enrol"
	"sentinel/sync/journal"
	"sentinel/sync/protocol"
	"sentinel/sync/server"
)

// Timing of the sync parts.
const (
	// defaultRenewEvery is how often the certificate's renewal is checked.
	defaultRenewEvery = time.Hour
	// renewTimeout bounds one renewal request.
	renewTimeout = time.Minute
	// finalUploadTimeout bounds the last upload at drain, after the lanes
	// stopped.
	finalUploadTimeout = 3 * time.Second
)

// syncer is the terminal's side of the centre: the journal upload, the
// bundle download and the renewal of the device certificate. It holds the
// device's TLS identity and reloads it after a renewal.
type syncer struct {
	dataDir, url, device string
	logger               *slog.Logger
	now                  func() (time.Time, bool)
	renewEvery           time.Duration
	interval             time.Duration // the clients' idle interval (0: their default)
	hc                   *http.Client

	cert      atomic.Pointer[tls.Certificate]
	transport *http.Transport
	track     *trackTransport
	up        *client.Client
	down      *client.Downloader // nil without a pinned root
	health    *client.Reporter

	cancel context.CancelFunc
	wg     sync.WaitGroup
	stop   sync.Once
}

// revokedProbeEvery is how often a terminal the centre revoked asks it
// again (one request): no hard retrying, but a centre whose revocation
// was a mistake sees the terminal; re-enrolment starts it afresh.
const revokedProbeEvery = time.Hour

// syncOptions configure newSyncer.
type syncOptions struct {
	dataDir, url string
	journal      *journal.Journal
	// now is the terminal's clock and whether it is trusted.
	now func() (time.Time, bool)
	// clock gets the centre's signed time; nil: not observed.
	clock client.TimeObserver
	// interval, when not zero, replaces the clients' idle intervals
	// (tests); renewEvery the renewal check's (defaultRenewEvery).
	interval, renewEvery time.Duration
	// reportEvery is the health report's interval
	// (client.DefaultReportEvery when 0).
	reportEvery time.Duration
	// lanes returns the state of the lanes' devices for the health
	// report; nil reports none.
	lanes func() []protocol.LaneHealth
	// onBundle takes every bundle the downloader verified, before it is
	// written (client.DownloadOptions.OnBundle); installed is told once it
	// is written. bundles reports the bundles in force for the health
	// report. All three may be nil.
	onBundle  func(*trust.Bundle, []byte) error
	installed func(trust.Kind, uint64)
	bundles   func(now time.Time) []protocol.BundleHealth
	// syncErrors counts the failed exchanges by kind and error
	// (sentinel_sync_errors_total); nil counts none.
	syncErrors *prometheus.CounterVec
	logger     *slog.Logger
}

// enrolled says whether dataDir holds a device identity from enrolment.
func enrolled(dataDir string) (bool, error) {
	for _, f := range []string{enrol.CertFile, enrol.KeyFile} {
		_, err := os.Stat(filepath.Join(dataDir, f))
		if errors.Is(err, fs.ErrNotExist) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("sync: device identity: %w", err)
		}
	}
	return true, nil
}

// newSyncer builds the sync parts for an enrolled terminal. It returns nil
// and no error when the terminal is not enrolled or no centre is
// configured: the terminal then works on its own, and says so once.
func newSyncer(o syncOptions) (*syncer, error) {
	ok, err := enrolled(o.dataDir)
	if err != nil {
		return nil, err
	}
	if !ok {
		o.logger.Info("not enrolled: no sync until 'sentinelctl enrol' writes the identity", "identity", filepath.Join(o.dataDir, enrol.CertFile))
		return nil, nil
	}
	if o.url == "" {
		o.logger.Info("no central URL configured: no sync")
		return nil, nil
	}
	cfg, err := enrol.ClientTLSConfig(o.dataDir)
	if err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	leaf := cfg.Certificates[0].Leaf
	device, ok := enrol.DeviceID(leaf)
	if !ok {
		device = leaf.Subject.CommonName
	}
	s := &syncer{dataDir: o.dataDir, url: o.url, device: device, logger: o.logger, now: o.now, renewEvery: o.renewEvery, interval: o.interval}
	if s.renewEvery <= 0 {
		s.renewEvery = defaultRenewEvery
	}
	s.cert.Store(&cfg.Certificates[0])
	cfg.Certificates = nil
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return s.cert.Load(), nil }
	s.transport = &http.Transport{
		TLSClientConfig: cfg, ForceAttemptHTTP2: true, Proxy: http.ProxyFromEnvironment,
		MaxIdleConnsPerHost: 2, IdleConnTimeout: 90 * time.Second, TLSHandshakeTimeout: 10 * time.Second,
	}
	s.track = &trackTransport{base: s.transport, now: func() time.Time { t, _ := o.now(); return t }, probeEvery: revokedProbeEvery, errors: o.syncErrors}
	s.track.onRevoked = func(msg string) {
		t, _ := o.now()
		r := enrol.Revocation{Device: device, At: t.UTC(), Message: msg}
		if err := enrol.MarkRevoked(o.dataDir, r); err != nil {
			o.logger.Error("could not record the revocation", "error", err)
		}
		o.logger.Error("the centre revoked this terminal: it was removed from service; sync stops, one request an hour", "device", device, "centre_says", msg)
	}
	s.track.onRestored = func() {
		if err := os.Remove(filepath.Join(o.dataDir, enrol.RevokedFile)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			o.logger.Error("could not remove the record of the revocation", "error", err)
		}
		o.logger.Warn("the centre serves this terminal again: back in service", "device", device)
	}
	switch r, revoked, err := enrol.Revoked(o.dataDir); {
	case err != nil:
		return nil, fmt.Errorf("sync: %w", err)
	case revoked && r.Device == device:
		s.track.setRevoked(r.Message, time.Time{})
		o.logger.Error("this terminal was revoked by the centre: removed from service; re-enrol it to use it again", "device", device, "since", r.At, "centre_says", r.Message)
	}
	hc := &http.Client{Transport: s.track}
	s.hc = hc

	s.up, err = client.New(o.journal, client.Options{
		URL: o.url, Device: device, HTTP: hc, Interval: o.interval,
		Logger: o.logger.With("part", "upload"),
	})
	if err != nil {
		return nil, fmt.Errorf("sync: upload: %w", err)
	}
	root, err := readRoot(o.dataDir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		o.logger.Warn("no pinned operator root: bundles are not downloaded; enrol again", "path", filepath.Join(o.dataDir, rootFile))
	case err != nil:
		return nil, err
	default:
		s.down, err = client.NewDownloader(client.DownloadOptions{
			URL: o.url, HTTP: hc, DataDir: o.dataDir, Root: root, Now: o.now, Clock: o.clock,
			OnBundle: o.onBundle, Installed: o.installed,
			Interval: o.interval, Logger: o.logger.With("part", "download"),
		})
		if err != nil {
			return nil, fmt.Errorf("sync: download: %w", err)
		}
	}
	s.health, err = client.NewReporter(healthFunc(o, root), client.ReporterOptions{
		URL: o.url, Device: device, HTTP: hc, Every: o.reportEvery, Logger: o.logger.With("part", "health"),
	})
	if err != nil {
		return nil, fmt.Errorf("sync: health: %w", err)
	}
	return s, nil
}

// Start starts the upload, download and renewal loops; Stop ends them.
func (s *syncer) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	s.up.Start(ctx)
	s.health.Start(ctx)
	if s.down != nil {
		s.down.Start(ctx)
	}
	s.wg.Go(func() { s.renewLoop(ctx) })
	s.wg.Go(func() { s.salvageLoop(ctx) })
	s.logger.Info("sync started", "central", s.url, "device", s.device, "download", s.down != nil)
}

// Stop stops the loops and waits for them. It may be called more than once.
func (s *syncer) Stop() {
	s.stop.Do(func() {
		if s.cancel != nil {
			s.cancel()
		}
		s.up.Stop()
		s.health.Stop()
		if s.down != nil {
			s.down.Stop()
		}
		s.wg.Wait()
	})
}

// Close stops the loops and lets go of the connections.
func (s *syncer) Close() {
	s.Stop()
	s.transport.CloseIdleConnections()
}

// FinalUpload makes one last attempt, within finalUploadTimeout, to upload
// what the journal holds beyond the centre's mark; call it after Stop and
// before the journal closes. Failing is normal offline: the records stay
// in the journal for the next start.
func (s *syncer) FinalUpload(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, finalUploadTimeout)
	defer cancel()
	if err := s.up.Flush(ctx); err != nil {
		s.logger.Info("final upload incomplete: the journal keeps the rest for the next start", "error", err)
		return
	}
	s.logger.Info("final upload done")
}

// Kick asks the upload loop to send now, after a passage was journalled.
func (s *syncer) Kick() { s.up.Kick() }

// KickHealth asks for a health report now: a lane's device changed.
func (s *syncer) KickHealth() { s.health.Kick() }

// State says how the exchanges with the centre go.
func (s *syncer) State() syncState { return s.track.state() }

// refusedSuffix ends the name of a queued salvage the centre refused.
const refusedSuffix = ".refused"

// salvageLoop delivers the salvaged journals queued in the data directory
// (by sentineld at start or by sentinelctl journal salvage), one after
// another, at start and every interval until none is left; each is marked
// delivered once the centre holds it all.
func (s *syncer) salvageLoop(ctx context.Context) {
	every := s.interval
	if every <= 0 {
		every = client.DefaultInterval
	}
	failed := map[string]string{}
	for {
		queued, err := journal.Queued(s.dataDir)
		if err != nil {
			s.logger.Error("salvaged journals: read the data directory", "error", err)
		}
		for _, path := range queued {
			if err := s.deliverSalvage(ctx, path); err != nil {
				if ctx.Err() != nil {
					return
				}
				if errors.Is(err, client.ErrRefused) {
					// Retrying the same bytes cannot help (e.g. another
					// terminal's journal): keep it out of the queue.
					kept := path + refusedSuffix
					if rerr := os.Rename(path, kept); rerr != nil {
						s.logger.Error("salvaged journal refused by the centre; could not set it aside", "file", path, "error", rerr)
					} else {
						s.logger.Error("the centre refuses this salvaged journal: it is kept, not sent again; ask central ops", "file", kept, "error", err)
					}
					continue
				}
				if failed[path] != err.Error() {
					s.logger.Warn("salvaged journal not delivered yet; retrying", "file", path, "error", err)
				}
				failed[path] = err.Error()
				continue
			}
			delete(failed, path)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(every):
		}
	}
}

// deliverSalvage uploads one queued salvage and marks it delivered.
func (s *syncer) deliverSalvage(ctx context.Context, path string) error {
	sv, err := journal.ReadQueued(path)
	if err != nil {
		return err
	}
	src := journal.NewSalvageSource(sv)
	up, err := client.New(src, client.Options{
		URL: s.url, Device: s.device, HTTP: s.hc, Salvaged: true,
		Logger: s.logger.With("part", "salvage"),
	})
	if err != nil {
		return err
	}
	if err := up.Flush(ctx); err != nil {
		return err
	}
	if !src.Done() {
		acked, _ := src.Acked()
		return fmt.Errorf("the centre acknowledged up to %d of %d", acked, sv.Last())
	}
	if err := journal.MarkDelivered(path); err != nil {
		return err
	}
	s.logger.Info("salvaged journal delivered to the centre", "file", path, "epoch", sv.Epoch,
		"records", len(sv.Records), "first", sv.First(), "last", sv.Last())
	return nil
}

// Revoked returns the centre's words when it revoked this terminal.
func (s *syncer) Revoked() (string, bool) { return s.track.Revoked() }

// renewLoop checks the certificate at start and every renewEvery, and
// renews it over mutual TLS when due.
func (s *syncer) renewLoop(ctx context.Context) {
	t := time.NewTicker(s.renewEvery)
	defer t.Stop()
	var lastErr string
	for {
		if err := s.renewIfDue(ctx); err != nil && ctx.Err() == nil {
			if err.Error() != lastErr {
				s.logger.Warn("certificate renewal failed: retried hourly; an expired certificate needs a new enrolment", "error", err)
			}
			lastErr = err.Error()
		} else if err == nil {
			lastErr = ""
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// renewIfDue renews the certificate when a third of its lifetime remains
// (on a trusted clock only) and then uses the new one for every call.
func (s *syncer) renewIfDue(ctx context.Context) error {
	now, trusted := s.now()
	if !trusted {
		return nil
	}
	due, expiry, err := enrol.RenewDue(s.dataDir, now)
	if err != nil || !due {
		return err
	}
	rctx, cancel := context.WithTimeout(ctx, renewTimeout)
	defer cancel()
	until, err := enrol.Renew(rctx, s.dataDir, s.url)
	if err != nil {
		return fmt.Errorf("renew certificate expiring %s: %w", expiry.Format(time.RFC3339), err)
	}
	if err := s.reloadCert(); err != nil {
		return err
	}
	s.logger.Info("certificate renewed", "device", s.device, "until", until)
	return nil
}

// reloadCert reads the certificate again and closes the idle connections,
// so that the next handshake presents it.
func (s *syncer) reloadCert() error {
	cfg, err := enrol.ClientTLSConfig(s.dataDir)
	if err != nil {
		return fmt.Errorf("reload certificate: %w", err)
	}
	s.cert.Store(&cfg.Certificates[0])
	s.transport.CloseIdleConnections()
	return nil
}

// backlog returns how many journal records the centre has not
// acknowledged.
func backlog(j *journal.Journal) (uint64, error) {
	_, seqs, err := j.Tail(1)
	if err != nil || len(seqs) == 0 {
		return 0, err
	}
	acked, err := j.Acked()
	if err != nil {
		return 0, err
	}
	if seqs[0] <= acked {
		return 0, nil
	}
	return uint64(seqs[0] - acked), nil
}

// trackTransport records how the exchanges with the centre went: the
// clients do not report their rounds, so the exchanges are watched where
// they pass. Each kind of exchange (an HTTP path: the upload, each bundle
// kind, the status list, the time, health, renewal) keeps the outcome of
// its last try, so that a working upload does not hide failing downloads.
// It
// also reads the centre's word that this terminal is revoked (403 with
// enrol.RefusalHeader device-revoked, whatever the call): from then on it
// lets one request an hour through and fails the others at once, so the
// clients stop retrying hard.
type trackTransport struct {
	base       http.RoundTripper
	now        func() time.Time
	probeEvery time.Duration
	onRevoked  func(msg string)       // called once, when the centre first says so
	onRestored func()                 // called when the centre serves a revoked terminal again
	errors     *prometheus.CounterVec // failed exchanges by kind and error; may be nil

	notify    sync.Mutex // one change of the revocation (and its telling) at a time
	mu        sync.Mutex
	ok        map[string]bool // path → the last exchange succeeded
	reachable bool            // the last exchange got an HTTP answer
	last      time.Time       // the last successful exchange
	revoked   string          // the centre's words; empty: not revoked
	lastProbe time.Time       // when a revoked terminal last asked
	// word counts the centre's revocations heard: a success restores only
	// when its request went out while revoked and no refusal came since,
	// so that an answer to a request sent before the revocation (another
	// part's, in flight when the upload was refused) cannot undo it.
	word uint64
}

var _ http.RoundTripper = (*trackTransport)(nil)

// RoundTrip passes r on. A 2xx, a 304 and a 404 saying that nothing is
// published are successful exchanges; anything else, and no answer, is a
// failed one.
func (t *trackTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.mu.Lock()
	probe, word := t.revoked != "", t.word
	if probe {
		now := t.now()
		if !t.lastProbe.IsZero() && now.Sub(t.lastProbe) < t.probeEvery && now.Sub(t.lastProbe) >= 0 {
			msg := t.revoked
			t.mu.Unlock()
			// The centre's answer again, without asking: each client
			// treats it as the refusal it is, the same words each time.
			return revokedResponse(r, msg), nil
		}
		t.lastProbe = now
	}
	t.mu.Unlock()
	resp, err := t.base.RoundTrip(r)
	if errors.Is(r.Context().Err(), context.Canceled) {
		return resp, err // stopping: says nothing of the centre
	}
	if err == nil && resp.StatusCode == http.StatusForbidden && resp.Header.Get(enrol.RefusalHeader) == enrol.CodeRevoked {
		t.setRevoked(revokedMessage(resp), t.now())
	}
	ok := err == nil && (resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusNotModified ||
		resp.StatusCode == http.StatusNotFound && resp.Header.Get(server.HeaderState) == server.StateNotPublished)
	if !ok && t.errors != nil {
		t.errors.WithLabelValues(exchangeKind(r.URL.Path), exchangeError(resp, err)).Inc()
	}
	t.mu.Lock()
	if t.ok == nil {
		t.ok = make(map[string]bool)
	}
	t.ok[r.URL.Path] = ok
	t.reachable = err == nil && resp.StatusCode != http.StatusTooManyRequests && resp.StatusCode < 500
	if ok {
		t.last = t.now()
	}
	t.mu.Unlock()
	if ok && probe && (resp.StatusCode/100 == 2 || resp.StatusCode == http.StatusNotModified) {
		t.setRestored(word)
	}
	return resp, err
}

// setRestored ends the revocation after a request that went out while
// revoked was served: the centre serves this identity again. word is the
// count of revocations heard when the request went out; a refusal heard
// since is newer than this answer, and stands.
func (t *trackTransport) setRestored(word uint64) {
	t.notify.Lock()
	defer t.notify.Unlock()
	t.mu.Lock()
	restored := t.revoked != "" && t.word == word
	if restored {
		t.revoked = ""
	}
	t.mu.Unlock()
	if restored && t.onRestored != nil {
		t.onRestored()
	}
}

// The kinds of exchange and of error in sentinel_sync_errors_total.
const (
	exchangeUpload = "upload" // the journal's upload (salvaged journals too)
	exchangeBundle = "bundle" // a bundle's download
	exchangeStatus = "status" // the status updates' download
	exchangeTime   = "time"   // the centre's signed time
	exchangeHealth = "health" // the health report
	exchangeRenew  = "renew"  // the certificate's renewal
	exchangeOther  = "other"

	syncErrNetwork = "network" // no answer: no route, refused, timed out, TLS
	syncErrRevoked = "revoked" // the centre revoked this terminal
	syncErrBusy    = "busy"    // 429 or 503: the centre asks to come back later
	syncErrServer  = "server"  // another 5xx
	syncErrRefused = "refused" // another 4xx: the centre refuses the request
)

// exchangeKind names the kind of exchange of a device call's path.
func exchangeKind(path string) string {
	_, rest, ok := strings.Cut(strings.TrimPrefix(path, "/"), "/") // past "vN"
	if !ok {
		return exchangeOther
	}
	switch first, _, _ := strings.Cut(rest, "/"); first {
	case "upload":
		return exchangeUpload
	case "bundles":
		return exchangeBundle
	case "status":
		return exchangeStatus
	case "time":
		return exchangeTime
	case "health":
		return exchangeHealth
	case "renew":
		return exchangeRenew
	}
	return exchangeOther
}

// exchangeError classes a failed exchange's answer.
func exchangeError(resp *http.Response, err error) string {
	switch {
	case err != nil:
		return syncErrNetwork
	case resp.StatusCode == http.StatusForbidden && resp.Header.Get(enrol.RefusalHeader) == enrol.CodeRevoked:
		return syncErrRevoked
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable:
		return syncErrBusy
	case resp.StatusCode >= 500:
		return syncErrServer
	}
	return syncErrRefused
}

// setRevoked records the centre's word; at is when it was probed last.
// The first word is told (onRevoked: the record on disk, the log) before
// Revoked reports it.
func (t *trackTransport) setRevoked(msg string, at time.Time) {
	t.notify.Lock()
	defer t.notify.Unlock()
	t.mu.Lock()
	first := t.revoked == ""
	t.mu.Unlock()
	if first && !at.IsZero() && t.onRevoked != nil {
		t.onRevoked(msg)
	}
	t.mu.Lock()
	t.revoked, t.lastProbe = msg, at
	t.word++
	t.mu.Unlock()
}

// revokedResponse is the centre's refusal of a revoked terminal, made
// here.
func revokedResponse(r *http.Request, msg string) *http.Response {
	body, _ := json.Marshal(enrol.Refusal{Code: enrol.CodeRevoked, Message: msg})
	h := http.Header{}
	h.Set(enrol.RefusalHeader, enrol.CodeRevoked)
	h.Set("Content-Type", "application/json")
	return &http.Response{
		Status: "403 Forbidden", StatusCode: http.StatusForbidden, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: h, Body: io.NopCloser(bytes.NewReader(body)), ContentLength: int64(len(body)), Request: r,
	}
}

// revokedMessage reads the refusal's words, leaving the body for the
// client that made the call.
func revokedMessage(resp *http.Response) string {
	const fallback = "this terminal was removed from service by the central office"
	if resp.Body == nil {
		return fallback
	}
	data, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(data))
	var r enrol.Refusal
	if json.Unmarshal(data, &r) != nil || r.Message == "" {
		return fallback
	}
	return r.Message
}

// syncState is how the exchanges with the centre go.
type syncState struct {
	// Online: every kind of exchange succeeded the last time it was tried.
	Online bool
	// Failing: the centre answers but refuses some exchange (not Online).
	Failing bool
	// Last is when an exchange last succeeded (zero: never).
	Last time.Time
}

func (t *trackTransport) state() syncState {
	t.mu.Lock()
	defer t.mu.Unlock()
	st := syncState{Online: len(t.ok) > 0 && t.revoked == "", Last: t.last}
	for _, ok := range t.ok {
		st.Online = st.Online && ok
	}
	st.Failing = !st.Online && t.reachable
	return st
}

// Revoked returns the centre's words when it revoked this terminal.
func (t *trackTransport) Revoked() (string, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.revoked, t.revoked != ""
}

// healthFunc builds the terminal's health report from what the syncer
// sees: the journal's last and acknowledged records and alarms, the
// bundles in force (o.bundles; none without a pinned root), the lanes
// (o.lanes) and the clock.
func healthFunc(o syncOptions, root crypto.PublicKey) client.HealthFunc {
	return func(context.Context) (*protocol.Health, error) {
		now, _ := o.now()
		h := &protocol.Health{Time: now, Software: version.String(), Alarms: uint64(len(o.journal.Alarms()))}
		_, seqs, err := o.journal.Tail(1)
		if err != nil {
			return nil, fmt.Errorf("journal tail: %w", err)
		}
		if len(seqs) > 0 {
			h.Last = uint64(seqs[0])
		}
		acked, err := o.journal.Acked()
		if err != nil {
			return nil, fmt.Errorf("journal acked: %w", err)
		}
		h.Acked = uint64(acked)
		if root != nil && o.bundles != nil {
			h.Bundles = o.bundles(now)
		}
		if o.lanes != nil {
			h.Lanes = o.lanes()
		}
		return h, nil
	}
}

// watchEnrolment starts sync once `sentinelctl enrol` wrote an identity
// into the data directory, and starts it again with the new identity after
// a re-enrolment (enrol --force), every `every` (defaultReloadEvery when
// 0), until ctx is done: the terminal needs no restart after enrolment.
// A renewed certificate keeps the device id and needs nothing here.
func (d *daemon) watchEnrolment(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = defaultReloadEvery
	}
	t := time.NewTicker(every)
	defer t.Stop()
	var lastErr string
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		id, ok := enrolledDevice(d.cfg.DataDir)
		cur := d.sync.Load()
		if !ok || (cur != nil && cur.device == id) {
			continue
		}
		next, err := newSyncer(d.syncOpts)
		if err != nil || next == nil {
			if err != nil && err.Error() != lastErr {
				d.logger.Error("enrolled, but sync cannot start", "error", err)
				lastErr = err.Error()
			}
			continue
		}
		if cur != nil {
			cur.Close()
		}
		next.Start(ctx)
		d.sync.Store(next)
		d.logger.Info("enrolment found: sync started without a restart", "device", next.device)
	}
}

// enrolledDevice returns the device id of the certificate in dataDir.
func enrolledDevice(dataDir string) (string, bool) {
	data, err := os.ReadFile(filepath.Join(dataDir, enrol.CertFile))
	if err != nil {
		return "", false
	}
	c, err := enrol.ParseCertificatePEM(data)
	if err != nil {
		return "", false
	}
	return enrol.DeviceID(c)
}
