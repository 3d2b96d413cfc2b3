// Command sentinelctl is the installer's, guard's and supervisor's tool on a
// Sentinel terminal: it verifies codes, checks the configuration, probes and
// calibrates the devices and reads the journal.
//
// Every subcommand takes --json for machine output and exits 0 on success,
// 1 when something was refused or failed, and 2 on a usage error.
package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// Exit statuses shared by every subcommand.
const (
	exitOK      = 0
	exitRefused = 1
	exitUsage   = 2
)

// command is one subcommand. run returns the process exit status.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int
}

// commands lists every subcommand; each lives in a file of its own.
var commands = map[string]command{
	"verify":    {"verify codes offline against trusted keys", runVerify},
	"scan":      {"decode QR codes from image files or the configured devices", runScan},
	"selftest":  {"probe every configured device and say what to check", runSelftest},
	"calibrate": {"calibrate the thermometer against a reference source", runCalibrate},
	"config":    {"check the terminal's configuration file", runConfig},
	"journal":   {"verify, tail and export the passage journal", runJournal},
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run dispatches to a subcommand; tests call it in-process.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return exitUsage
		}
		return exitOK
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "sentinelctl: unknown command %q\n\n", args[0])
		usage(stderr)
		return exitUsage
	}
	return cmd.run(ctx, args[1:], stdin, stdout, stderr)
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: sentinelctl COMMAND [flags] [args]")
	fmt.Fprintln(w)
	fmt.Fprintln(w, "commands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'sentinelctl COMMAND -h' for a command's flags.")
}
