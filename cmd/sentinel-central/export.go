package main

import (
	"context"
	"fmt"
	"io"
)

// runExport is not built yet: issue 5 replaces this file.
func runExport(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sentinel-central export: not available in this build yet")
	return exitRefused
}
