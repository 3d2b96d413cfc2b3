package main

import (
	"context"
	"fmt"
	"io"
)

// runDevices is not built yet: issue 5 replaces this file.
func runDevices(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sentinel-central devices: not available in this build yet")
	return exitRefused
}
