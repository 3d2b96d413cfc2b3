package main

import (
	"context"
	"crypto"
	"crypto/hpke"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	bolterrors "go.etcd.io/bbolt/errors"
	ratelimit "golang.org/x/time/rate"

	"sentinel/crypto/healthcode"
	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/enginecmd"
	"sentinel/internal/central/issuance"
	"sentinel/internal/central/metrics"
	"sentinel/internal/central/opsapi"
	"sentinel/internal/central/pgshard"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/schedule"
	"sentinel/internal/central/server"
	"sentinel/internal/central/statuspub"
	"sentinel/internal/central/sweep"
	"sentinel/internal/cli"
	"sentinel/internal/sdnotify"
)

// defaultDrain bounds how long the first SIGTERM waits for the requests in
// flight.
const defaultDrain = 15 * time.Second

// serveStore is what serve needs of a store: all of the centre's state
// (uploads, statuses) and the operator API's reads.
type serveStore interface {
	central.Store
	opsapi.Store
}

var (
	_ serveStore = (*boltstore.Store)(nil)
	_ serveStore = (*pgstore.Store)(nil)
	_ serveStore = (*pgshard.Store)(nil)
)

// runServe runs the central server until ctx ends (the first SIGTERM or
// interrupt), then drains; a second signal aborts the drain.
func runServe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	def := server.DefaultConfig()
	fs := cli.NewFlagSet("sentinel-central serve", stderr, cli.CommandHelp(ctx))
	data := fs.String("data", defaultCentralData, "the centre's data `DIR`: device CA, bundles, the bbolt store (devices, tokens, audit log)")
	listen := fs.String("listen", def.Listen, "`ADDR` of the device calls over mutual TLS: upload, download, renewal")
	enrolListen := fs.String("enrol-listen", def.EnrolListen, "`ADDR` of enrolment (server-authenticated TLS: terminals have no certificate yet)")
	hosts := fs.String("hosts", "", "comma-separated `NAMES` and addresses terminals reach the centre by, for its certificate (default: from --listen when it is an address)")
	pgURL := fs.String("postgres", "", "store passages in PostgreSQL at `URL` instead of the bbolt store in --data")
	rootPub := fs.String("root-pub", "", "the operator root's public key `FILE`, which enrolling terminals pin (required)")
	hpkeKey := fs.String("hpke-key", "", "the centre's HPKE private key `FILE` (hex, from trust hpke-keygen): opens the holders at ingest")
	hpkeKEM := fs.String("hpke-kem", "x25519", "the KEM of --hpke-key: x25519 or mlkem768-x25519")
	signKey := fs.String("key", "", "the online signing key's private key `FILE` (trust signer-keygen): signs the centre's time and keeps the bundles fresh (required unless --no-time and --no-schedule)")
	signDel := fs.String("delegation", "", "the `FILE` of --key's delegation from the root (trust delegate --kinds "+serveKinds+"); required unless --key is the root")
	noTime := fs.Bool("no-time", false, "do not sign the centre's time: terminals without synchronised NTP then never trust their clock and refer everyone")
	noSchedule := fs.Bool("no-schedule", false, "do not republish the status base nor re-sign bundles: they go stale unless ops publish them by hand")
	fresh := fs.String("fresh", "24h", "how long a status base the scheduler publishes stays fresh")
	grace := fs.String("grace", "72h", "how long after issue that status base is usable in grace")
	retention := fs.String("retention", "90d", "how long the store keeps passages (PostgreSQL drops day partitions, bbolt purges records), the code engine's facts after they end and statuses after they lapse (docs/privacy.md); 0 keeps them all")
	auditRetention := fs.String("audit-retention", "365d", "how long the store keeps the audit log (who exported, traced or looked up what) and the code engine's change records; 0 keeps them all")
	timeKey := fs.String("time-key", "", "a separate private key `FILE` for the centre's time (default: --key)")
	timeDel := fs.String("time-delegation", "", "the delegation `FILE` of --time-key from the root")
	opsListen := fs.String("ops-listen", "", "`ADDR` of the operator API (TLS from the device CA, role tokens from the store: sentinel-central tokens); empty serves none")
	metricsListen := fs.String("metrics", "", "`ADDR` of Prometheus metrics at /metrics over plain HTTP, on a listener of its own (e.g. 127.0.0.1:9109; docs/ops.md); empty serves none")
	issuers := fs.String("issuers", "", "issuance endpoint `FILE` (JSON: issuers with their key files, issuer tokens with their secret files), served at "+issuance.Path+" on --ops-listen; empty serves none")
	var limits cli.Strings
	fs.Var(&limits, "limit", "`LISTENER=RATE/BURST`: requests a second and at once from one address on enrol, ops or issue (default enrol=1/20, ops=20/100, issue=200/500); repeatable")
	proxyFrom := fs.String("proxy-from", "", "comma-separated `ADDRS` and prefixes (10.0.0.5, 10.0.0.0/24) of load balancers that send the PROXY protocol (HAProxy send-proxy-v2) on --listen, --enrol-listen and --ops-listen: their connections must, others must not; rate limits and logs then see the client's address")
	drain := fs.Duration("drain", defaultDrain, "how long the first SIGTERM waits for requests in flight")
	contact := fs.String("contact", "", "whom the guard of a revoked terminal should call, e.g. \"central ops, +86 571 0000 0000\": sent with the refusal and shown on its display")
	level := fs.String("log-level", "info", "log level: debug, info, warn or error")

	err := func() error {
		err := cli.ParseNoArgs(fs, args)
		if err != nil {
			return err
		}
		var lv slog.LevelVar
		if err := lv.UnmarshalText([]byte(*level)); err != nil {
			return cli.Usagef("--log-level %q: want debug, info, warn or error", *level)
		}
		if *drain <= 0 {
			return cli.Usagef("--drain %v: want more than 0", *drain)
		}
		if *rootPub == "" {
			return cli.Usagef("--root-pub FILE is required: the operator root's public key (trust root-keygen wrote root.pub)")
		}
		cfg := server.DefaultConfig()
		cfg.DataDir, cfg.Listen, cfg.EnrolListen = *data, *listen, *enrolListen
		cfg.Contact = strings.TrimSpace(*contact)
		for _, l := range limits {
			if err := setLimit(&cfg, l); err != nil {
				return err
			}
		}
		if cfg.ProxyFrom, err = server.ParseProxyFrom(*proxyFrom); err != nil {
			return cli.Usagef("--proxy-from: %v", err)
		}
		if cfg.Hosts, err = serveHosts(*hosts, *listen); err != nil {
			return err
		}
		logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: &lv}))
		cfg.Logger = logger
		addrs := []string{*listen, *enrolListen}
		if *opsListen != "" {
			addrs = append(addrs, *opsListen)
		}
		if *metricsListen != "" {
			addrs = append(addrs, *metricsListen)
		}
		for _, a := range addrs {
			if !loopback(a) {
				logger.Warn("serving beyond this machine, as asked", "addr", a)
			}
		}
		if cfg.Root, err = readPublicKey(*rootPub); err != nil {
			return fmt.Errorf("--root-pub: %w", err)
		}
		if *hpkeKey != "" {
			if cfg.CentreKey, err = readHPKEPrivate(*hpkeKey, *hpkeKEM); err != nil {
				return err
			}
		}
		if *issuers != "" && *opsListen == "" {
			return cli.Usagef("--issuers needs --ops-listen: the issuance endpoint is served on the operator listener")
		}
		if *timeDel != "" && *timeKey == "" {
			return cli.Usagef("--time-delegation needs --time-key")
		}
		if *signDel != "" && *signKey == "" {
			return cli.Usagef("--delegation needs --key")
		}
		if *signKey == "" && (!*noSchedule || (!*noTime && *timeKey == "")) {
			return cli.Usagef("%s", serveNeedsKey(*data))
		}
		sg, err := serveSigning(*fresh, *grace, *retention, *auditRetention)
		if err != nil {
			return err
		}
		now := time.Now()
		if *signKey != "" {
			if sg.key, sg.d, err = loadServeKey("--key", *signKey, "--delegation", *signDel, cfg.Root, now, !*noSchedule, *timeKey == "" && !*noTime); err != nil {
				return err
			}
		}
		switch {
		case *noTime:
			if *timeKey != "" {
				return cli.Usagef("--no-time and --time-key contradict each other")
			}
			logger.Warn("the centre does not sign its time (--no-time): terminals without synchronised NTP will never trust their clock and will refer everyone")
		case *timeKey != "":
			if cfg.TimeKey, cfg.TimeDelegation, err = loadServeKey("--time-key", *timeKey, "--time-delegation", *timeDel, cfg.Root, now, false, true); err != nil {
				return err
			}
		default:
			cfg.TimeKey, cfg.TimeDelegation = sg.key, sg.d
		}
		if cfg.TimeKey != nil {
			kid := "the root"
			if cfg.TimeDelegation != nil {
				kid = cfg.TimeDelegation.KID.String()
			}
			logger.Info("signing the centre's time", "key", kid)
		}
		if err := os.MkdirAll(*data, 0o700); err != nil {
			return err
		}
		st, where, err := openServeStore(ctx, *data, *pgURL, stderr)
		if err != nil {
			return err
		}
		defer func() {
			if err := st.Close(); err != nil {
				logger.Error("closing the store", "error", err)
			}
		}()
		if err := importLegacyStatus(ctx, *data, st, func(msg string) { logger.Info(msg) }); err != nil {
			return err
		}
		cfg.Store = st
		// devices add and revoke, and tokens, reach the store through
		// the data directory's socket while serve runs.
		// The status publisher of the scheduler, the control socket and
		// the operator API: serve's signing key, when it has one.
		var pub *statuspub.Publisher
		if sg.key != nil {
			pub = &statuspub.Publisher{Store: st, DataDir: *data, Root: cfg.Root,
				Signer: statuspub.Signer{Key: sg.key, Delegation: sg.d, Fresh: sg.fresh, Grace: sg.grace}}
		}
		// The code engine's event path: a fever kept at ingest, and each
		// change of the engine's data (a case, a risk level, a whitelist
		// entry, a site, a rule set) made through the control socket, the
		// operator API or, on PostgreSQL, by a command in another
		// process, starts a sweep at once (bursts coalesce), so that the
		// colours it changes reach the terminals in the next status
		// delta, not the next round.
		// One registry for this server: its listeners, enrolment, the
		// upload, the operator API and the engine's sweeps count into it.
		cfg.Metrics = metrics.New(time.Now())
		var events *sweep.Events
		if pub != nil && !*noSchedule {
			// (sweep.Runner is the engine as serve runs it: the end-to-end
			// tests run the same.)
			events = (&sweep.Runner{Store: st, Publisher: pub, Logger: logger, Metrics: cfg.Metrics}).Events()
			events.Start(ctx)
			defer events.Stop()
			cfg.OnFever = events.OnFever
			if w, ok := st.(engineWatcher); ok {
				stopWatch := w.WatchEngine(ctx, events.Notify, logger.With("component", "engine"))
				defer stopWatch()
			}
		}
		engineEnv := enginecmd.Env{StoreName: where, Root: cfg.Root}
		if events != nil {
			engineEnv.Notify = events.Notify
		}
		if stopControl, err := serveControl(*data, st, pub, engineEnv, logger.With("component", "control")); err != nil {
			logger.Warn("no control socket: devices, tokens, status, the engine's commands (areas, sites, whitelist, cases, rules), passage show and status explain cannot reach the store while serve runs", "error", err)
		} else {
			defer stopControl()
		}
		cfg.MetricsListen = *metricsListen
		if *opsListen != "" {
			opsH, err := serveOps(ctx, *data, st, where, cfg.Metrics, pub, engineEnv, logger)
			if err != nil {
				return err
			}
			cfg.Ops = opsH
			if *issuers != "" {
				iss, err := serveIssuance(*issuers, st, logger)
				if err != nil {
					return err
				}
				cfg.Issuance = iss
			}
			cfg.OpsListen = *opsListen
		}
		srv, err := server.New(cfg)
		if err != nil {
			return err
		}
		if err := srv.Start(ctx); err != nil {
			return err
		}
		schedPub := pub
		if *noSchedule {
			schedPub = nil
		}
		sched, err := serveScheduler(st, schedPub, sg.retention, sg.auditRetention, cfg.Metrics, logger)
		if err != nil {
			return err
		}
		if sched != nil {
			sched.Start(ctx)
			defer sched.Stop()
		}
		dev, en := srv.Addrs()
		logger.Info("serving", "store", where, "data", *data, "hosts", strings.Join(cfg.Hosts, ","))
		// Lines a supervisor or a test can read.
		fmt.Fprintf(stdout, "listening mtls %s\n", dev)
		fmt.Fprintf(stdout, "listening enrol %s\n", en)
		if a := srv.OpsAddr(); a != nil {
			fmt.Fprintf(stdout, "listening ops %s\n", a)
		}
		if a := srv.MetricsAddr(); a != nil {
			fmt.Fprintf(stdout, "listening metrics %s\n", a)
		}
		if cfg.TimeKey != nil {
			fmt.Fprintln(stdout, "signed time on")
		} else {
			fmt.Fprintln(stdout, "signed time OFF (--no-time): terminals without NTP will not trust their clock")
		}
		if *noSchedule {
			fmt.Fprintln(stdout, "scheduler OFF (--no-schedule): bundles go stale unless published by hand")
		} else {
			fmt.Fprintf(stdout, "scheduler on: status base every %v, bundles re-signed half-way through fresh, retention %s, audit retention %s\n", schedule.DefaultBaseEvery, *retention, *auditRetention)
		}

		// Under systemd (Type=notify): ready once every listener is up;
		// the watchdog is pinged while the process runs, so a hang
		// restarts it.
		notify := sdnotify.New(os.Getenv("NOTIFY_SOCKET"))
		if err := notify.Notify(sdnotify.Ready, "STATUS=serving terminals on "+dev.String()); err != nil {
			logger.Warn("systemd notification", "error", err)
		}
		if every, err := sdnotify.WatchdogInterval(os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID"), os.Getpid()); err == nil {
			wdCtx, stopWatchdog := context.WithCancel(ctx)
			defer stopWatchdog()
			go func() {
				if err := notify.RunWatchdog(wdCtx, every, nil); err != nil && !errors.Is(err, context.Canceled) {
					logger.Warn("systemd watchdog", "error", err)
				}
			}()
		} else if !errors.Is(err, sdnotify.ErrNoWatchdog) {
			logger.Warn("systemd watchdog", "error", err)
		}

		var serveErr error
		select {
		case <-ctx.Done():
		case serveErr = <-srv.Err():
			logger.Error("a listener stopped", "error", serveErr)
		}
		if err := notify.Notify(sdnotify.Stopping); err != nil {
			logger.Warn("systemd notification", "error", err)
		}
		// The first signal ended ctx; a second one aborts the drain.
		second := make(chan os.Signal, 1)
		signal.Notify(second, os.Interrupt, syscall.SIGTERM)
		defer signal.Stop(second)
		return serveShutdown(srv, logger, *drain, serveErr, second)
	}()
	return cli.Exit(stderr, "sentinel-central serve", err)
}

