package terminal

import (
	"context"
	"crypto"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/clock"
	"sentinel/internal/gate"
	"sentinel/internal/replay"
	"sentinel/internal/sdnotify"
	"sentinel/sync/client"
	"sentinel/sync/journal"
)

// drainTimeout bounds the wait for the passages in progress at shutdown.
const drainTimeout = 10 * time.Second

// daemon is one run of sentineld.
type daemon struct {
	cfg    *firmwareconfig.Config
	logger *slog.Logger
	level  *slog.LevelVar
	hw     hardware
	notify *sdnotify.Notifier
	// watchdog is how often to feed systemd's watchdog; 0: never.
	watchdog time.Duration
	// clock is the terminal's clock and its trust; nil means a
	// clock.Monitor on the kernel's clock status.
	clock gate.Clock

	// Set by the demo.
	onPassage func(gate.Result)
	// until, when closed, drains as a signal would.
	until <-chan struct{}
	// serving is called once the lanes read and the listeners serve.
	serving func(d *daemon)
	// reloadEvery is how often the data directory is checked for bundles
	// another process wrote, and the clock for trust; zero means
	// defaultReloadEvery.
	reloadEvery time.Duration
	// loadStatus, when set, replaces client.LoadStatus (tests count the
	// reads of the status chain).
	loadStatus func(dataDir string, root crypto.PublicKey, now time.Time, a client.StatusApplier) (uint64, error)
	// pruneEvery, when not zero, replaces statusPruneEvery (tests).
	pruneEvery time.Duration
	// syncEvery, when not zero, replaces the sync clients' idle
	// intervals; renewEvery the certificate check's (tests).
	syncEvery, renewEvery time.Duration

	// Set by run.
	held     *holdings // the root and the bundles in force
	journal  *journal.Journal
	gate     *gate.Gate
	devices  *devices
	sync     atomic.Pointer[syncer] // nil until enrolled
	syncOpts syncOptions
	// An enrolment from a scanned ticket (scanenrol.go).
	enrolCtx    context.Context
	enrolWG     sync.WaitGroup
	enrolling   atomic.Bool
	enrolNote   atomic.Pointer[string] // for the display; "" when none
	mgmtAddr    net.Addr
	displayAddr net.Addr
	// syncErrors counts the failed exchanges with the centre, across
	// the syncers of one run.
	syncErrors *prometheus.CounterVec
}

// notifierFromEnv returns systemd's notifier, as the service manager sets
// it in the environment.
func notifierFromEnv() *sdnotify.Notifier {
	return sdnotify.New(os.Getenv("NOTIFY_SOCKET"))
}

// watchdogFromEnv returns half the watchdog interval systemd asked for.
func watchdogFromEnv() time.Duration {
	d, err := sdnotify.WatchdogInterval(os.Getenv("WATCHDOG_USEC"), os.Getenv("WATCHDOG_PID"), os.Getpid())
	if err != nil {
		return 0
	}
	return d
}

