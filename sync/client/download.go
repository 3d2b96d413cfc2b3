package client

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/atomicfile"
	"sentinel/internal/clock"
	"sentinel/sync/protocol"
	"sentinel/sync/server"
)

// StatusApplier takes verified status bundles in order; *status.List is
// one. LoadStatus feeds one from the data directory.
type StatusApplier interface {
	ApplyBase(b *trust.Bundle) error
	ApplyDelta(b *trust.Bundle) error
}

// TimeObserver takes the centre's verified signed time and the round trip
// it took; *clock.Monitor is one.
type TimeObserver interface {
	ObserveSignedTime(t time.Time, rtt time.Duration)
}

// TimeFailureObserver is a Clock that also learns why a round brought no
// signed time (code: clock.CodeCentralNoTime, CodeCentralUnreachable or
// CodeCentralInvalid), so that the guard and selftest can say why the
// clock is not trusted; *clock.Monitor is one.
type TimeFailureObserver interface {
	SignedTimeUnavailable(code, why string)
}

// ErrNoSignedTime: the centre answered that it does not sign its time.
var ErrNoSignedTime = errors.New("the centre does not sign its time (ops: run sentinel-central serve with --key and --delegation, without --no-time)")

// SignedTimeFailure classifies an error of SignedTime for the clock: a
// code of internal/clock and the words for the guard.
func SignedTimeFailure(err error) (code, why string) {
	var (
		ne    net.Error
		alert tls.AlertError
		cert  *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &alert):
		return clock.CodeCentralUnreachable, "the central system refused the connection (" + alert.Error() + ")"
	case errors.As(err, &cert):
		return clock.CodeCentralUnreachable, "the central system's certificate does not verify"
	case errors.Is(err, ErrNoSignedTime):
		return clock.CodeCentralNoTime, "the central system does not sign its time"
	case errors.Is(err, server.ErrTimeSigner), errors.Is(err, server.ErrTimeNonce), errors.Is(err, server.ErrDownload):
		return clock.CodeCentralInvalid, "the central system's time does not verify against the pinned root"
	case errors.As(err, &ne), errors.Is(err, context.DeadlineExceeded):
		return clock.CodeCentralUnreachable, "the central system is unreachable"
	}
	return clock.CodeCentralUnreachable, "the central system's time could not be fetched: " + err.Error()
}

// Where the downloader keeps what it installed, under DownloadOptions.DataDir.
const (
	BundleDir = "bundles"
	StateFile = "bundles/state.json"
	// ChainDir holds the status deltas since the base, one file per
	// version (20 digits), applied in order by LoadStatus.
	ChainDir = "bundles/status-delta"
	// MaxBundle bounds a bundle file the downloader reads.
	MaxBundle = 64 << 20
)

// DownloadOptions configure a Downloader.
type DownloadOptions struct {
	// URL is the centre's base URL.
	URL string
	// HTTP is the client (with the terminal's TLS certificate);
	// http.DefaultClient when nil.
	HTTP *http.Client
	// DataDir is the terminal's data directory: bundles go to
	// DataDir/bundles/KIND.bundle (required).
	DataDir string
	// Root is the pinned operator root (required).
	Root crypto.PublicKey
	// Now is the terminal's clock and whether it is trusted (a clock
	// Monitor's Now); time.Now, trusted, when nil. Bundles are not
	// checked while the clock is untrusted: only the time is fetched.
	Now func() (time.Time, bool)
	// Clock, when set, gets the centre's signed time each round.
	Clock TimeObserver
	// OnBundle, when set, is how the bundles reach the program that uses
	// them (sentineld) without a trip through the disk: it gets every
	// bundle a round verified, before it is written, with the signed
	// bytes; status bundles come one by one in chain order. An error
	// refuses the bundle as a failed verification does: it is not
	// written, the installed version stays, and the round reports the
	// error, so memory and disk never disagree on what was accepted. An
	// error that wraps ErrNeedBase on a status delta also makes the
	// downloader forget its status version: the next round asks the
	// centre for its base and chain again.
	OnBundle func(b *trust.Bundle, data []byte) error
	// Kinds are the bundles polled besides status (trust, policy and
	// config when nil).
	Kinds []trust.Kind
	// Timeout, MinBackoff, MaxBackoff, Interval and Rand are as for the
	// upload Client (Interval: between successful rounds).
	Timeout    time.Duration
	MinBackoff time.Duration
	MaxBackoff time.Duration
	Interval   time.Duration
	Rand       func() float64
	// Installed, when set, is called after a bundle was written.
	Installed func(kind trust.Kind, version uint64)
	// Logger gets failures, recoveries and installs (slog.Default when nil).
	Logger *slog.Logger
}

