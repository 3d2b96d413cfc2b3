// Package cli holds what Sentinel's command-line programs share, so that
// every command of sentineld, sentinelctl, sentinel-central and
// sentinel-demo behaves the same at the shell:
//
//   - the subcommand table and its dispatch (Command, Dispatch, Usage);
//   - the exit statuses of the contracts (ExitOK, ExitRefused, ExitUsage)
//     and the error that selects the status (UsageError, Usagef,
//     ErrReported, Exit);
//   - flag sets that report to stderr and never exit, whose -h prints a
//     usage line and what the command does before the flags (NewFlagSet,
//     Help, CommandHelp), parsed
//     with flags before, between or after the arguments, "--" ending them
//     (Parse, ParseNoArgs, ParseInterspersed);
//   - one time syntax for every time flag (ParseTime, Time): RFC 3339, no
//     zone meaning UTC, a space accepted for the "T".
//
// It is deliberately small: stdlib flag does the rest.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
	"time"
	"unicode"
	"unicode/utf8"

	"sentinel/internal/version"
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
	// Summary says what the command does, in a phrase: the command list
	// shows it, and so does the command's own -h (see CommandHelp).
	Summary string
	// Synopsis is what follows the command's name in its -h usage line,
	// as "--from TIME --to TIME [flags]"; each further line is another
	// form of the command. Empty means "[flags]".
	Synopsis string
	Run      Func
}

// Help is what a command's -h prints above its flags: the usage line
// "usage: NAME SYNOPSIS" (one per line of Synopsis) and the Summary.
type Help struct {
	Synopsis string
	Summary  string
}

type helpKey struct{}

// CommandHelp returns the Synopsis and Summary of the command Dispatch is
// running, for the command's flag set: its table entry is then the one
// source of both the command list and the command's -h.
func CommandHelp(ctx context.Context) Help {
	h, _ := ctx.Value(helpKey{}).(Help)
	return h
}

// Dispatch runs the subcommand args[0] of cmds. prog names the program (and
// parent commands) in messages, e.g. "sentinel-central trust". No command,
// or an unknown one, prints the list to stderr and exits ExitUsage; -h,
// --help and help print it to stdout and exit ExitOK; --version (or
// -version, version) prints the program's version (internal/version) and
// exits ExitOK.
func Dispatch(ctx context.Context, prog string, cmds map[string]Command, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		Usage(stderr, prog, cmds)
		return ExitUsage
	}
	if args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		Usage(stdout, prog, cmds) // asked for: to stdout, so it pages
		return ExitOK
	}
	if _, isCmd := cmds[args[0]]; !isCmd && (args[0] == "--version" || args[0] == "-version" || args[0] == "version") {
		version.Print(stdout, strings.Fields(prog)[0])
		return ExitOK
	}
	cmd, ok := cmds[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "%s: unknown command %q\n\n", prog, args[0])
		Usage(stderr, prog, cmds)
		return ExitUsage
	}
	ctx = context.WithValue(ctx, helpKey{}, Help{Synopsis: cmd.Synopsis, Summary: cmd.Summary})
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
	fmt.Fprintf(w, "\nflags:\n  -version\n    \tprint the program's version and exit\n")
	fmt.Fprintf(w, "\nRun '%s COMMAND -h' for a command's flags.\n", prog)
}

// ParseInterspersed parses flags that may stand before, between or after
// the positional arguments ("verify FILE --json") and returns the
// positionals. "--" ends the flags; everything after it is positional.
// Its error is the flag package's own; Parse wraps it as a usage error.
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

// NewFlagSet returns the flag set of a command named name (as
// "sentinel-central trust build"): it reports to stderr and never exits
// the process. Its -h prints help's usage line and summary, then the
// flags (see PrintHelp). A command dispatched by Dispatch passes
// CommandHelp(ctx).
func NewFlagSet(name string, stderr io.Writer, help Help) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { PrintHelp(fs, help) }
	return fs
}

// PrintHelp prints to fs's output what -h shows:
//
//	usage: NAME SYNOPSIS
//	       NAME OTHER-FORM
//
//	Summary, as a sentence.
//
//	flags:
//	  -flag ...
func PrintHelp(fs *flag.FlagSet, help Help) {
	w := fs.Output()
	synopsis := strings.TrimSpace(help.Synopsis)
	if synopsis == "" {
		synopsis = "[flags]"
	}
	for i, form := range strings.Split(synopsis, "\n") {
		lead := "usage: "
		if i > 0 {
			lead = "       "
		}
		fmt.Fprintf(w, "%s%s %s\n", lead, fs.Name(), strings.TrimSpace(form))
	}
	if s := sentence(help.Summary); s != "" {
		fmt.Fprintf(w, "\n%s\n", wrap(s, 76))
	}
	fmt.Fprint(w, "\nflags:\n")
	fs.PrintDefaults()
}

// wrap breaks s into lines of at most width columns, between words.
func wrap(s string, width int) string {
	var b strings.Builder
	col := 0
	for _, word := range strings.Fields(s) {
		n := utf8.RuneCountInString(word)
		switch {
		case col == 0:
		case col+1+n > width:
			b.WriteByte('\n')
			col = 0
		default:
			b.WriteByte(' ')
			col++
		}
		b.WriteString(word)
		col += n
	}
	return b.String()
}

