package main

import (
	"context"
	"fmt"
	"io"
)

// runIssue is not built yet: its issue replaces this file.
func runIssue(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sentinel-central issue: not available in this build yet")
	return exitRefused
}
