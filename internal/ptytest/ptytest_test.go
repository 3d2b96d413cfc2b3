package ptytest

import (
	"io"
	"testing"
)

// What is written on the master side is read on the terminal's side.
func TestOpen(t *testing.T) {
	m, tty := Open(t, "this test")
	if _, err := m.Write([]byte("HC1:x\r")); err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 5)
	if _, err := io.ReadFull(tty, b); err != nil || string(b) != "HC1:x" {
		t.Fatalf("read %q (%v), want HC1:x", b, err)
	}
}
