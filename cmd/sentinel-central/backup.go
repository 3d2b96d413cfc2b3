package main

import (
	"context"
	"fmt"
	"io"
)

// runBackup is not built yet: issue 5 replaces this file.
func runBackup(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sentinel-central backup: not available in this build yet")
	return exitRefused
}
