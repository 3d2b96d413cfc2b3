//go:build race

package client_test

// raceEnabled: the race detector slows the backlog test tenfold.
const raceEnabled = true
