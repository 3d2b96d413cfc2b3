package main

import (
	"context"
	"fmt"
	"io"
)

// runEnrol is not built yet: issue 5 replaces this file.
func runEnrol(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sentinelctl enrol: not available in this build yet")
	return exitRefused
}
