package main

import (
	"context"
	"fmt"
	"io"
)

// runScan is not built yet: its issue replaces this file.
func runScan(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sentinelctl scan: not available in this build yet")
	return exitRefused
}