// run serves until drainCtx is done (or until closes), then drains within
// drainTimeout; ctx's end aborts at once.
func (d *daemon) run(ctx, drainCtx context.Context) error {
	if d.clock == nil {
		m := clock.New(clock.Options{})
		d.clock = monitorClock{m}
		d.logger.Info("clock", "state", m.State().String())
	}
	if d.watchdog == 0 && d.notify.Enabled() {
		d.watchdog = watchdogFromEnv()
	}
	if err := os.MkdirAll(d.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("data directory: %w", err)
	}
	now, trusted := d.clock.Now()
	if !trusted {
		d.logger.Warn("the clock cannot be trusted yet: every person is referred to the guard", "now", now)
	}
	d.held = newHoldings(d.cfg.DataDir, d.cfg.Terminal.SiteID, d.clock.Now, d.logger.With("component", "bundles"))
	if d.loadStatus != nil {
		d.held.loadStatus = d.loadStatus
	}
	ld, err := d.held.load()
	if err != nil {
		return err
	}
	jopts := journal.Options{
		Retention: siteRetention(ld.site),
		OnAlarm: func(a journal.Alarm) {
			d.logger.Error("journal alarm", "kind", a.Kind, "message", a.Message)
		},
	}
	if ld.centre != nil {
		if jopts.CentreKey, err = ld.centre.Key(); err != nil {
			return fmt.Errorf("the trust bundle's centre key: %w", err)
		}
	}
	j, err := journal.Open(journal.Path(d.cfg.DataDir), jopts)
	if err != nil {
		return dataDirError("open journal", err, d.cfg.DataDir)
	}
	d.journal = j
	defer func() {
		if err := j.Close(); err != nil {
			d.logger.Error("close journal", "error", err)
		}
	}()
	d.salvage(now)

	var observer client.TimeObserver
	if o, ok := d.clock.(client.TimeObserver); ok {
		observer = o
	}
	d.syncErrors = newSyncErrors()
	d.syncOpts = syncOptions{
		dataDir: d.cfg.DataDir, url: d.cfg.Central.URL, journal: j, now: d.clock.Now, clock: observer,
		interval: d.syncEvery, renewEvery: d.renewEvery, logger: d.logger.With("component", "sync"),
		lanes: d.laneHealth, onBundle: d.held.onBundle, installed: d.held.written, bundles: d.held.health,
		syncErrors: d.syncErrors,
	}
	first, err := newSyncer(d.syncOpts)
	if err != nil {
		return err
	}
	d.sync.Store(first)
	defer func() {
		// Before the journal closes.
		if s := d.sync.Load(); s != nil {
			s.Close()
		}
	}()
	onPassage := func(r gate.Result) {
		if s := d.sync.Load(); s != nil {
			s.Kick()
		}
		if d.onPassage != nil {
			d.onPassage(r)
		}
	}

	enrolCtx, stopEnrol := context.WithCancel(ctx)
	d.enrolCtx = enrolCtx
	defer d.enrolWG.Wait()
	defer stopEnrol()
	devs, err := d.openDevices(ctx)
	if err != nil {
		return err
	}
	d.devices = devs
	defer devs.close()

	// The codes admitted here moments ago, kept across restarts.
	mem, err := replay.Open(filepath.Join(d.cfg.DataDir, replay.File), replay.Options{
		Now: func() time.Time {
			if t, trusted := d.clock.Now(); trusted {
				return t
			}
			return time.Time{} // keep the memory until the clock is set
		},
		Logger: d.logger.With("component", "replay"),
	})
	if err != nil {
		return dataDirError("replay memory", err, d.cfg.DataDir)
	}
	defer mem.Close()

	pins, err := loadPINState(d.cfg.DataDir)
	if err != nil {
		d.logger.Error("guard PIN lockout unreadable: overrides start locked for a minute", "error", err)
		now, _ := d.clock.Now()
		pins = gate.PINState{Level: 1, LockedUntil: now.Add(gate.PINLockouts[0]), LockedFor: gate.PINLockouts[0]}
	}
	display := d.newDisplay(ld.site)
	// The day's counters survive a restart: rebuilt from the journal.
	if counts, err := todayCounts(j, now, ld.site.Location()); err != nil {
		d.logger.Warn("the day's counters could not be read from the journal: they start at 0", "error", err)
	} else {
		display.RestoreCounts(now, counts)
	}
	g, err := gate.New(gate.Options{
		Lanes: devs.lanes, Journal: j, Clock: d.clock, State: ld.state,
		Display: uiDisplay{s: display, ref: d.passageRef(j)}, Logger: d.logger.With("component", "gate"), OnPassage: onPassage,
		Replay: mem,
		// The guard may override only what the display still shows.
		OverrideWindow: displayRefuseHold,
		PINState:       pins,
		SavePINState:   func(st gate.PINState) error { return savePINState(d.cfg.DataDir, st) },
	})
	if err != nil {
		return err
	}
	d.gate = g
	// From here on, every bundle taken (from the downloader or the data
	// directory) installs a new state for the next passages.
	d.held.setInstall(func(ld *loaded) {
		g.SetState(ld.state)
		if ld.centre != nil {
			if k, err := ld.centre.Key(); err == nil {
				j.SetCentreKey(k)
			}
		}
		display.SetLang(ld.site.Language)
		display.SetLocation(ld.site.Location())
		// The next purge keeps the site's retention now, not the one
		// at start.
		j.SetRetention(siteRetention(ld.site))
	})

	var servers []*http.Server
	defer func() {
		display.Close() // ends the event streams, which Shutdown would wait for
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		for _, s := range servers {
			s.Shutdown(sctx)
		}
	}()
	serve := func(name, addr string, maxConns int, h http.Handler) (net.Addr, error) {
		ln, err := net.Listen("tcp", addr)
		if errors.Is(err, syscall.EADDRINUSE) {
			return nil, fmt.Errorf("%s listener: another program uses %s: stop it, or give the %s listener another port in the configuration ([listen] %s): %w", name, addr, name, name, err)
		}
		if err != nil {
			return nil, fmt.Errorf("%s listener: %w", name, err)
		}
		ln = newLimitListener(ln, maxConns, name, d.logger)
		s := &http.Server{
			Handler: h, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: time.Minute,
			ErrorLog: slog.NewLogLogger(d.logger.Handler(), slog.LevelWarn),
		}
		servers = append(servers, s)
		go s.Serve(ln) // ends with Shutdown above
		d.logger.Info("listening", "listener", name, "addr", ln.Addr().String())
		return ln.Addr(), nil
	}
	if d.mgmtAddr, err = serve("management", d.cfg.Listen.Management, maxManagementConns, d.mgmtHandler()); err != nil {
		return err
	}
	if d.displayAddr, err = serve("display", d.cfg.Listen.Display, maxDisplayConns, display.Handler()); err != nil {
		return err
	}

	passCtx, cancelPasses := context.WithCancel(ctx)
	defer cancelPasses()
	g.Start(passCtx)
	var bg sync.WaitGroup
	bgCtx, stopBG := context.WithCancel(ctx)
	defer bg.Wait()
	defer stopBG()
	bg.Go(func() { devs.check(bgCtx, d.hw.checkEvery, d.logger.With("component", "thermo")) })
	bg.Go(func() { d.updateDisplay(bgCtx, display) })
	bg.Go(func() { d.watchBundles(bgCtx, d.reloadEvery) })
	bg.Go(func() { d.held.pruneStatusEvery(bgCtx, d.pruneEvery) })
	if first != nil {
		first.Start(bgCtx)
	}
	bg.Go(func() { d.watchEnrolment(bgCtx, d.reloadEvery) })
	bg.Go(func() {
		healthy := func() bool { return len(d.problems()) == 0 }
		if err := d.notify.RunWatchdog(bgCtx, d.watchdog, healthy); err != nil && !errors.Is(err, context.Canceled) {
			d.logger.Warn("systemd watchdog", "error", err)
		}
	})
	if err := d.notify.Notify(sdnotify.Ready, "STATUS=serving "+strconv.Itoa(len(g.Lanes()))+" lanes"); err != nil {
		d.logger.Warn("systemd notification", "error", err)
	}
	d.logger.Info("serving", "lanes", g.Lanes(), "enrolled", ld.state.Enrolled, "site", ld.site.Type)
	if d.serving != nil {
		d.serving(d)
	}

	select {
	case <-drainCtx.Done():
	case <-d.until:
	}
	d.notify.Notify(sdnotify.Stopping)
	stopped := make(chan struct{})
	go func() {
		g.Stop()
		close(stopped)
	}()
	select {
	case <-stopped:
		d.logger.Info("drained")
	case <-ctx.Done():
		cancelPasses()
		devs.halt() // cut a relay pulse or a buzzer pattern short
		<-stopped
		d.logger.Warn("aborted: passages in progress were cut short, the gate stayed shut")
	case <-time.After(drainTimeout):
		cancelPasses()
		devs.halt()
		<-stopped
		d.logger.Warn("drain timed out: passages in progress were cut short, the gate stayed shut", "timeout", drainTimeout)
	}
	devs.halt()
	stopBG() // no new syncer from here on
	bg.Wait()
	if s := d.sync.Load(); s != nil {
		// The lanes are done: the last passages are in the journal.
		s.Stop()
		if ctx.Err() == nil {
			s.FinalUpload(ctx)
		}
	}
	return nil
}

