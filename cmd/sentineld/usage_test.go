package main

import (
	"context"
	"io"
	"testing"

	"sentinel/internal/cli/clitest"
	"sentinel/internal/terminal"
)

// TestUsage: an unknown flag is a usage error (exit 2) naming the flag.
func TestUsage(t *testing.T) {
	clitest.Check(t, clitest.Program{
		Name: "sentineld",
		Run: func(ctx context.Context, args []string, _ io.Reader, stdout, stderr io.Writer) int {
			return terminal.Run(ctx, args, stdout, stderr)
		},
		WantLeaves: [][]string{nil},
	})
}