// ErrNeedBase is what an OnBundle hook wraps when it cannot take a status
// delta on top of the list it holds (a gap it cannot close from the data
// directory): the downloader then asks the centre for its status base.
var ErrNeedBase = errors.New("the terminal's status list cannot take this delta: the status base is fetched again")

// Downloader polls the centre for bundles, status and signed time, verifies
// them against the pinned root and what the terminal installed before,
// and writes them where sentineld reads them.
type Downloader struct {
	opts DownloadOptions

	mu     sync.Mutex // serialises rounds and guards state
	state  installed
	loaded bool

	loop loop
}

// installed is StateFile: what the terminal holds of each kind, and the
// revoked delegations it has seen, so that rollback protection and
// revocations survive restarts.
type installed struct {
	Kinds   map[trust.Kind]kindState `json:"kinds"`
	Status  uint64                   `json:"status_version"`
	Revoked []string                 `json:"revoked_delegations,omitempty"`
}

type kindState struct {
	Version uint64 `json:"version"`
	Digest  string `json:"digest"`
}

// NewDownloader returns a Downloader.
func NewDownloader(opts DownloadOptions) (*Downloader, error) {
	if opts.URL == "" || opts.DataDir == "" || opts.Root == nil {
		return nil, errors.New("client: new downloader: URL, DataDir and Root are required")
	}
	if opts.HTTP == nil {
		opts.HTTP = http.DefaultClient
	}
	if opts.Now == nil {
		opts.Now = func() (time.Time, bool) { return time.Now(), true }
	}
	if opts.Kinds == nil {
		opts.Kinds = []trust.Kind{trust.KindTrust, trust.KindPolicy, trust.KindConfig}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultMinBackoff
	}
	if opts.MaxBackoff <= 0 {
		opts.MaxBackoff = DefaultMaxBackoff
	}
	opts.MaxBackoff = max(opts.MaxBackoff, opts.MinBackoff)
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.Rand == nil {
		opts.Rand = mrand.Float64
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	opts.URL = strings.TrimRight(opts.URL, "/")
	return &Downloader{opts: opts}, nil
}

// Start starts the download loop; it runs until ctx ends or Stop.
func (d *Downloader) Start(ctx context.Context) { d.loop.start(ctx, d.run) }

// Stop stops the loop and waits for it.
func (d *Downloader) Stop() { d.loop.stop() }

// run is the download loop: a round at start and every Interval, with
// the shared retry after failures.
func (d *Downloader) run(ctx context.Context) {
	r := newRetry("download", d.opts.Interval, d.opts.MinBackoff, d.opts.MaxBackoff, d.opts.Rand, d.opts.Logger)
	r.run(ctx, nil, d.Sync)
}

// Sync runs one round: the signed time (when a Clock is set), then, on a
// trusted clock, every bundle kind and the status. It returns the errors
// of the round joined; a kind that fails does not stop the others.
func (d *Downloader) Sync(ctx context.Context) error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	if d.opts.Clock != nil {
		t, rtt, err := d.signedTime(ctx)
		if err != nil {
			errs = append(errs, err)
			if f, ok := d.opts.Clock.(TimeFailureObserver); ok && ctx.Err() == nil {
				f.SignedTimeUnavailable(SignedTimeFailure(err))
			}
		} else {
			d.opts.Clock.ObserveSignedTime(t, rtt)
		}
	}
	if err := d.load(); err != nil {
		return errors.Join(append(errs, err)...)
	}
	now, trusted := d.opts.Now()
	if !trusted {
		return errors.Join(append(errs, errors.New("client: download: the clock is not trusted yet: bundles wait for the centre's signed time"))...)
	}
	for _, k := range d.opts.Kinds {
		if err := d.bundle(ctx, k, now); err != nil {
			errs = append(errs, err)
		}
	}
	if err := d.status(ctx, now); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// SignedTime fetches the centre's signed time for a fresh nonce and
// returns it with the round trip; it does not feed the Clock.
func (d *Downloader) SignedTime(ctx context.Context) (time.Time, time.Duration, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.load(); err != nil {
		return time.Time{}, 0, err
	}
	return d.signedTime(ctx)
}

func (d *Downloader) signedTime(ctx context.Context) (time.Time, time.Duration, error) {
	nonce := make([]byte, 32)
	rand.Read(nonce)
	start := time.Now()
	body, _, err := d.get(ctx, server.TimePath(protocol.Version, nonce), "", server.MaxTimeResponse)
	rtt := time.Since(start)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("client: signed time: %w", err)
	}
	t, err := server.VerifyTime(body, d.opts.Root, nonce, d.revoked())
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("client: signed time: %w", err)
	}
	return t, rtt, nil
}

