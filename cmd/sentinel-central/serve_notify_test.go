package main

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Under systemd (the unit's Type=notify and WatchdogSec), serve says it is
// ready once it listens, pings the watchdog while it runs, and says it is
// stopping at the first signal.
func TestServeNotifiesSystemd(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir, "root"))
	// A socket path must stay under 108 bytes: t.TempDir's may not.
	sockDir, err := os.MkdirTemp("", "sdnotify")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	sock := filepath.Join(sockDir, "notify")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "200000") // a ping every 100 ms
	t.Setenv("WATCHDOG_PID", "")

	s := startServe(t, "--data", filepath.Join(dir, "central"), "--root-pub", filepath.Join(dir, "root", "root.pub"), "--no-time", "--no-schedule")
	read := func(want string) []string {
		t.Helper()
		var got []string
		buf := make([]byte, 4096)
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		for {
			n, err := conn.Read(buf)
			if err != nil {
				t.Fatalf("waiting for %s: %v; got %q\nstderr: %s", want, err, got, s.stderr)
			}
			got = append(got, string(buf[:n]))
			if strings.Contains(string(buf[:n]), want) {
				return got
			}
		}
	}
	first := read("READY=1")
	if len(first) != 1 || !strings.Contains(first[0], "STATUS=serving") {
		t.Errorf("got %q before READY, want READY=1 with a STATUS first", first)
	}
	read("WATCHDOG=1")
	read("WATCHDOG=1")
	if code := s.stop(t); code != exitOK {
		t.Errorf("serve exited %d, want %d\nstderr: %s", code, exitOK, s.stderr)
	}
	read("STOPPING=1")
}
