package server

import (
	"context"
	"crypto"
	"crypto/hpke"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"time"

	"golang.org/x/time/rate"

	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/enrol"
	"sentinel/internal/central/issuance"
	"sentinel/internal/central/metrics"
	"sentinel/internal/central/syncstore"
	"sentinel/internal/central/throttle"
	syncenrol "sentinel/sync/enrol"
	"sentinel/sync/protocol"
	syncserver "sentinel/sync/server"
)

// Defaults of Config.
const (
	DefaultListen      = "127.0.0.1:8443"
	DefaultEnrolListen = "127.0.0.1:8444"
	DefaultCertTTL     = 90 * 24 * time.Hour
	DefaultReadHeader  = 10 * time.Second
	DefaultIdle        = 2 * time.Minute
	// DefaultRevokeSweep: a revoked device's connections are closed
	// within this, well inside the minute a revocation may take.
	DefaultRevokeSweep = 15 * time.Second
)

// Default limits per source address on the listeners anyone can reach: a
// site enrolling its terminals behind one address, an operator's page and
// exports, an app backend issuing codes for many holders.
var (
	DefaultEnrolLimit    = Limit{Rate: 1, Burst: 20}
	DefaultOpsLimit      = Limit{Rate: 20, Burst: 100}
	DefaultIssuanceLimit = Limit{Rate: 200, Burst: 500}
)

// Limit is a rate limit per source address: Rate requests a second, Burst
// at once.
type Limit struct {
	Rate  rate.Limit
	Burst int
}

// StoreFile is the embedded bbolt store's file in the data directory.
const StoreFile = "central.db"

// BundlesDir is the bundle repository's directory in the data directory.
const BundlesDir = "bundles"

// Errors of the server.
var (
	// ErrConfig: the configuration cannot run a server.
	ErrConfig = errors.New("server: invalid configuration")
	// ErrStarted: Start was called twice.
	ErrStarted = errors.New("server: started already")
)

// Config configures a Server.
type Config struct {
	// DataDir holds the device CA and the bundle repository (required).
	DataDir string
	// Listen serves the device calls over mutual TLS: upload, downloads,
	// renewal. EnrolListen serves enrolment over server-authenticated TLS.
	// Port 0 picks a free port; Addrs tells which.
	Listen      string
	EnrolListen string
	// Hosts are the names and addresses terminals reach the centre by,
	// written into the server certificate (required).
	Hosts []string
	// Root is the operator root's public key, which enrolment gives
	// terminals to pin (required).
	Root crypto.PublicKey
	// Store keeps the uploaded journals and the registry of enrolment
	// tokens and devices (required; the caller closes it).
	Store central.Store
	// CentreKey opens the records' sealed holders at ingest; nil stores
	// them without a holder. With it, each fever recorded at a checkpoint
	// is kept as a fact of the code engine in Store (syncstore.Fevers).
	CentreKey hpke.PrivateKey
	// OnFever, when set, is called once for each fever fact an upload
	// added (never again for an upload sent twice) or withdrew (a guard's
	// retake-normal override of its passage): the code engine's event
	// path hooks here to judge the holder again.
	OnFever func(central.Fact)
	// TimeKey signs the centre's time, with TimeDelegation from the root
	// (nil when TimeKey is the root); without it /time answers 404.
	TimeKey        crypto.Signer
	TimeDelegation *trust.Delegation
	// CertTTL is the lifetime of the server certificate (DefaultCertTTL).
	CertTTL time.Duration
	// RevokeSweep is how often the connections of revoked devices are
	// looked for and closed (DefaultRevokeSweep when 0); each request is
	// checked besides.
	RevokeSweep time.Duration
	// Contact is whom a revoked terminal's guard should call, sent with
	// the refusal (e.g. "central ops, +86 571 0000 0000"); may be empty.
	Contact string
	// OpsListen serves Ops (the operator API, opsapi) over
	// server-authenticated TLS with the server certificate; empty or a nil
	// Ops serves no operator API.
	OpsListen string
	Ops       http.Handler
	// Issuance, when set with Ops, is served at issuance.Path on the ops
	// listener, under IssuanceLimit instead of OpsLimit.
	Issuance http.Handler
	// EnrolLimit, OpsLimit and IssuanceLimit bound the requests of one
	// source address (an IPv4 address, an IPv6 /64); the zero Limit is
	// the default. Every refusal on these listeners (over the limit, a
	// wrong token, a malformed request) is logged, once a minute per
	// source with the count.
	EnrolLimit, OpsLimit, IssuanceLimit Limit
	// Upload tunes the upload handler; Store, Auth, Logger and Observe
	// are set by the server.
	Upload syncserver.Options
	// Metrics records the server's metrics (a new registry of its own
	// when nil: never the process-wide default). Give the same Metrics
	// to the operator API (opsapi.Options.Metrics) to count its calls.
	Metrics *metrics.Metrics
	// MetricsListen serves Metrics at /metrics over plain HTTP for
	// Prometheus; empty serves none. It must be a listener of its own:
	// the device, enrolment and operator listeners never serve metrics.
	MetricsListen string
	// ProxyFrom are the load balancers (HAProxy with send-proxy-v2) whose
	// connections to the device, enrolment and operator listeners start
	// with a PROXY protocol header naming the client: the server then
	// sees the client's address (rate limits per source, logs). A
	// connection from them without the header, or with a header from
	// anywhere else, is refused. Empty reads no header.
	ProxyFrom []netip.Prefix
	// BundlePoll is how often, at most, the server asks a store that
	// keeps the bundle repository for several servers (pgstore) whether
	// the bundles changed (DefaultBundlePoll when 0).
	BundlePoll time.Duration
	// Now is the clock (time.Now when nil).
	Now func() time.Time
	// Logger gets the server's events (discarded when nil).
	Logger *slog.Logger
}

