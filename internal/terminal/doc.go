// Package terminal is the terminal daemon: it opens the lanes' devices, the
// journal, the bundles and the clock, runs the gate, serves the guard
// display and the management listener, and syncs with the centre. The
// command cmd/sentineld is its main (its documentation describes the data
// directory, sync and the listeners); cmd/sentinel-demo runs the same
// daemon in-process with simulated devices and an embedded centre, through
// Serve.
//
// This package links neither the centre (internal/central/...) nor any test
// double: the demo brings those along in its own command.
package terminal
