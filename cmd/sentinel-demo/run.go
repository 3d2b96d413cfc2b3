package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"

	"sentinel/internal/cli"
	"sentinel/internal/terminal"
)

// Exit statuses.
const (
	exitOK     = cli.ExitOK
	exitFailed = cli.ExitRefused
	exitUsage  = cli.ExitUsage
)

// Run is sentinel-demo: tests call it in-process. Cancelling ctx aborts at
// once; the first signal drains, the second aborts.
func Run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinel-demo", stderr, cli.Help{})
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: sentinel-demo [-once] [-data-dir DIR] [-log-level LEVEL]

Runs a terminal with simulated devices and an embedded central server,
prints one line per passage and, at the end, what the centre received.

flags:`)
		fs.PrintDefaults()
	}
	once := fs.Bool("once", false, "exit once the demonstration's codes have passed, and take free ports")
	fs.BoolVar(once, "demo-once", false, "the same as -once (sentineld -demo-once's name)")
	dataDir := fs.String("data-dir", "", "keep the demo's data in `DIR` (default: a temporary directory, removed at the end)")
	logLevel := fs.String("log-level", "info", "debug, info, warn or error")
	if err := cli.ParseNoArgs(fs, args); err != nil {
		return cli.Exit(stderr, "sentinel-demo", err)
	}
	level := new(slog.LevelVar)
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(stderr, "sentinel-demo: -log-level %q: want debug, info, warn or error\n", *logLevel)
		return exitUsage
	}
	logger := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))
	if *dataDir != "" {
		// The terminal's configuration wants an absolute data_dir; a
		// reader types -data-dir demo-data.
		abs, err := filepath.Abs(*dataDir)
		if err != nil {
			fmt.Fprintf(stderr, "sentinel-demo: -data-dir %q: %v\n", *dataDir, err)
			return exitUsage
		}
		*dataDir = abs
	}

	ctx, drainCtx, stop := terminal.Signals(ctx, logger)
	defer stop()
	if err := runDemo(ctx, drainCtx, demoOptions{dataDir: *dataDir, once: *once, stdout: stdout, logger: logger}); err != nil {
		logger.Error("demo failed", "error", err)
		return exitFailed
	}
	return exitOK
}
