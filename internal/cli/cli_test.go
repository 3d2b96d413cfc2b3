package cli

import (
	"context"
	"flag"
	"io"
	"slices"
	"strings"
	"testing"
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
		"hello": {"say hello", func(_ context.Context, args []string, _ io.Reader, _, _ io.Writer) int {
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