// errNotModified is a 304; errNotPublished a 404 for a kind the centre has
// not published yet, which is normal and no fault.
var (
	errNotModified  = errors.New("not modified")
	errNotPublished = errors.New("not published yet")
)

// get fetches path with its own timeout. A 304 gives errNotModified.
func (d *Downloader) get(ctx context.Context, path, etag string, limit int64) ([]byte, http.Header, error) {
	ctx, cancel := context.WithTimeout(ctx, d.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.opts.URL+path, nil)
	if err != nil {
		return nil, nil, err
	}
	if etag != "" {
		req.Header.Set("If-None-Match", etag)
	}
	resp, err := d.opts.HTTP.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return nil, nil, fmt.Errorf("read answer: %w", err)
	}
	switch {
	case resp.StatusCode == http.StatusNotModified:
		return nil, resp.Header, errNotModified
	case resp.StatusCode == http.StatusNotFound && resp.Header.Get(server.HeaderState) == server.StateNotPublished:
		return nil, resp.Header, errNotPublished
	case resp.StatusCode == http.StatusNotFound && (resp.Header.Get(server.HeaderState) == server.StateNoTime ||
		strings.Contains(string(b), "does not sign its time")): // centres before the header
		return nil, nil, ErrNoSignedTime
	case resp.StatusCode != http.StatusOK:
		err := fmt.Errorf("centre answered %d: %s", resp.StatusCode, strings.TrimSpace(string(b[:min(len(b), 200)])))
		return nil, nil, classify(resp.StatusCode, resp.Header, err)
	case int64(len(b)) > limit:
		return nil, nil, fmt.Errorf("answer over %d bytes", limit)
	}
	return b, resp.Header, nil
}

// bundle polls one kind and installs what verifies.
func (d *Downloader) bundle(ctx context.Context, k trust.Kind, now time.Time) error {
	st := d.state.Kinds[k]
	etag := ""
	if st.Digest != "" {
		etag = `"` + st.Digest + `"`
	}
	body, _, err := d.get(ctx, server.BundlePath(protocol.Version, k), etag, MaxBundle)
	if errors.Is(err, errNotModified) || errors.Is(err, errNotPublished) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("client: download %s: %w", k, err)
	}
	var (
		version uint64
		digest  [32]byte
		revoked []trust.KeyID
	)
	b, _, err := trust.OpenBundle(body, d.opts.Root, now, d.last(k))
	if err != nil {
		return fmt.Errorf("client: download %s: refused: %w", k, err)
	}
	if b.Kind != k {
		return fmt.Errorf("client: download %s: refused: %w: got %s", k, trust.ErrWrongKind, b.Kind)
	}
	version, digest = b.Version, b.Digest
	if k == trust.KindTrust {
		_, info, err := trust.LoadTrustBundle(body, d.opts.Root, now, d.last(k))
		if err != nil {
			return fmt.Errorf("client: download %s: refused: %w", k, err)
		}
		revoked = info.Revoked
	}
	if d.opts.OnBundle != nil {
		if err := d.opts.OnBundle(b, body); err != nil {
			return fmt.Errorf("client: download %s: refused by the terminal: %w", k, err)
		}
	}
	if err := atomicfile.WriteFile(filepath.Join(d.opts.DataDir, BundleDir, string(k)+".bundle"), body, 0o644); err != nil {
		return fmt.Errorf("client: install %s: %w", k, err)
	}
	next := d.state.clone()
	next.Kinds[k] = kindState{Version: version, Digest: hex.EncodeToString(digest[:])}
	next.addRevoked(revoked)
	if err := d.save(next); err != nil {
		return fmt.Errorf("client: install %s: %w", k, err)
	}
	d.installed(k, version)
	return nil
}