// DefaultConfig returns a Config with the default listen addresses and
// certificate lifetime; the caller fills in the rest.
func DefaultConfig() Config {
	return Config{
		Listen:        DefaultListen,
		EnrolListen:   DefaultEnrolListen,
		Hosts:         []string{"localhost", "127.0.0.1"},
		CertTTL:       DefaultCertTTL,
		EnrolLimit:    DefaultEnrolLimit,
		OpsLimit:      DefaultOpsLimit,
		IssuanceLimit: DefaultIssuanceLimit,
	}
}

// Validate says what in c cannot run a server.
func (c *Config) Validate() error {
	var errs []error
	if c.DataDir == "" {
		errs = append(errs, errors.New("no data directory"))
	}
	for _, a := range []struct{ name, addr string }{{"listen", c.Listen}, {"enrolment listen", c.EnrolListen}} {
		if _, _, err := net.SplitHostPort(a.addr); err != nil {
			errs = append(errs, fmt.Errorf("%s address %q: want HOST:PORT", a.name, a.addr))
		}
	}
	if c.Listen != "" && c.Listen == c.EnrolListen && !hasPort0(c.Listen) {
		errs = append(errs, fmt.Errorf("listen and enrolment listen are both %s: enrolment needs a listener of its own", c.Listen))
	}
	if c.Ops != nil && c.OpsListen != "" {
		if _, _, err := net.SplitHostPort(c.OpsListen); err != nil {
			errs = append(errs, fmt.Errorf("ops listen address %q: want HOST:PORT", c.OpsListen))
		} else if !hasPort0(c.OpsListen) && (c.OpsListen == c.Listen || c.OpsListen == c.EnrolListen) {
			errs = append(errs, fmt.Errorf("ops listen %s is taken by another listener: the operator API needs a listener of its own", c.OpsListen))
		}
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			errs = append(errs, fmt.Errorf("metrics listen address %q: want HOST:PORT", c.MetricsListen))
		} else if !hasPort0(c.MetricsListen) && (c.MetricsListen == c.Listen || c.MetricsListen == c.EnrolListen || c.MetricsListen == c.OpsListen) {
			errs = append(errs, fmt.Errorf("metrics listen %s is taken by another listener: the metrics need a listener of their own, which terminals cannot reach", c.MetricsListen))
		}
	}
	if len(c.Hosts) == 0 {
		errs = append(errs, errors.New("no host names for the server certificate"))
	}
	for _, h := range c.Hosts {
		if h == "" {
			errs = append(errs, errors.New("an empty host name"))
		}
	}
	if c.Root == nil {
		errs = append(errs, errors.New("no operator root public key"))
	}
	if c.Store == nil {
		errs = append(errs, errors.New("no store"))
	}
	if c.TimeDelegation != nil && c.TimeKey == nil {
		errs = append(errs, errors.New("a time delegation without its key"))
	}
	for _, l := range []struct {
		name string
		l    Limit
	}{{"enrolment", c.EnrolLimit}, {"ops", c.OpsLimit}, {"issuance", c.IssuanceLimit}} {
		if l.l.Rate < 0 || l.l.Burst < 0 || (l.l.Rate > 0) != (l.l.Burst > 0) {
			errs = append(errs, fmt.Errorf("%s limit %v/s burst %d: want both positive (or both zero for the default)", l.name, float64(l.l.Rate), l.l.Burst))
		}
	}
	if c.CertTTL < 0 {
		errs = append(errs, fmt.Errorf("certificate lifetime %v is negative", c.CertTTL))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w: %w", ErrConfig, errors.Join(errs...))
	}
	return nil
}

