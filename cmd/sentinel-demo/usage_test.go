package main

import (
	"context"
	"io"
	"testing"

	"sentinel/internal/cli/clitest"
)

// TestUsage: an unknown flag is a usage error (exit 2) naming the flag.
func TestUsage(t *testing.T) {
	clitest.Check(t, clitest.Program{
		Name: "sentinel-demo",
		Run: func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return Run(ctx, args, stdout, stderr)
		},
		WantLeaves: [][]string{nil},
	})
}
