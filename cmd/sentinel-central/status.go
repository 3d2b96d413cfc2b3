package main

import (
	"context"
	"fmt"
	"io"
)

// runStatus is not built yet: issue 5 replaces this file.
func runStatus(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sentinel-central status: not available in this build yet")
	return exitRefused
}
