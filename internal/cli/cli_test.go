package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestParseInterspersed(t *testing.T) {
	tests := []struct {
		args     []string
		wantPos  []string
		wantJSON bool
		wantAt   string
	}{
		{[]string{"a", "--json", "b"}, []string{"a", "b"}, true, ""},
		{[]string{"--at", "2026-01-01", "a"}, []string{"a"}, false, "2026-01-01"},
		{[]string{"a", "-", "--at=x"}, []string{"a", "-"}, false, "x"},
		{[]string{"a", "--", "--json"}, []string{"a", "--json"}, false, ""},
		{nil, nil, false, ""},
	}
	for _, tt := range tests {
		fs := flag.NewFlagSet("t", flag.ContinueOnError)
		fs.SetOutput(io.Discard)
		j := fs.Bool("json", false, "")
		at := fs.String("at", "", "")
		pos, err := ParseInterspersed(fs, tt.args)
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if !slices.Equal(pos, tt.wantPos) || *j != tt.wantJSON || *at != tt.wantAt {
			t.Errorf("%q: got %q json=%v at=%q, want %q json=%v at=%q", tt.args, pos, *j, *at, tt.wantPos, tt.wantJSON, tt.wantAt)
		}
	}
}

func TestDispatch(t *testing.T) {
	var got []string
	cmds := map[string]Command{
		"hello": {Summary: "say hello", Run: func(_ context.Context, args []string, _ io.Reader, _, _ io.Writer) int {
			got = args
			return ExitRefused
		}},
	}
	var stderr strings.Builder
	tests := []struct {
		args []string
		want int
	}{
		{nil, ExitUsage},
		{[]string{"help"}, ExitOK},
		{[]string{"nope"}, ExitUsage},
		{[]string{"hello", "a", "b"}, ExitRefused},
	}
	for _, tt := range tests {
		if code := Dispatch(context.Background(), "prog", cmds, tt.args, nil, io.Discard, &stderr); code != tt.want {
			t.Errorf("Dispatch(%q) = %d, want %d", tt.args, code, tt.want)
		}
	}
	if !slices.Equal(got, []string{"a", "b"}) {
		t.Errorf("hello got args %q, want [a b]", got)
	}
	if !strings.Contains(stderr.String(), `prog: unknown command "nope"`) || !strings.Contains(stderr.String(), "hello  say hello") {
		t.Errorf("usage output lacks the error or the command list:\n%s", stderr.String())
	}
}

func TestParseTime(t *testing.T) {
	utc := func(s string) time.Time {
		t.Helper()
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			t.Fatal(err)
		}
		return v.UTC()
	}
	tests := []struct {
		name, in string
		want     time.Time
	}{
		{"rfc3339 utc", "2026-12-01T08:00:00Z", utc("2026-12-01T08:00:00Z")},
		{"rfc3339 offset", "2026-12-01T09:00:00+01:00", utc("2026-12-01T08:00:00Z")},
		{"rfc3339 fraction", "2026-12-01T08:00:00.25Z", utc("2026-12-01T08:00:00.25Z")},
		{"no zone is utc", "2026-12-01T08:00:00", utc("2026-12-01T08:00:00Z")},
		{"no seconds", "2026-12-01T08:00", utc("2026-12-01T08:00:00Z")},
		{"no seconds with zone", "2026-12-01T08:00-05:00", utc("2026-12-01T13:00:00Z")},
		{"space form", "2026-12-01 08:00:00", utc("2026-12-01T08:00:00Z")},
		{"space form with zone", "2026-12-01 08:00:00Z", utc("2026-12-01T08:00:00Z")},
		{"space form with offset", "2026-12-01 09:00:00+01:00", utc("2026-12-01T08:00:00Z")},
		{"space form no seconds", "2026-12-01 08:00", utc("2026-12-01T08:00:00Z")},
		{"lowercase t and z", "2026-12-01t08:00:00z", utc("2026-12-01T08:00:00Z")},
		{"date alone", "2026-12-01", utc("2026-12-01T00:00:00Z")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseTime(tt.in)
			if err != nil {
				t.Fatalf("ParseTime(%q): %v", tt.in, err)
			}
			if !got.Equal(tt.want) || got.Location() != time.UTC {
				t.Errorf("ParseTime(%q) = %v, want %v in UTC", tt.in, got, tt.want)
			}
		})
	}
	for _, bad := range []string{"", "yesterday", "2026-13-01", "2026-12-01T25:00:00Z", "01/12/2026", "2026-12-01T08", "1733040000", "2026-12-01 08:00:00 CET"} {
		t.Run("bad "+bad, func(t *testing.T) {
			if got, err := ParseTime(bad); err == nil {
				t.Errorf("ParseTime(%q) = %v, want an error", bad, got)
			} else if !strings.Contains(err.Error(), "RFC 3339") || !strings.Contains(err.Error(), "2026-12-01T08:00:00Z") {
				t.Errorf("ParseTime(%q) error %q does not give the expected form", bad, err)
			}
		})
	}
}

