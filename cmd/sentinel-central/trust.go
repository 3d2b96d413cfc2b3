package main

import (
	"context"
	"fmt"
	"io"
)

// runTrust is being written: this placeholder keeps the build whole.
func runTrust(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sentinel-central trust: not available in this build yet")
	return exitRefused
}
