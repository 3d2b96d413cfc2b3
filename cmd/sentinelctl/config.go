package main

import (
	"context"
	"fmt"
	"io"
)

// runConfig is not built yet: its issue replaces this file.
func runConfig(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sentinelctl config: not available in this build yet")
	return exitRefused
}
