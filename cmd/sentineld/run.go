package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"sync"
	"syscall"

	firmwareconfig "sentinel/firmware-config"
)

// Exit statuses.
const (
	exitOK     = 0
	exitFailed = 1
	exitUsage  = 2
)

// DefaultConfigPath is where a terminal image installs the configuration.
const DefaultConfigPath = firmwareconfig.DefaultConfigPath

// Run is sentineld: tests call it in-process. Cancelling ctx aborts at once;
// signals drain first (see the package documentation).
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("sentineld", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: sentineld [-config FILE] [-data-dir DIR] [-log-level LEVEL]
       sentineld -demo [-demo-once] [-data-dir DIR]

flags:`)
		fs.PrintDefaults()
	}
	configPath := fs.String("config", DefaultConfigPath, "the terminal's configuration `FILE` (TOML)")
	dataDir := fs.String("data-dir", "", "the data `DIR`ectory, instead of the configuration's data_dir (with -demo: keep the demo's data here)")
	logLevel := fs.String("log-level", "", "debug, info, warn or error, instead of the configuration's log_level")
	demoMode := fs.Bool("demo", false, "run the demonstration: a throwaway terminal with its own keys, codes and simulated devices")
	demoOnce := fs.Bool("demo-once", false, "with -demo: exit once the demonstration's codes have passed")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return exitOK
		}
		return exitUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "sentineld: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *demoOnce && !*demoMode {
		fmt.Fprintln(stderr, "sentineld: -demo-once needs -demo")
		return exitUsage
	}
	level := new(slog.LevelVar)
	if *logLevel != "" {
		if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
			fmt.Fprintf(stderr, "sentineld: -log-level %q: want debug, info, warn or error\n", *logLevel)
			return exitUsage
		}
	}

	// Only main builds the handler: text for the demo, JSON on the device.
	var logger *slog.Logger
	if *demoMode {
		level.Set(slog.LevelInfo)
		if *logLevel != "" {
			level.UnmarshalText([]byte(*logLevel))
		}
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	} else {
		logger = slog.New(slog.NewJSONHandler(stderr, &slog.HandlerOptions{Level: level}))
	}

	// The first signal drains, the second aborts.
	ctx, abort := context.WithCancel(ctx)
	defer abort()
	drainCtx, drain := context.WithCancel(ctx)
	defer drain()
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT)
	defer signal.Stop(sigs)
	var watcher sync.WaitGroup
	defer watcher.Wait()
	defer abort() // ends the watcher when Run returns
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

	if *demoMode {
		if err := runDemo(ctx, drainCtx, demoOptions{dataDir: *dataDir, once: *demoOnce, stdout: stdout, logger: logger}); err != nil {
			logger.Error("demo failed", "error", err)
			return exitFailed
		}
		return exitOK
	}

	cfg, err := firmwareconfig.Load(*configPath)
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