// serveShutdown drains srv for at most drain; a signal on abort (the
// second SIGTERM or interrupt) closes every connection at once.
func serveShutdown(srv *server.Server, logger *slog.Logger, drain time.Duration, serveErr error, abort <-chan os.Signal) error {
	actx, abortDrain := context.WithCancelCause(context.Background())
	defer abortDrain(nil)
	dctx, cancel := context.WithTimeoutCause(actx, drain, fmt.Errorf("requests still running after %v: cut off", drain))
	defer cancel()
	go func() {
		select {
		case <-abort:
			logger.Warn("second signal: closing every connection now")
			abortDrain(errors.New("aborted by a second signal: requests cut off"))
		case <-dctx.Done():
		}
	}()
	logger.Info("draining", "timeout", drain)
	if err := srv.Shutdown(dctx); err != nil {
		cause := context.Cause(dctx)
		logger.Warn("drain cut short", "error", cause)
		return errors.Join(serveErr, fmt.Errorf("drain: %w", cause))
	}
	logger.Info("stopped")
	return serveErr
}

// openServeStore opens PostgreSQL at pgURL, or the bbolt store in data,
// imports the files older versions kept in data, and records which store
// serves.
func openServeStore(ctx context.Context, data, pgURL string, stderr io.Writer) (serveStore, string, error) {
	st, where, err := openServeStore0(ctx, data, pgURL, slog.New(slog.NewTextHandler(stderr, nil)))
	if err != nil {
		return nil, "", err
	}
	kind := "bbolt"
	if pgURL != "" {
		kind = "postgres"
	}
	if err := recordStoreKind(data, kind); err != nil {
		st.Close()
		return nil, "", err
	}
	if err := importLegacy(ctx, st, data, stderr); err != nil {
		st.Close()
		return nil, "", err
	}
	return st, where, nil
}