// status fetches and installs the status deltas (or a base and its
// deltas) since the installed status version, in order.
func (d *Downloader) status(ctx context.Context, now time.Time) error {
	body, _, err := d.get(ctx, server.StatusPath(protocol.Version, d.state.Status), "", server.MaxStatusResponse)
	if errors.Is(err, errNotModified) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("client: download status: %w", err)
	}
	sr, err := server.DecodeStatusResponse(body)
	if err != nil {
		return fmt.Errorf("client: download status: %w", err)
	}
	for i, f := range sr.Bundles {
		if err := d.statusBundle(f, now); err != nil {
			return fmt.Errorf("client: download status: bundle %d of %d: %w", i+1, len(sr.Bundles), err)
		}
	}
	return nil
}

func (d *Downloader) statusBundle(data []byte, now time.Time) error {
	// The kind decides which state the rollback check uses: open it once
	// to learn the kind, then against that kind's state.
	b, _, err := trust.OpenBundle(data, d.opts.Root, now, trust.State{Revoked: d.revoked()})
	if err == nil {
		b, _, err = trust.OpenBundle(data, d.opts.Root, now, d.last(b.Kind))
	}
	if err != nil {
		return fmt.Errorf("refused: %w", err)
	}
	next := d.state.clone()
	switch b.Kind {
	case trust.KindStatusBase:
		if b.Version <= d.state.Status {
			return fmt.Errorf("refused: %w", &trust.RollbackError{Kind: b.Kind, Offered: b.Version, Installed: d.state.Status})
		}
		if d.opts.OnBundle != nil {
			if err := d.opts.OnBundle(b, data); err != nil {
				return err
			}
		}
		if err := atomicfile.WriteFile(filepath.Join(d.opts.DataDir, BundleDir, string(b.Kind)+".bundle"), data, 0o644); err != nil {
			return err
		}
		if err := d.clearChain(); err != nil {
			return err
		}
		delete(next.Kinds, trust.KindStatusDelta)
	case trust.KindStatusDelta:
		if d.state.Status == 0 || b.Base != d.state.Status {
			return fmt.Errorf("refused: delta v%d applies to status v%d, the terminal holds v%d: the centre will send a base", b.Version, b.Base, d.state.Status)
		}
		if d.opts.OnBundle != nil {
			if err := d.opts.OnBundle(b, data); err != nil {
				if errors.Is(err, ErrNeedBase) {
					return d.forgetStatus(err)
				}
				return err
			}
		}
		if err := atomicfile.WriteFile(filepath.Join(d.opts.DataDir, ChainDir, fmt.Sprintf("%020d.bundle", b.Version)), data, 0o644); err != nil {
			return err
		}
		if err := atomicfile.WriteFile(filepath.Join(d.opts.DataDir, BundleDir, string(b.Kind)+".bundle"), data, 0o644); err != nil {
			return err
		}
	default:
		return fmt.Errorf("refused: %w: got %s", trust.ErrWrongKind, b.Kind)
	}
	next.Kinds[b.Kind] = kindState{Version: b.Version, Digest: hex.EncodeToString(b.Digest[:])}
	next.Status = b.Version
	if err := d.save(next); err != nil {
		return err
	}
	d.installed(b.Kind, b.Version)
	return nil
}

// forgetStatus records that the terminal holds no usable status version,
// so that the next round asks the centre for its base and chain (since
// 0); the base's own version and digest stay, for the rollback check.
func (d *Downloader) forgetStatus(cause error) error {
	next := d.state.clone()
	next.Status = 0
	if err := d.save(next); err != nil {
		return errors.Join(cause, err)
	}
	d.opts.Logger.Warn("sync: the terminal's status list has a gap: the next round fetches the status base again", "error", cause)
	return cause
}

