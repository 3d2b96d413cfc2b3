// Package cli holds what Sentinel's command-line programs share: the
// subcommand table and its dispatch, the exit statuses of the contracts, and
// flag parsing that lets flags follow the arguments, as installers type
// them. It is deliberately small: stdlib flag does the rest.
package cli

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
)

// Exit statuses of every command (CONTRACTS.md, "Command lines").
const (
	ExitOK      = 0 // success
	ExitRefused = 1 // something was refused or failed
	ExitUsage   = 2 // the command line was wrong
)

// Func runs one subcommand and returns the process exit status.
type Func func(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int

// Command is one subcommand.
type Command struct {
	Summary string
	Run     Func
}

// Dispatch runs the subcommand args[0] of cmds. prog names the program (and
// parent commands) in messages, e.g. "sentinel-central trust". No command,
// or an unknown one, prints the list to stderr and exits ExitUsage; -h,
// --help and help print it to stdout and exit ExitOK.
func Dispatch(ctx context.Context, prog string, cmds map[string]Command, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		Usage(stderr, prog, cmds)
		return ExitUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		Usage(stdout, prog, cmds) // asked for: to stdout, so it pages
		return ExitOK
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown command %q\n\n", prog, args[0])
		Usage(stderr, prog, cmds)
		return ExitUsage
	}
	return cmd.Run(ctx, args[1:], stdin, stdout, stderr)
}

// Usage prints the list of subcommands.
func Usage(w io.Writer, prog string, cmds map[string]Command) {
	fmt.Fprintf(w, "usage: %s COMMAND [flags] [args]\n\ncommands:\n", prog)
	names := make([]string, 0, len(cmds))
	width := 0
	for n := range cmds {
		names = append(names, n)
		width = max(width, len(n))
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-*s  %s\n", width, n, cmds[n].Summary)
	}
	fmt.Fprintf(w, "\nRun '%s COMMAND -h' for a command's flags.\n", prog)
}

// ParseInterspersed parses flags that may stand before, between or after
// the positional arguments ("verify FILE --json") and returns the
// positionals. "--" ends the flags; everything after it is positional.
func ParseInterspersed(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		rest := fs.Args()
		if len(rest) == 0 {
			return pos, nil
		}
		if n := len(args) - len(rest); n > 0 && args[n-1] == "--" {
			return append(pos, rest...), nil
		}
		pos = append(pos, rest[0])
		args = rest[1:]
	}
}

// Strings is a flag that may be given several times.
type Strings []string

// String implements flag.Value.
func (s *Strings) String() string { return strings.Join(*s, ",") }

// Set implements flag.Value.
func (s *Strings) Set(v string) error { *s = append(*s, v); return nil }

// ParseTime reads a time as every command takes it: RFC 3339, or a date and
// time without a zone (UTC), or a date alone (midnight UTC). The result is
// in UTC.
func ParseTime(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: use RFC 3339, e.g. 2026-11-29T08:00:00Z (no zone means UTC)", s)
}

// Main runs a program: run gets a context that SIGINT or SIGTERM cancels,
// and its result becomes the exit status.
func Main(run Func) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
