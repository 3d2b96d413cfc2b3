package main

import (
	"context"
	"fmt"
	"io"
)

// runBundles is not built yet: issue 5 replaces this file.
func runBundles(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sentinel-central bundles: not available in this build yet")
	return exitRefused
}