func openServeStore0(ctx context.Context, data, pgURL string, logger *slog.Logger) (serveStore, string, error) {
	if pgURL != "" {
		// The home cluster, and the clusters its routing map names for
		// passages (sentinel-central clusters).
		st, err := pgshard.Open(ctx, pgURL, &pgshard.Options{Logger: logger.With("component", "clusters")})
		if err != nil {
			return nil, "", fmt.Errorf("--postgres: %w", err)
		}
		return st, "postgres", nil
	}
	path := filepath.Join(data, server.StoreFile)
	st, err := boltstore.Open(path, nil)
	if errors.Is(err, bolterrors.ErrTimeout) {
		return nil, "", fmt.Errorf("%s is locked: another 'sentinel-central serve' runs on --data %s: stop it first (a restart under the service manager stops the old one), or give this one another --data", path, data)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	return st, path, nil
}

// serveOps builds the operator API over st: role tokens and the audit log
// from the store, status changes through pub, and backup for the bbolt
// store.
func serveOps(ctx context.Context, data string, st serveStore, where string, m *metrics.Metrics, pub *statuspub.Publisher, engineEnv enginecmd.Env, logger *slog.Logger) (*opsapi.Handler, error) {
	tokens, err := st.ListOpsTokens(ctx)
	if err != nil {
		return nil, err
	}
	if len(tokens) == 0 {
		path := filepath.Join(data, opsapi.TokensFile)
		return nil, fmt.Errorf("--ops-listen needs role tokens, and the store holds none; make one (it prints the token once, for the operator):\n"+
			"  sentinel-central tokens add --data %s --name NAME --role ops\n"+
			"or write them into %s, which serve imports when it starts:\n"+
			"  tok=$(head -c 32 /dev/urandom | base64 | tr -d '=+/'); echo \"$tok\"   # give this to the operator\n"+
			"  printf '{\"tokens\":[{\"name\":\"NAME\",\"role\":\"ops\",\"sha256\":\"%%s\"}]}\\n' $(printf %%s \"$tok\" | sha256sum | cut -d' ' -f1) > %s\n"+
			"(roles: ops for devices, export and trace; admin for backup)", data, path, path)
	}
	opts := opsapi.Options{
		Tokens: opsapi.StoreTokens{Store: st}, Store: st, Audit: st, StoreName: where,
		Logger: logger.With("component", "ops"), Metrics: m, Status: pub,
	}
	engineEnv.Store, engineEnv.Publisher = st, pub
	opts.Engine = &engineEnv
	if b, ok := st.(*boltstore.Store); ok {
		opts.Backup = b.Backup
	}
	return opsapi.New(opts)
}

// engineWatcher is a store that tells of the engine's changes other
// processes make (pgstore: LISTEN/NOTIFY).
type engineWatcher interface {
	WatchEngine(ctx context.Context, changed func(), logger *slog.Logger) (stop func())
}

var _ engineWatcher = (*pgstore.Store)(nil)

// serveHosts returns the names of the server certificate: those given,
// or those --listen implies.
func serveHosts(given, listen string) ([]string, error) {
	if given != "" {
		var out []string
		for h := range strings.SplitSeq(given, ",") {
			if h = strings.TrimSpace(h); h != "" {
				out = append(out, h)
			}
		}
		if len(out) == 0 {
			return nil, cli.Usagef("--hosts %q names no host", given)
		}
		return out, nil
	}
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, cli.Usagef("--listen %q: want HOST:PORT", listen)
	}
	ip := net.ParseIP(host)
	switch {
	case host == "localhost" || (ip != nil && ip.IsLoopback()):
		return []string{"localhost", "127.0.0.1", "::1"}, nil
	case ip != nil && !ip.IsUnspecified():
		return []string{host}, nil
	case ip == nil && host != "":
		return []string{host}, nil
	}
	return nil, cli.Usagef("--listen %q listens on every address: give --hosts with the names terminals reach the centre by", listen)
}

