package main

import (
	"context"
	"fmt"
	"io"
)

// runServe is not built yet: issue 5 replaces this file.
func runServe(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sentinel-central serve: not available in this build yet")
	return exitRefused
}