func hasPort0(addr string) bool {
	_, p, err := net.SplitHostPort(addr)
	return err == nil && p == "0"
}

// Server is the running central server.
type Server struct {
	cfg    Config
	logger *slog.Logger

	mu      sync.Mutex
	started bool
	mtls    *http.Server
	enrol   *http.Server
	lnMTLS  net.Listener
	lnEnrol net.Listener
	ops     *http.Server // nil without an operator API
	lnOps   net.Listener
	mets    *http.Server // nil without a metrics listener
	lnMets  net.Listener
	metrics *metrics.Metrics
	// throttles guard the enrolment and ops listeners; Start sweeps them
	// every minute until stop closes.
	throttles []*throttle.Throttle
	stop      chan struct{}
	stopOnce  sync.Once
	errs      chan error
	wg        sync.WaitGroup

	conns *deviceConns // the mutual TLS listener's connections
}

// New checks cfg and returns a Server that Start runs.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.CertTTL == 0 {
		cfg.CertTTL = DefaultCertTTL
	}
	for _, l := range []struct{ l, def *Limit }{{&cfg.EnrolLimit, &DefaultEnrolLimit}, {&cfg.OpsLimit, &DefaultOpsLimit}, {&cfg.IssuanceLimit, &DefaultIssuanceLimit}} {
		if *l.l == (Limit{}) {
			*l.l = *l.def
		}
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	m := cfg.Metrics
	if m == nil {
		m = metrics.New(cfg.Now())
	}
	return &Server{cfg: cfg, logger: logger, metrics: m, errs: make(chan error, 4), stop: make(chan struct{})}, nil
}