// loopback reports whether addr's host is a loopback address.
func loopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// readHPKEPrivate reads the centre's HPKE private key, hex as trust
// hpke-keygen writes it.
func readHPKEPrivate(path, kemName string) (hpke.PrivateKey, error) {
	var id uint16
	switch kemName {
	case "x25519":
		id = 0x0020
	case "mlkem768-x25519":
		id = 0x647a
	default:
		return nil, cli.Usagef("--hpke-kem %q: want x25519 or mlkem768-x25519", kemName)
	}
	kem, err := hpke.NewKEM(id)
	if err != nil {
		return nil, err
	}
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--hpke-key: %w", err)
	}
	b, err := hex.DecodeString(strings.TrimSpace(string(raw)))
	if err != nil {
		return nil, fmt.Errorf("--hpke-key %s: not hex: %w", path, err)
	}
	k, err := kem.NewPrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("--hpke-key %s: not a %s private key: %w", path, kemName, err)
	}
	return k, nil
}

// issuersFile is the JSON file --issuers names. Key and secret paths are
// relative to the file's directory unless absolute.
type issuersFile struct {
	Issuers []struct {
		ID  string `json:"id"`
		Key string `json:"key"`
	} `json:"issuers"`
	Tokens []struct {
		Name       string `json:"name"`
		Issuer     string `json:"issuer"`
		SecretFile string `json:"secret_file"`
	} `json:"tokens"`
}

