package sdnotify

import (
	"context"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"
)

// listen opens a notification socket like systemd's in a temporary
// directory.
func listen(t *testing.T) (string, *net.UnixConn) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "notify.sock")
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: path, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return path, conn
}

func recv(t *testing.T, conn *net.UnixConn) string {
	t.Helper()
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 4096)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no notification: %v", err)
	}
	return string(buf[:n])
}

func TestNotify(t *testing.T) {
	path, conn := listen(t)
	n := New(path)
	if err := n.Notify(Ready, "STATUS=serving 2 lanes"); err != nil {
		t.Fatal(err)
	}
	if got, want := recv(t, conn), "READY=1\nSTATUS=serving 2 lanes"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := n.Status("draining\nnow"); err != nil {
		t.Fatal(err)
	}
	if got, want := recv(t, conn), "STATUS=draining now"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	if err := n.Notify("READY=1\nWATCHDOG=1"); err == nil {
		t.Error("a state with a line break was sent")
	}
}

func TestNotifyAbstract(t *testing.T) {
	name := "@sentinel-sdnotify-test-" + filepath.Base(t.TempDir())
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		t.Skipf("abstract sockets unavailable: %v", err)
	}
	defer conn.Close()
	if err := New(name).Notify(Stopping); err != nil {
		t.Fatal(err)
	}
	if got := recv(t, conn); got != Stopping {
		t.Errorf("got %q, want %q", got, Stopping)
	}
}

func TestDisabled(t *testing.T) {
	var nilN *Notifier
	for _, n := range []*Notifier{nilN, New("")} {
		if n.Enabled() || n.Notify(Ready) != nil {
			t.Error("a notifier without a socket sent or failed")
		}
	}
	if err := New("relative.sock").Notify(Ready); err == nil {
		t.Error("a relative socket path was accepted")
	}
	if err := New(filepath.Join(t.TempDir(), "none.sock")).Notify(Ready); err == nil {
		t.Error("a missing socket gave no error")
	}
}

func TestWatchdogInterval(t *testing.T) {
	tests := []struct {
		usec, pid string
		want      time.Duration
		err       bool
		none      bool
	}{
		{"30000000", "", 15 * time.Second, false, false},
		{"30000000", "42", 15 * time.Second, false, false},
		{"30000000", "43", 0, false, true},
		{"", "", 0, false, true},
		{"0", "", 0, true, false},
		{"x", "", 0, true, false},
		{"1000", "y", 0, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.usec+"/"+tt.pid, func(t *testing.T) {
			got, err := WatchdogInterval(tt.usec, tt.pid, 42)
			switch {
			case tt.none && !errors.Is(err, ErrNoWatchdog):
				t.Errorf("got %v, want ErrNoWatchdog", err)
			case tt.err && (err == nil || errors.Is(err, ErrNoWatchdog)):
				t.Errorf("got %v, want a parse error", err)
			case !tt.none && !tt.err && (err != nil || got != tt.want):
				t.Errorf("got %v %v, want %v", got, err, tt.want)
			}
		})
	}
}

func TestRunWatchdog(t *testing.T) {
	path, conn := listen(t)
	n := New(path)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- n.RunWatchdog(ctx, time.Millisecond, func() bool { return true }) }()
	for range 3 {
		if got := recv(t, conn); got != Watchdog {
			t.Fatalf("got %q, want %q", got, Watchdog)
		}
	}
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Errorf("got %v, want context.Canceled", err)
	}
}

func TestRunWatchdogUnhealthy(t *testing.T) {
	path, conn := listen(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	New(path).RunWatchdog(ctx, time.Millisecond, func() bool { return false })
	conn.SetReadDeadline(time.Now().Add(10 * time.Millisecond))
	if n, err := conn.Read(make([]byte, 64)); err == nil {
		t.Errorf("an unhealthy daemon sent %d bytes", n)
	}
}