// Start loads (or creates) the device CA, opens the bundle repository,
// issues the server certificate, binds both listeners and serves in the
// background. ctx bounds the setup only.
func (s *Server) Start(ctx context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.started {
		return ErrStarted
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	cfg := s.cfg
	now := cfg.Now()
	ca, err := s.deviceCA(ctx, now)
	if err != nil {
		return err
	}
	st := cfg.Store // the registry of tokens and devices too
	rev := enrol.Revocations{Registry: st}
	ropts := bundles.Options{Dir: filepath.Join(cfg.DataDir, BundlesDir), Root: cfg.Root, Now: cfg.Now}
	if sh, ok := st.(bundles.Shared); ok {
		// Every server on this store hands out the bundles the store
		// keeps; a data directory's own, from before, moves in once.
		ropts.Shared = sh
		err := sh.LockBundles(ctx, 30*time.Second, func() error {
			moved, err := bundles.ImportDir(ctx, ropts)
			if moved {
				s.logger.Info("bundles moved into the database: every server on it serves them now; publish with --postgres", "from", ropts.Dir)
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("server: bundle repository: %w", err)
		}
	}
	repo, err := openLiveRepo(ropts, cfg.BundlePoll, s.logger.With("component", "bundles"))
	if err != nil {
		return fmt.Errorf("server: bundle repository: %w", err)
	}
	certs := &certSource{ca: ca, hosts: cfg.Hosts, ttl: cfg.CertTTL, now: cfg.Now}
	if _, err := certs.get(); err != nil {
		return fmt.Errorf("server: server certificate: %w", err)
	}

	mux, err := s.deviceMux(ca, st, repo)
	if err != nil {
		return err
	}
	mtlsCfg := enrol.ServerTLSConfig(ca, tls.Certificate{})
	mtlsCfg.Certificates = nil
	mtlsCfg.GetCertificate = func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return certs.get() }
	// Enrolment and the operator API are TLS 1.3 only, like the device
	// listener (enrol.ServerTLSConfig).
	guard := s.observeDevices(&enrol.Guard{Rev: rev, Next: mux, Now: cfg.Now, Logger: s.logger.With("component", "revocation"), Contact: cfg.Contact})
	s.conns = &deviceConns{rev: rev, logger: s.logger.With("component", "revocation")}
	enrolCfg := &tls.Config{
		MinVersion:     tls.VersionTLS13,
		GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return certs.get() },
	}
	enrolMux := http.NewServeMux()
	enrolH0 := &enrol.Handler{
		CA: ca, Store: st, Root: cfg.Root, Bundles: firstBundles(repo), Now: cfg.Now,
		Logger: s.logger.With("component", "enrol"),
	}
	enrolMux.Handle(enrol.Path, s.observeEnrolment(enrolH0))
	enrolH := s.throttle("enrol", cfg.EnrolLimit).Handler(enrolMux)
	var opsH http.Handler
	if cfg.Ops != nil {
		opsH = s.throttle("ops", cfg.OpsLimit).Handler(cfg.Ops)
		if cfg.Issuance != nil {
			mux := http.NewServeMux()
			mux.Handle(issuance.Path, s.throttle("issuance", cfg.IssuanceLimit).Handler(cfg.Issuance))
			mux.Handle("/", opsH)
			opsH = mux
		}
	}

	lnMTLS, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("server: listen %s: %w", cfg.Listen, err)
	}
	lnMTLS = proxied(lnMTLS, cfg.ProxyFrom)
	lnEnrol, err := net.Listen("tcp", cfg.EnrolListen)
	if err != nil {
		lnMTLS.Close()
		return fmt.Errorf("server: listen %s: %w", cfg.EnrolListen, err)
	}
	lnEnrol = proxied(lnEnrol, cfg.ProxyFrom)
	var lnOps net.Listener
	if cfg.Ops != nil && cfg.OpsListen != "" {
		if lnOps, err = net.Listen("tcp", cfg.OpsListen); err != nil {
			lnMTLS.Close()
			lnEnrol.Close()
			return fmt.Errorf("server: listen %s: %w", cfg.OpsListen, err)
		}
		lnOps = proxied(lnOps, cfg.ProxyFrom)
	}
	if err := s.metrics.Register(stateCollector{repo: repo, store: st, metrics: s.metrics, now: cfg.Now}); err != nil {
		lnMTLS.Close()
		lnEnrol.Close()
		if lnOps != nil {
			lnOps.Close()
		}
		return fmt.Errorf("server: metrics: %w", err)
	}
	var lnMets net.Listener
	if cfg.MetricsListen != "" {
		if lnMets, err = net.Listen("tcp", cfg.MetricsListen); err != nil {
			lnMTLS.Close()
			lnEnrol.Close()
			if lnOps != nil {
				lnOps.Close()
			}
			return fmt.Errorf("server: listen %s: %w", cfg.MetricsListen, err)
		}
	}
	// Refused handshakes (no certificate, a revoked device) are routine:
	// log them at debug, not through the standard logger.
	errLog := log.New(&debugWriter{s.logger.With("component", "http")}, "", 0)
	s.mtls = &http.Server{Handler: guard, TLSConfig: mtlsCfg, ReadHeaderTimeout: DefaultReadHeader, IdleTimeout: DefaultIdle, ErrorLog: errLog, ConnState: s.conns.track}
	s.enrol = &http.Server{Handler: enrolH, TLSConfig: enrolCfg, ReadHeaderTimeout: DefaultReadHeader, IdleTimeout: DefaultIdle, ErrorLog: errLog}
	if lnOps != nil {
		// Cloned before any server runs: ServeTLS changes its TLSConfig.
		s.ops = &http.Server{Handler: opsH, TLSConfig: enrolCfg.Clone(), ReadHeaderTimeout: DefaultReadHeader, IdleTimeout: DefaultIdle, ErrorLog: errLog}
		s.lnOps = lnOps
	}
	if lnMets != nil {
		mux := http.NewServeMux()
		mux.Handle("GET /metrics", s.metrics.Handler(s.logger.With("component", "metrics")))
		s.mets = &http.Server{Handler: mux, ReadHeaderTimeout: DefaultReadHeader, IdleTimeout: DefaultIdle, ErrorLog: errLog}
		s.lnMets = lnMets
	}
	s.lnMTLS, s.lnEnrol = lnMTLS, lnEnrol
	// Enrolment tells the terminal where its device calls go.
	if _, port, err := net.SplitHostPort(lnMTLS.Addr().String()); err == nil {
		enrolH0.Central = "https://" + net.JoinHostPort(cfg.Hosts[0], port)
	}
	// `devices add` puts this address into the tickets it prints.
	if err := enrol.WriteAddress(cfg.DataDir, cfg.Hosts[0], lnEnrol.Addr()); err != nil {
		s.logger.Warn("tickets will not carry the enrolment address", "error", err)
	}
	s.started = true
	s.wg.Go(s.sweep)
	s.serve(s.mtls, lnMTLS, "mtls")
	s.wg.Go(func() { s.conns.sweepEvery(s.stop, cfg.RevokeSweep) })
	s.serve(s.enrol, lnEnrol, "enrol")
	if lnOps != nil {
		s.serve(s.ops, lnOps, "ops")
		s.logger.Info("listening", "listener", "ops", "addr", lnOps.Addr().String(), "serves", "operator API behind role tokens")
	}
	if lnMets != nil {
		s.wg.Go(func() {
			if err := s.mets.Serve(lnMets); err != nil && !errors.Is(err, http.ErrServerClosed) {
				s.errs <- fmt.Errorf("server: metrics listener: %w", err)
			}
		})
		s.logger.Info("listening", "listener", "metrics", "addr", lnMets.Addr().String(), "serves", "Prometheus metrics over plain HTTP")
	}
	s.logger.Info("listening", "listener", "mtls", "addr", lnMTLS.Addr().String(), "serves", "upload, download, renewal")
	s.logger.Info("listening", "listener", "enrol", "addr", lnEnrol.Addr().String(), "serves", "enrolment")
	return nil
}

