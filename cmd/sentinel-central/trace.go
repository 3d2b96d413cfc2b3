package main

import (
	"context"
	"fmt"
	"io"
)

// runTrace is not built yet: issue 5 replaces this file.
func runTrace(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sentinel-central trace: not available in this build yet")
	return exitRefused
}
