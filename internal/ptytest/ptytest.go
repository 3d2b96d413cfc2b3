// Package ptytest gives a test a pseudo-terminal (github.com/creack/pty),
// the real part that stands for a serial scanner or a person at a
// terminal. Where the machine has none (no /dev/ptmx), the test is
// skipped with a loud message, and fails instead when CI=true, as every
// test that needs a real part does: so `go test ./...` passes on a bare
// machine and CI runs everything for real.
package ptytest

import (
	"os"
	"testing"

	"github.com/creack/pty"
)

// Open returns both ends of a new pseudo-terminal, closed when the test
// ends (closing them before is fine). what says what the test needs it
// for, in the skip message ("the demo's serial lane").
func Open(t testing.TB, what string) (master, tty *os.File) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no pseudo-terminals (%v): CI must provide /dev/ptmx for %s", err, what)
		}
		t.Skipf("SKIPPING: %s needs a pseudo-terminal (/dev/ptmx), and there is none here: %v", what, err)
	}
	t.Cleanup(func() {
		m.Close()
		s.Close()
	})
	return m, s
}

// Need skips the test (or fails it when CI=true) where no pseudo-terminal
// can be opened: for a test whose code under test opens its own.
func Need(t testing.TB, what string) {
	t.Helper()
	m, s := Open(t, what)
	m.Close()
	s.Close()
}