// TestTimeFlag checks that a bad time on the command line is a usage
// error naming the flag and the form wanted, and that every form of
// ParseTime is taken by the flag.
func TestTimeFlag(t *testing.T) {
	tests := []struct {
		args    []string
		want    time.Time
		wantErr bool
	}{
		{[]string{"--from", "2026-12-01 08:00:00"}, time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), false},
		{[]string{"--from=2026-12-01T09:00:00+01:00"}, time.Date(2026, 12, 1, 8, 0, 0, 0, time.UTC), false},
		{nil, time.Time{}, false},
		{[]string{"--from", "tomorrow"}, time.Time{}, true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stderr strings.Builder
			fs := NewFlagSet("prog export", &stderr, Help{})
			var from Time
			fs.Var(&from, "from", "first `TIME`")
			err := ParseNoArgs(fs, tt.args)
			if tt.wantErr {
				code := Exit(&stderr, "prog export", err)
				if code != ExitUsage {
					t.Errorf("exit %d, want %d", code, ExitUsage)
				}
				msg := stderr.String()
				for _, want := range []string{"-from", `"tomorrow"`, "RFC 3339", "without a zone it is UTC"} {
					if !strings.Contains(msg, want) {
						t.Errorf("message lacks %q:\n%s", want, msg)
					}
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !from.T.Equal(tt.want) {
				t.Errorf("--from = %v, want %v", from.T, tt.want)
			}
		})
	}
	now := time.Date(2026, 12, 1, 8, 0, 0, 123, time.UTC)
	if got := (&Time{}).Or(now); !got.Equal(now.Truncate(time.Second)) {
		t.Errorf("unset Or(now) = %v, want %v", got, now.Truncate(time.Second))
	}
}

func TestExit(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		want    int
		wantOut string
	}{
		{"ok", nil, ExitOK, ""},
		{"help", flag.ErrHelp, ExitOK, ""},
		{"usage", Usagef("--site is required"), ExitUsage, "prog sub: --site is required\n"},
		{"wrapped usage", fmt.Errorf("reading: %w", Usagef("bad")), ExitUsage, "prog sub: reading: bad\n"},
		{"refused", errors.New("no such file"), ExitRefused, "prog sub: no such file\n"},
		{"reported", ErrReported, ExitRefused, ""},
		{"wrapped reported", fmt.Errorf("2 codes refused: %w", ErrReported), ExitRefused, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out strings.Builder
			if got := Exit(&out, "prog sub", tt.err); got != tt.want || out.String() != tt.wantOut {
				t.Errorf("Exit(%v) = %d, %q; want %d, %q", tt.err, got, out.String(), tt.want, tt.wantOut)
			}
		})
	}
}

func TestParseNoArgs(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"--json"}, ExitOK},
		{[]string{"-h"}, ExitOK},
		{[]string{"--nope"}, ExitUsage},
		{[]string{"stray"}, ExitUsage},
		{[]string{"--", "--json"}, ExitUsage}, // after "--" it is an argument
	}
	for _, tt := range tests {
		fs := NewFlagSet("prog", io.Discard, Help{})
		fs.Bool("json", false, "")
		if got := Exit(io.Discard, "prog", ParseNoArgs(fs, tt.args)); got != tt.want {
			t.Errorf("ParseNoArgs(%q): exit %d, want %d", tt.args, got, tt.want)
		}
	}
}

// A command's -h, run through Dispatch, prints the usage line and the
// summary from the command table, then the flags, and exits 0.
func TestCommandHelp(t *testing.T) {
	cmds := map[string]Command{
		"export": {
			Summary:  "export passages for a time range",
			Synopsis: "--out FILE [flags]\n--list",
			Run: func(ctx context.Context, args []string, _ io.Reader, _, stderr io.Writer) int {
				fs := NewFlagSet("prog export", stderr, CommandHelp(ctx))
				fs.String("out", "", "write to `FILE`")
				return Exit(stderr, "prog export", ParseNoArgs(fs, args))
			},
		},
	}
	var stdout, stderr strings.Builder
	code := Dispatch(context.Background(), "prog", cmds, []string{"export", "-h"}, strings.NewReader(""), &stdout, &stderr)
	want := "usage: prog export --out FILE [flags]\n" +
		"       prog export --list\n" +
		"\n" +
		"Export passages for a time range.\n" +
		"\n" +
		"flags:\n" +
		"  -out FILE\n" +
		"    \twrite to FILE\n"
	if code != ExitOK || stderr.String() != want {
		t.Errorf("export -h: exit %d, stderr:\n%s\nwant exit 0 and:\n%s", code, stderr.String(), want)
	}

	// Without a synopsis or summary the usage line still names the command.
	stderr.Reset()
	fs := NewFlagSet("prog bare", &stderr, Help{})
	if _, err := Parse(fs, []string{"-h"}); !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("-h: %v, want flag.ErrHelp", err)
	}
	if got := stderr.String(); got != "usage: prog bare [flags]\n\nflags:\n" {
		t.Errorf("bare -h printed %q", got)
	}
}

func TestWrap(t *testing.T) {
	got := wrap("one two three four", 9)
	if want := "one two\nthree\nfour"; got != want {
		t.Errorf("wrap = %q, want %q", got, want)
	}
}

func TestDispatchVersion(t *testing.T) {
	ran := false
	cmds := map[string]Command{
		"version": {Summary: "a command of that name wins", Run: func(context.Context, []string, io.Reader, io.Writer, io.Writer) int {
			ran = true
			return ExitOK
		}},
	}
	for _, arg := range []string{"--version", "-version"} {
		var stdout strings.Builder
		if code := Dispatch(context.Background(), "prog sub", cmds, []string{arg}, nil, &stdout, io.Discard); code != ExitOK {
			t.Errorf("Dispatch(%s) = %d, want %d", arg, code, ExitOK)
		}
		if !strings.HasPrefix(stdout.String(), "prog ") || !strings.Contains(stdout.String(), runtime.Version()) {
			t.Errorf("Dispatch(%s) printed %q, want the program, its version and Go's", arg, stdout.String())
		}
	}
	if ran {
		t.Error("--version ran the command named version")
	}
	Dispatch(context.Background(), "prog", cmds, []string{"version"}, nil, io.Discard, io.Discard)
	if !ran {
		t.Error("the command named version did not run")
	}
}