// serveIssuance builds the issuance endpoint from the --issuers file, with
// the colours from the statuses of the central store.
func serveIssuance(path string, statuses issuance.Statuses, logger *slog.Logger) (*issuance.Handler, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("--issuers: %w", err)
	}
	var f issuersFile
	dec := json.NewDecoder(strings.NewReader(string(raw)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("--issuers %s: %w (want {\"issuers\":[{\"id\":\"ZJ\",\"key\":\"FILE\"}],\"tokens\":[{\"name\":\"NAME\",\"issuer\":\"ZJ\",\"secret_file\":\"FILE\"}]})", path, err)
	}
	rel := func(p string) string {
		if p == "" || filepath.IsAbs(p) {
			return p
		}
		return filepath.Join(filepath.Dir(path), p)
	}
	opts := issuance.Options{Statuses: statuses, Logger: logger.With("component", "issuance")}
	for _, is := range f.Issuers {
		if is.Key == "" {
			return nil, fmt.Errorf("--issuers %s: issuer %q names no key file", path, is.ID)
		}
		k, err := readIssueSigner(rel(is.Key))
		if err != nil {
			return nil, fmt.Errorf("--issuers %s: issuer %q: %w", path, is.ID, err)
		}
		h, err := healthcode.NewIssuer(is.ID, k, nil)
		if err != nil {
			return nil, fmt.Errorf("--issuers %s: %w", path, err)
		}
		opts.Issuers = append(opts.Issuers, h)
	}
	for _, tk := range f.Tokens {
		if tk.SecretFile == "" {
			return nil, fmt.Errorf("--issuers %s: token %q names no secret_file (secrets are never written inline)", path, tk.Name)
		}
		sec, err := os.ReadFile(rel(tk.SecretFile))
		if err != nil {
			return nil, fmt.Errorf("--issuers %s: token %q: %w", path, tk.Name, err)
		}
		opts.Tokens = append(opts.Tokens, issuance.Token{Name: tk.Name, Issuer: tk.Issuer, Secret: strings.TrimSpace(string(sec))})
	}
	h, err := issuance.New(opts)
	if err != nil {
		return nil, fmt.Errorf("--issuers %s: %w", path, err)
	}
	return h, nil
}