// sentence makes a summary phrase of a command table ("export passages
// for a time range") a sentence: capital first letter, final full stop.
func sentence(s string) string {
	s = strings.TrimSpace(s)
	if s == "" {
		return ""
	}
	r, n := utf8.DecodeRuneInString(s)
	s = string(unicode.ToUpper(r)) + s[n:]
	if !strings.HasSuffix(s, ".") && !strings.HasSuffix(s, "!") && !strings.HasSuffix(s, "?") {
		s += "."
	}
	return s
}

// Parse parses args as ParseInterspersed does and returns the positionals.
// Its error is flag.ErrHelp when -h was asked for (the flags are printed
// already), or a usage error.
func Parse(fs *flag.FlagSet, args []string) ([]string, error) {
	pos, err := ParseInterspersed(fs, args)
	if err != nil && !errors.Is(err, flag.ErrHelp) {
		return nil, Usagef("%v", err)
	}
	return pos, err
}

// ParseNoArgs parses args for a command that takes flags only and refuses
// any positional argument as a usage error.
func ParseNoArgs(fs *flag.FlagSet, args []string) error {
	pos, err := Parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return Usagef("unexpected argument %q", pos[0])
	}
	return nil
}

// UsageError is a mistake in the command line: Exit turns it into
// ExitUsage. Every other error is a refusal or a failure (ExitRefused).
type UsageError struct{ Msg string }

func (e *UsageError) Error() string { return e.Msg }

// Usagef returns a *UsageError with a formatted message.
func Usagef(format string, args ...any) error {
	return &UsageError{fmt.Sprintf(format, args...)}
}

// IsUsage reports whether err is, or wraps, a usage error.
func IsUsage(err error) bool {
	var ue *UsageError
	return errors.As(err, &ue)
}

// ErrReported is a refusal or failure that the command has reported
// already, in its own output (a code refused, a selftest or a
// configuration check that found problems, a journal whose chain breaks):
// Exit returns ExitRefused for it and prints nothing more.
var ErrReported = errors.New("refused or failed, as reported above")

// Exit prints err after the command's name and returns the exit status for
// it: ExitOK for nil and for flag.ErrHelp (-h printed the flags),
// ExitUsage for a usage error, ExitRefused for anything else; ErrReported
// is not printed.
func Exit(stderr io.Writer, prog string, err error) int {
	if err == nil || errors.Is(err, flag.ErrHelp) {
		return ExitOK
	}
	if errors.Is(err, ErrReported) {
		return ExitRefused
	}
	fmt.Fprintf(stderr, "%s: %v\n", prog, err)
	if IsUsage(err) {
		return ExitUsage
	}
	return ExitRefused
}

// Strings is a flag that may be given several times.
type Strings []string

// String implements flag.Value.
func (s *Strings) String() string { return strings.Join(*s, ",") }

// Set implements flag.Value.
func (s *Strings) Set(v string) error { *s = append(*s, v); return nil }

// TimeSyntax says, in the words of an error message, what ParseTime takes.
const TimeSyntax = "want RFC 3339, as 2026-12-01T08:00:00Z or 2026-12-01T09:00:00+01:00; " +
	"without a zone it is UTC, a space may stand for the T (quote it), and a date alone is its midnight UTC"

// timeLayouts are the forms ParseTime takes, with "T" between date and
// time; a space there is read as a "T" first.
var timeLayouts = []string{
	time.RFC3339Nano,                // 2026-12-01T08:00:00Z, 2026-12-01T08:00:00.5+01:00
	"2006-01-02T15:04Z07:00",        // 2026-12-01T08:00+01:00
	"2006-01-02T15:04:05.999999999", // 2026-12-01T08:00:00: UTC
	"2006-01-02T15:04",              // 2026-12-01T08:00: UTC
	time.DateOnly,                   // 2026-12-01: midnight UTC
}

// ParseTime reads a time as every command of every Sentinel program takes
// it: RFC 3339; without a zone the time is UTC; a date alone is its
// midnight UTC. The date and the time may be separated by a space instead
// of the "T" ("2026-12-01 08:00:00", as date, psql and the logs print it):
// RFC 3339 allows it, and an ops person pasting a time expects it to be
// read the same by every command. A lowercase "t" or "z" is read too. The
// result is in UTC.
func ParseTime(s string) (time.Time, error) {
	norm := strings.TrimSpace(s)
	if len(norm) > 10 && (norm[10] == ' ' || norm[10] == 't') {
		norm = norm[:10] + "T" + strings.TrimLeft(norm[11:], " ")
	}
	if strings.HasSuffix(norm, "z") {
		norm = norm[:len(norm)-1] + "Z"
	}
	for _, layout := range timeLayouts {
		if t, err := time.Parse(layout, norm); err == nil {
			return t.UTC(), nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a time: %s", s, TimeSyntax)
}

// Time is a flag holding an optional time in ParseTime's syntax. An
// invalid value is a usage error that names the flag and the syntax.
type Time struct {
	T time.Time // the time given; zero when the flag was not given
}

// String implements flag.Value.
func (f *Time) String() string {
	if f == nil || f.T.IsZero() {
		return ""
	}
	return f.T.Format(time.RFC3339Nano)
}

// Set implements flag.Value.
func (f *Time) Set(s string) (err error) { f.T, err = ParseTime(s); return err }

// Or returns the time given, or now to the second when none was.
func (f *Time) Or(now time.Time) time.Time {
	if f.T.IsZero() {
		return now.UTC().Truncate(time.Second)
	}
	return f.T
}

// Main runs a program: run gets a context that SIGINT or SIGTERM cancels,
// and its result becomes the exit status.
func Main(run Func) {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdin, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
