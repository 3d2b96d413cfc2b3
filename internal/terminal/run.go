package terminal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/cli"
	"sentinel/internal/version"
)

// Exit statuses.
const (
	exitOK     = cli.ExitOK
	exitFailed = cli.ExitRefused
	exitUsage  = cli.ExitUsage
)

// DefaultConfigPath is where a terminal image installs the configuration.
const DefaultConfigPath = firmwareconfig.DefaultConfigPath

// Run is sentineld's command line: cmd/sentineld calls it, tests call it
// in-process. Cancelling ctx aborts at once; signals drain first (see the
// package documentation).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentineld", stderr, cli.Help{})
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: sentineld [-config FILE] [-data-dir DIR] [-log-level LEVEL]
       sentineld -version

The configuration FILE is read at start: restart sentineld after editing it.
The site settings of the config bundle (language, time zone, guards,
retention_days) and the other bundles take effect as they arrive.

The demonstration is its own command: sentinel-demo (go run ./cmd/sentinel-demo).

flags:`)
		fs.PrintDefaults()
	}
	configPath := fs.String("config", DefaultConfigPath, "the terminal's configuration `FILE` (TOML)")
	dataDir := fs.String("data-dir", "", "the data `DIR`ectory, instead of the configuration's data_dir")
	logLevel := fs.String("log-level", "", "debug, info, warn or error, instead of the configuration's log_level")
	// The demonstration moved to its own command, so that sentineld links
	// neither the embedded centre nor the simulated devices: the flags
	// stay to say where it went.
	demoMode := fs.Bool("demo", false, "moved: run sentinel-demo (go run ./cmd/sentinel-demo)")
	demoOnce := fs.Bool("demo-once", false, "moved: run sentinel-demo -once")
	showVersion := fs.Bool("version", false, "print the version and exit")
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return cli.Exit(stderr, "sentineld", err)
	}
	if *showVersion {
		version.Print(stdout, "sentineld")
		return exitOK
	}
	if *demoMode || *demoOnce {
		fmt.Fprintln(stderr, "sentineld: the demonstration is its own command now: sentinel-demo (in the source tree: go run ./cmd/sentinel-demo)")
		return exitUsage
	}
	level := new(slog.LevelVar)
	if *logLevel != "" {
		if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
			fmt.Fprintf(stderr, "sentineld: -log-level %q: want debug, info, warn or error\n", *logLevel)
			return exitUsage
		}
	}

	// Only main builds the handler: JSON on the device.
	logger := slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	ctx, drainCtx, stop := Signals(ctx, logger)
	defer stop()

	cfg, err := firmwareconfig.Load(*configPath)
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(stderr, "sentineld: no configuration file at %s: write one (start from 'sentinelctl config example supermarket', check it with 'sentinelctl config check %s'; docs/install.md) or give -config FILE\n", *configPath, *configPath)
		return exitFailed
	}
	if err != nil {
		fmt.Fprintf(stderr, "sentineld: %s: %v\n", *configPath, err)
		return exitFailed
	}
	if *dataDir != "" {
		cfg.DataDir = *dataDir
	}
	if *logLevel == "" {
		if err := level.UnmarshalText([]byte(strings.ToLower(string(cfg.LogLevel)))); err != nil {
			level.Set(slog.LevelInfo)
		}
	}
	d := &daemon{cfg: cfg, logger: logger, hw: hostHardware(), notify: notifierFromEnv(), level: level}
	if err := d.run(ctx, drainCtx); err != nil {
		logger.Error("sentineld stopped", "error", err)
		return exitFailed
	}
	return exitOK
}

// Signals returns ctx and drainCtx for a run: the first SIGTERM or SIGINT
// ends drainCtx (drain: the lanes stop, the passages in progress finish),
// the second ends ctx (abort). stop releases the signals; call it when the
// run is over.
func Signals(ctx context.Context, logger *slog.Logger) (runCtx, drainCtx context.Context, stop func()) {
	ctx, abort := context.WithCancel(ctx)
	drainCtx, drain := context.WithCancel(ctx)
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	var watcher sync.WaitGroup
	watcher.Go(func() {
		select {
		case <-sigs:
		case <-ctx.Done():
			return
		}
		logger.Info("draining: signal again to abort", "timeout", drainTimeout)
		drain()
		select {
		case <-sigs:
			logger.Warn("aborting")
			abort()
		case <-ctx.Done():
		}
	})
	return ctx, drainCtx, func() {
		signal.Stop(sigs)
		abort() // ends the watcher
		watcher.Wait()
		drain()
	}
}