// serveKinds are the kinds serve's signing key needs: status for the
// scheduled bases and the time, the others for re-signing.
const serveKinds = "trust,status-base,status-delta,policy,config"

// serveNeedsKey says how to give serve its signing key.
func serveNeedsKey(data string) string {
	return fmt.Sprintf(`serve signs the centre's time and keeps the bundles fresh with the online signing key: give --key FILE --delegation FILE
  make them once (the root key stays offline):
    sentinel-central trust signer-keygen --out %[1]s/keys --name serve
    # on the machine that holds the root key, then copy serve.delegation back:
    sentinel-central trust delegate --root root.key --pub %[1]s/keys/serve.pub --kinds %[2]s --valid 90d --out %[1]s/keys/serve.delegation
  then: sentinel-central serve --key %[1]s/keys/serve.key --delegation %[1]s/keys/serve.delegation ...
  or run without (terminals without NTP never trust their clock; bundles go stale): --no-time --no-schedule`, data, serveKinds)
}

// serveSign is what serve signs with.
type serveSign struct {
	key            crypto.Signer
	d              *trust.Delegation
	fresh, grace   time.Duration
	retention      time.Duration
	auditRetention time.Duration
}

func serveSigning(fresh, grace, retention, auditRetention string) (serveSign, error) {
	var s serveSign
	var err error
	if s.fresh, s.grace, err = parseFreshGrace(fresh, grace); err != nil {
		return s, err
	}
	if retention != "0" {
		if s.retention, err = parseDays(retention); err != nil {
			return s, cli.Usagef("--retention: %v (or 0 to keep every passage)", err)
		}
	}
	if auditRetention != "0" {
		if s.auditRetention, err = parseDays(auditRetention); err != nil {
			return s, cli.Usagef("--audit-retention: %v (or 0 to keep the whole audit log)", err)
		}
	}
	return s, nil
}

