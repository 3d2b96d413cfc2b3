package main

import (
	"context"
	"fmt"
	"io"
)

// runJournal is not built yet: issue 4 replaces this file.
func runJournal(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fmt.Fprintln(stderr, "sentinelctl journal: not available in this build yet")
	return exitRefused
}