// clearChain removes the deltas of the previous base.
func (d *Downloader) clearChain() error {
	dir := filepath.Join(d.opts.DataDir, ChainDir)
	ents, err := os.ReadDir(dir)
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	for _, e := range ents {
		if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	err = os.Remove(filepath.Join(d.opts.DataDir, BundleDir, string(trust.KindStatusDelta)+".bundle"))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return nil
}

func (d *Downloader) installed(k trust.Kind, v uint64) {
	d.opts.Logger.Info("sync: bundle installed", "kind", k, "version", v)
	if d.opts.Installed != nil {
		d.opts.Installed(k, v)
	}
}

// last is the trust.State of kind k.
func (d *Downloader) last(k trust.Kind) trust.State {
	st := d.state.Kinds[k]
	s := trust.State{Version: st.Version, Revoked: d.revoked()}
	hex.Decode(s.Digest[:], []byte(st.Digest))
	return s
}

func (d *Downloader) revoked() []trust.KeyID {
	out := make([]trust.KeyID, 0, len(d.state.Revoked))
	for _, r := range d.state.Revoked {
		var k trust.KeyID
		if n, err := hex.Decode(k[:], []byte(r)); err == nil && n == len(k) {
			out = append(out, k)
		}
	}
	return out
}

func (s installed) clone() installed {
	n := installed{Kinds: make(map[trust.Kind]kindState, len(s.Kinds)+1), Status: s.Status, Revoked: append([]string(nil), s.Revoked...)}
	for k, v := range s.Kinds {
		n.Kinds[k] = v
	}
	return n
}

func (s *installed) addRevoked(ids []trust.KeyID) {
	for _, id := range ids {
		h := id.String()
		found := false
		for _, r := range s.Revoked {
			found = found || r == h
		}
		if !found {
			s.Revoked = append(s.Revoked, h)
		}
	}
}

// load reads StateFile once.
func (d *Downloader) load() error {
	if d.loaded {
		return nil
	}
	d.state = installed{Kinds: map[trust.Kind]kindState{}}
	data, err := os.ReadFile(filepath.Join(d.opts.DataDir, StateFile))
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		return fmt.Errorf("client: read %s: %w", StateFile, err)
	default:
		if err := json.Unmarshal(data, &d.state); err != nil {
			return fmt.Errorf("client: %s is damaged: %w: remove it and the bundles beside it to download them again", filepath.Join(d.opts.DataDir, StateFile), err)
		}
		if d.state.Kinds == nil {
			d.state.Kinds = map[trust.Kind]kindState{}
		}
	}
	d.loaded = true
	return nil
}

// save writes StateFile and adopts s.
func (d *Downloader) save(s installed) error {
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := atomicfile.WriteFile(filepath.Join(d.opts.DataDir, StateFile), append(b, '\n'), 0o644); err != nil {
		return err
	}
	d.state = s
	return nil
}

// LoadStatus applies the terminal's installed status to a: the base, then
// every delta of ChainDir in version order, each verified against root at
// now. sentineld calls it at start, when another process changed the
// status files, and to close a gap; the bundles the downloader fetches
// reach it through OnBundle instead. It returns the status version applied (0 and no error when no base is
// installed).
func LoadStatus(dataDir string, root crypto.PublicKey, now time.Time, a StatusApplier) (uint64, error) {
	data, err := os.ReadFile(filepath.Join(dataDir, BundleDir, string(trust.KindStatusBase)+".bundle"))
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("client: load status: %w", err)
	}
	b, _, err := trust.OpenBundle(data, root, now, trust.State{})
	if err != nil {
		return 0, fmt.Errorf("client: load status: base: %w", err)
	}
	if err := a.ApplyBase(b); err != nil {
		return 0, fmt.Errorf("client: load status: base: %w", err)
	}
	v := b.Version
	ents, err := os.ReadDir(filepath.Join(dataDir, ChainDir))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return v, fmt.Errorf("client: load status: %w", err)
	}
	for _, e := range ents { // ReadDir sorts by name: 20 digits sort by version
		if !strings.HasSuffix(e.Name(), ".bundle") || strings.HasPrefix(e.Name(), ".") {
			continue
		}
		data, err := os.ReadFile(filepath.Join(dataDir, ChainDir, e.Name()))
		if err != nil {
			return v, fmt.Errorf("client: load status: %w", err)
		}
		db, _, err := trust.OpenBundle(data, root, now, trust.State{})
		if err != nil {
			return v, fmt.Errorf("client: load status: delta %s: %w", e.Name(), err)
		}
		if db.Base < v {
			continue // a delta of an earlier chain
		}
		if err := a.ApplyDelta(db); err != nil {
			return v, fmt.Errorf("client: load status: delta %s: %w", e.Name(), err)
		}
		v = db.Version
	}
	return v, nil
}
