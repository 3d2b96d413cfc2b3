package main

import (
	"bytes"
	"log/slog"
	"net"
	"strings"
	"testing"
)

// TestFreeOrBusyPort: when another program holds the display's or the
// metrics' usual port, the demo takes a free port on the same host and
// says so, instead of failing with "address already in use" (what a
// reader of the README got on a machine with something on 8080).
func TestFreeOrBusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	var log bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&log, nil))

	got := freeOr(busy.Addr().String(), "guard display", logger)
	if got != "127.0.0.1:0" {
		t.Errorf("freeOr(%s, held by another listener) = %q, want 127.0.0.1:0", busy.Addr(), got)
	}
	if !strings.Contains(log.String(), "another program uses the guard display's usual address") {
		t.Errorf("the log does not say why the port changed:\n%s", log.String())
	}

	// A free address is kept as it is.
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := free.Addr().String()
	free.Close()
	log.Reset()
	if got := freeOr(addr, "metrics", logger); got != addr {
		t.Errorf("freeOr(%s, free) = %q, want it unchanged", addr, got)
	}
	if log.Len() != 0 {
		t.Errorf("a free port was logged as taken:\n%s", log.String())
	}
}