// salvage recovers the passages still readable in every journal file moved
// aside (now or at an earlier start) and queues them for the centre; the
// sync client delivers them. A file that cannot be read is logged and
// kept.
func (d *daemon) salvage(now time.Time) {
	got, err := journal.SalvageMovedAside(journal.Path(d.cfg.DataDir), now)
	for _, s := range got {
		d.logger.Warn("salvaged a damaged journal: its readable passages are queued for the centre",
			"file", s.Source, "epoch", s.Epoch, "records", len(s.Records), "first", s.First(), "last", s.Last(),
			"keys", len(s.Keys), "breaks", len(s.Breaks))
	}
	if err != nil {
		d.logger.Error("salvage of a damaged journal failed: the file is kept; try sentinelctl journal salvage", "error", err)
	}
}

// dataDirError says why what, a file of the data directory, could not
// be opened at start and, where the error itself cannot know it, what to
// do.
func dataDirError(what string, err error, dataDir string) error {
	switch {
	case errors.Is(err, fs.ErrPermission):
		// The files were made or copied by another user (root, by hand).
		return fmt.Errorf("%s: %w: the data directory's files must belong to the user sentineld runs as (sentinel, as the package installs it): as root, chown -R sentinel: %s, then start sentineld again", what, err, dataDir)
	case errors.Is(err, syscall.ENOSPC) && !strings.Contains(err.Error(), "free space"):
		return fmt.Errorf("%s: %w: the disk of the data directory %s is full: free space on it (df -h %s; delete what is not the terminal's), then start sentineld again", what, err, dataDir, dataDir)
	}
	return fmt.Errorf("%s: %w", what, err)
}

// siteRetention is how long the site keeps acknowledged passages on the
// terminal (its config bundle's retention_days).
func siteRetention(site *gate.SiteSettings) time.Duration {
	return time.Duration(site.RetentionDays) * 24 * time.Hour
}
