// Command sentinel-demo runs a whole terminal on a fresh machine: the
// terminal daemon (the same as sentineld's, internal/terminal) with
// simulated devices and an embedded central server it enrols with and
// uploads to. At the end it says what the centre received.
//
//	sentinel-demo [-once] [-data-dir DIR] [-log-level LEVEL]
//
// It makes a throwaway data directory and keys, signs and loads the
// bundles, starts the centre on loopback, enrols through the real
// enrolment path and sends a set of codes through the real path: QR frames
// through the camera decoder on one lane, lines typed into a pseudo-terminal
// and read by the serial driver on the other, temperatures from the
// MLX90614 driver replaying recorded I²C traffic (see internal/demo). Each
// passage is printed as one line on standard output; logs go to standard
// error. The guard display is on 127.0.0.1:8080, the metrics on
// 127.0.0.1:9108; when another program holds one of them, the demo takes a
// free port instead, logs why and prints the address.
//
// -once takes free ports instead and exits once every code has passed (1
// if a verdict or the centre's count is not what the scenario wants).
// -data-dir keeps the data in DIR; run again on the same DIR, the demo
// starts a new terminal and moves the earlier one's journal and state to
// DIR/runs/TIMESTAMP, while the embedded centre keeps what it received.
//
// The demo is a separate command so that sentineld, the terminal's daemon,
// links neither the centre nor the simulated devices.
package main

import (
	"context"
	"os"
)

func main() {
	os.Exit(Run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}