// caPinner is a store that several servers share (pgstore): it pins the
// device CA of the first server, which every other one must hold too.
type caPinner interface {
	DeviceCA(ctx context.Context) ([]byte, error)
	PinDeviceCA(ctx context.Context, cert []byte) ([]byte, error)
}

// ErrOtherCA: the data directory's device CA is not the one the other
// servers on the store use.
var ErrOtherCA = errors.New("server: this data directory's device CA is not the one the other servers on this database use")

// deviceCA loads the data directory's device CA, making one when there is
// none, unless the store is shared and pins another: behind a load
// balancer, every server must hold the same CA, or terminals enrolled at
// one are refused by the next.
func (s *Server) deviceCA(ctx context.Context, now time.Time) (*enrol.CA, error) {
	dir := s.cfg.DataDir
	pin, shared := s.cfg.Store.(caPinner)
	if shared {
		pinned, err := pin.DeviceCA(ctx)
		if err != nil {
			return nil, fmt.Errorf("server: device CA: %w", err)
		}
		if _, err := os.Stat(filepath.Join(dir, enrol.CACertFile)); pinned != nil && errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s has none; copy %s and %s (mode 0600) from the data directory of a server already running on this database, then start again",
				ErrOtherCA, dir, enrol.CACertFile, enrol.CAKeyFile)
		}
	}
	ca, err := enrol.LoadCA(dir, true, now)
	if err != nil {
		return nil, fmt.Errorf("server: device CA: %w", err)
	}
	if shared {
		pinned, err := pin.PinDeviceCA(ctx, ca.PEM())
		if err != nil {
			return nil, fmt.Errorf("server: device CA: %w", err)
		}
		if cert, err := syncenrol.ParseCertificatePEM(pinned); err != nil || !cert.Equal(ca.Cert) {
			return nil, fmt.Errorf("%w: replace %s and %s in %s with those of a server already running on this database, then start again",
				ErrOtherCA, enrol.CACertFile, enrol.CAKeyFile, dir)
		}
	}
	return ca, nil
}

