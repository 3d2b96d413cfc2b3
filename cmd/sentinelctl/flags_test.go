package main

import (
	"flag"
	"io"
	"slices"
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
		pos, err := parseInterspersed(fs, tt.args)
		if err != nil {
			t.Fatalf("%q: %v", tt.args, err)
		}
		if !slices.Equal(pos, tt.wantPos) || *j != tt.wantJSON || *at != tt.wantAt {
			t.Errorf("%q: got %q json=%v at=%q, want %q json=%v at=%q", tt.args, pos, *j, *at, tt.wantPos, tt.wantJSON, tt.wantAt)
		}
	}
}
