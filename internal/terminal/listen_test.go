package terminal

import (
	"bufio"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"testing"
	"time"
)

// TestLimitListener: connections beyond the limit are closed at once, the
// ones within are served, and a slot freed is taken again.
func TestLimitListener(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	const max = 4
	ln := newLimitListener(inner, max, "display", slog.New(slog.DiscardHandler))
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") })}
	go srv.Serve(ln)
	defer srv.Close()
	addr := inner.Addr().String()

	// max idle connections hold every slot.
	var idle []net.Conn
	for range max {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		idle = append(idle, c)
	}
	// One more is closed by the server without an answer.
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(10 * time.Second))
	io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\n\r\n")
	if b, err := io.ReadAll(c); len(b) != 0 || err != nil && !isReset(err) {
		t.Errorf("over the limit: got %q, %v, want the connection closed", b, err)
	}
	c.Close()
	ln.mu.Lock()
	active := ln.active
	ln.mu.Unlock()
	if active != max {
		t.Errorf("got %d connections served, want %d", active, max)
	}

	// One idle connection ends: the next client is served.
	idle[0].Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(10 * time.Second))
		io.WriteString(c, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
		res, err := http.ReadResponse(bufio.NewReader(c), nil)
		c.Close()
		if err == nil && res.StatusCode == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a freed slot was not given back: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// isReset reports a connection reset by the server, which closing an
// accepted connection may give instead of an end of file.
func isReset(err error) bool {
	var op *net.OpError
	return errors.As(err, &op)
}