func (s *Server) serve(srv *http.Server, ln net.Listener, name string) {
	s.wg.Go(func() {
		if err := srv.ServeTLS(ln, "", ""); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.errs <- fmt.Errorf("server: %s listener: %w", name, err)
		}
	})
}

// throttle returns a new per-source limit for the listener name.
func (s *Server) throttle(name string, l Limit) *throttle.Throttle {
	th := throttle.New(throttle.Options{
		Listener: name, Rate: l.Rate, Burst: l.Burst, Now: s.cfg.Now,
		Logger: s.logger.With("component", "throttle"),
	})
	s.throttles = append(s.throttles, th)
	return th
}

// sweep logs the throttles' pending refusals and forgets idle sources
// every throttle.DefaultLogEvery until the server stops, then logs what is
// left.
func (s *Server) sweep() {
	tick := time.NewTicker(throttle.DefaultLogEvery)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			for _, th := range s.throttles {
				th.Sweep()
			}
		case <-s.stop:
			for _, th := range s.throttles {
				th.Flush()
			}
			return
		}
	}
}

// deviceMux routes the device calls behind mutual TLS.
func (s *Server) deviceMux(ca *enrol.CA, st enrol.Store, repo *liveRepo) (*http.ServeMux, error) {
	cfg := s.cfg
	uopts := cfg.Upload
	uopts.Store = syncstore.New(cfg.Store, syncstore.Options{CentreKey: cfg.CentreKey, Site: siteOf(st),
		Fevers: true, OnFever: cfg.OnFever, Now: cfg.Now, Logger: s.logger.With("component", "ingest")})
	uopts.Auth = syncserver.TLSAuthenticator{}
	uopts.Logger = s.logger.With("component", "upload")
	uopts.Observe = s.observeUpload
	if uopts.Now == nil {
		uopts.Now = cfg.Now
	}
	up, err := syncserver.New(uopts)
	if err != nil {
		return nil, fmt.Errorf("server: upload: %w", err)
	}
	down, err := syncserver.NewDownload(syncserver.DownloadOptions{
		Bundles: repo, Auth: syncserver.TLSAuthenticator{}, TimeKey: cfg.TimeKey, TimeDelegation: cfg.TimeDelegation,
		Now: cfg.Now, Logger: s.logger.With("component", "download"),
	})
	if err != nil {
		return nil, fmt.Errorf("server: download: %w", err)
	}
	var health http.Handler
	if hs, ok := cfg.Store.(central.HealthStore); ok {
		if health, err = syncserver.NewHealth(syncserver.HealthOptions{
			Store: syncstore.HealthAdapter{Store: hs}, Auth: syncserver.TLSAuthenticator{},
			Rate: uopts.Rate, Burst: uopts.Burst, Now: uopts.Now, Logger: s.logger.With("component", "health"),
			Observe: s.observeReport,
		}); err != nil {
			return nil, fmt.Errorf("server: health: %w", err)
		}
	}
	mux := http.NewServeMux()
	for v := protocol.MinVersion; v <= protocol.Version; v++ {
		mux.Handle("POST "+protocol.UploadPath(v), up)
		if health != nil {
			mux.Handle("POST "+protocol.HealthPath(v), health)
		}
		mux.Handle(fmt.Sprintf("GET /v%d/bundles/{kind}", v), down)
		mux.Handle(fmt.Sprintf("GET /v%d/status", v), down)
		mux.Handle(fmt.Sprintf("GET /v%d/time", v), down)
	}
	mux.Handle("POST "+enrol.RenewPath, &enrol.RenewHandler{CA: ca, Store: st, Now: cfg.Now, Logger: s.logger.With("component", "renew")})
	return mux, nil
}

// Addrs returns the bound addresses of the mutual TLS listener and of the
// enrolment listener; nil before Start.
func (s *Server) Addrs() (device, enrolment net.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started {
		return nil, nil
	}
	return s.lnMTLS.Addr(), s.lnEnrol.Addr()
}

