// Command sentineld is the terminal daemon: it reads codes and temperatures
// at every lane, verifies and decides, writes each passage durably, opens
// the gate or not, and serves the guard display.
//
//	sentineld [-config FILE] [-data-dir DIR] [-log-level LEVEL]
//	sentineld -demo
//
// The first SIGTERM (or Ctrl-C) drains: the lanes stop reading, the
// passages in progress finish and the journal closes, within 10 seconds.
// A second signal aborts at once, with the gate shut.
//
// -demo runs the whole terminal on a fresh machine: see internal/demo.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
