package main

import (
	"context"
	"fmt"
	"io"
)

// runVerify is not built yet: its issue replaces this file.
func runVerify(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sentinelctl verify: not available in this build yet")
	return exitRefused
}