// loadServeKey reads a signing key and its delegation (loadSigningKey)
// and checks, before anything is served, what terminals would check: the
// delegation is valid now, and it allows status-delta (the kind the
// signed time is judged by) when forTime, and the status kinds when
// forSchedule.
func loadServeKey(keyFlag, keyPath, delFlag, delPath string, root crypto.PublicKey, now time.Time, forSchedule, forTime bool) (crypto.Signer, *trust.Delegation, error) {
	k, d, err := loadSigningKey(keyFlag, keyPath, delFlag, delPath, root)
	if err != nil || d == nil {
		return k, d, err
	}
	if !d.Validity.Contains(now) {
		return nil, nil, fmt.Errorf("%s %s is valid from %s to %s, not now: have the root delegate the key again (sentinel-central trust delegate ... --kinds %s)",
			delFlag, delPath, d.Validity.NotBefore.Format(time.RFC3339), d.Validity.NotAfter.Format(time.RFC3339), serveKinds)
	}
	var need []trust.Kind
	if forTime || forSchedule {
		need = append(need, trust.KindStatusDelta)
	}
	if forSchedule {
		need = append(need, trust.KindStatusBase)
	}
	for _, kind := range need {
		if !slices.Contains(d.Kinds, kind) {
			return nil, nil, fmt.Errorf("%s %s lets the key sign %s, not %s, which serve needs: delegate it again with --kinds %s", delFlag, delPath, joinKinds(d.Kinds), kind, serveKinds)
		}
	}
	return k, d, nil
}