// OpsAddr returns the bound address of the operator API's listener; nil
// before Start or without one.
func (s *Server) OpsAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.lnOps == nil {
		return nil
	}
	return s.lnOps.Addr()
}

// MetricsAddr returns the bound address of the metrics listener; nil
// before Start or without one.
func (s *Server) MetricsAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.started || s.lnMets == nil {
		return nil
	}
	return s.lnMets.Addr()
}

// Metrics returns the server's metrics.
func (s *Server) Metrics() *metrics.Metrics { return s.metrics }

// Err delivers the error of a listener that stopped serving on its own.
func (s *Server) Err() <-chan error { return s.errs }

// Shutdown stops accepting connections and waits for the requests in
// flight; when ctx ends first it closes every connection and returns
// ctx's error. It waits for the serving goroutines either way.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return nil
	}
	var wg sync.WaitGroup
	srvs := s.servers()
	errs := make([]error, len(srvs))
	for i, srv := range srvs {
		wg.Go(func() { errs[i] = srv.Shutdown(ctx) })
	}
	wg.Wait()
	err := errors.Join(errs...)
	if err != nil {
		s.closeAll()
	}
	s.stopOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
	return err
}

// Stop closes both listeners and every connection at once and waits for
// the serving goroutines.
func (s *Server) Stop() {
	s.mu.Lock()
	started := s.started
	s.mu.Unlock()
	if !started {
		return
	}
	s.closeAll()
	s.stopOnce.Do(func() { close(s.stop) })
	s.wg.Wait()
}

func (s *Server) closeAll() {
	for _, srv := range s.servers() {
		srv.Close()
	}
}

// servers returns the started http.Servers.
func (s *Server) servers() []*http.Server {
	out := []*http.Server{s.mtls, s.enrol}
	if s.ops != nil {
		out = append(out, s.ops)
	}
	if s.mets != nil {
		out = append(out, s.mets)
	}
	return out
}

// siteOf names a device's site from the registry.
// A registry that cannot be read fails the upload (503, the terminal
// retries) rather than naming no site.
func siteOf(st enrol.Store) func(context.Context, string) (string, error) {
	return func(ctx context.Context, device string) (string, error) {
		d, _, err := st.EnrolledDevice(ctx, device)
		if err != nil {
			return "", fmt.Errorf("read the enrolment of device %s: %w", device, err)
		}
		return d.Site, nil
	}
}

// firstBundles gives an enrolling terminal the current trust, status
// base, policy and config bundles, so that it decides from its first
// passage (sync brings the status deltas).
func firstBundles(repo *liveRepo) enrol.BundleSource {
	return func() (map[trust.Kind][]byte, error) {
		out := map[trust.Kind][]byte{}
		for _, k := range []trust.Kind{trust.KindTrust, trust.KindStatusBase, trust.KindPolicy, trust.KindConfig} {
			p, err := repo.Latest(k)
			if err != nil {
				return nil, err
			}
			if p != nil {
				out[k] = p.Data
			}
		}
		return out, nil
	}
}

// certSource holds the server certificate and reissues it from the device
// CA when a third of its lifetime remains.
type certSource struct {
	ca    *enrol.CA
	hosts []string
	ttl   time.Duration
	now   func() time.Time

	mu   sync.Mutex
	cert *tls.Certificate
}

func (c *certSource) get() (*tls.Certificate, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	now := c.now()
	if c.cert != nil && now.Before(c.cert.Leaf.NotAfter.Add(-c.ttl/3)) {
		return c.cert, nil
	}
	cert, err := c.ca.IssueServer(c.hosts, now, c.ttl)
	if err != nil {
		if c.cert != nil && now.Before(c.cert.Leaf.NotAfter) {
			return c.cert, nil // keep serving the current one
		}
		return nil, err
	}
	c.cert = &cert
	return c.cert, nil
}

// debugWriter turns the http.Server's error log into debug records.
type debugWriter struct{ logger *slog.Logger }

var _ io.Writer = (*debugWriter)(nil)

func (w *debugWriter) Write(p []byte) (int, error) {
	msg := string(p)
	if n := len(msg); n > 0 && msg[n-1] == '\n' {
		msg = msg[:n-1]
	}
	w.logger.Debug(msg)
	return len(p), nil
}