// serveScheduler builds the scheduler: status bases, re-signing, lapses
// and the code engine's sweep with pub (nil: none, --no-schedule),
// retention on the store: passages, facts and lapsed statuses past
// retention, the audit log and the engine's changes past auditRetention.
func serveScheduler(st serveStore, pub *statuspub.Publisher, retention, auditRetention time.Duration, m *metrics.Metrics, logger *slog.Logger) (*schedule.Scheduler, error) {
	opts := schedule.Options{Retention: retention, AuditRetention: auditRetention, Logger: logger.With("component", "schedule"), Publisher: pub}
	if pub != nil {
		// The code engine's sweep each round: what the deployed rule sets
		// give is published within one round (a centre without rule sets
		// judges nobody and publishes nothing).
		opts.Sweep = (&sweep.Runner{Store: st, Publisher: pub, Logger: logger, Metrics: m}).Scheduled
	}
	// Retention never takes a fact that a deployed rule set still reads.
	opts.FactsNeeded = func(ctx context.Context) (time.Duration, string, error) { return sweep.FactsNeeded(ctx, st) }
	switch s := st.(type) {
	case *boltstore.Store:
		opts.Stores = append(opts.Stores, schedule.Store{Name: "bbolt", Purge: s.PurgeBefore, Expire: s.Expire})
	case *pgshard.Store:
		opts.Stores = append(opts.Stores, schedule.Store{Name: "postgres", Expire: s.Expire, Purge: func(ctx context.Context, horizon time.Time) (int, error) {
			dropped, err := s.DropBefore(ctx, horizon)
			return len(dropped), err
		}})
	case *pgstore.Store:
		opts.Stores = append(opts.Stores, schedule.Store{Name: "postgres", Expire: s.Expire, Purge: func(ctx context.Context, horizon time.Time) (int, error) {
			dropped, err := s.DropBefore(ctx, horizon)
			return len(dropped), err
		}})
	}
	if opts.Publisher == nil && opts.Retention == 0 && opts.AuditRetention == 0 {
		return nil, nil
	}
	return schedule.New(opts)
}

// setLimit applies one --limit LISTENER=RATE/BURST to cfg.
func setLimit(cfg *server.Config, arg string) error {
	name, spec, ok := strings.Cut(arg, "=")
	r, b, ok2 := strings.Cut(spec, "/")
	rate, err1 := strconv.ParseFloat(r, 64)
	burst, err2 := strconv.Atoi(b)
	if !ok || !ok2 || err1 != nil || err2 != nil || rate <= 0 || burst < 1 {
		return cli.Usagef("--limit %q: want LISTENER=RATE/BURST with a positive rate and burst, like issue=200/500", arg)
	}
	l := server.Limit{Rate: ratelimit.Limit(rate), Burst: burst}
	switch name {
	case "enrol":
		cfg.EnrolLimit = l
	case "ops":
		cfg.OpsLimit = l
	case "issue":
		cfg.IssuanceLimit = l
	default:
		return cli.Usagef("--limit %q: the listener is enrol, ops or issue", arg)
	}
	return nil
}
