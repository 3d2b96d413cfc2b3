package sdnotify

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"
)

// Notifications.
const (
	Ready     = "READY=1"
	Stopping  = "STOPPING=1"
	Reloading = "RELOADING=1"
	Watchdog  = "WATCHDOG=1"
)

// ErrNoWatchdog means systemd asked for no watchdog (or for another process).
var ErrNoWatchdog = errors.New("sdnotify: no watchdog requested")

// Notifier sends notifications to one socket. The zero value and a nil
// *Notifier do nothing, as outside systemd.
type Notifier struct {
	socket string
}

// New returns a notifier for the socket named by NOTIFY_SOCKET; an empty
// socket gives a notifier that does nothing.
func New(socket string) *Notifier {
	return &Notifier{socket: socket}
}

// Enabled reports whether notifications go anywhere.
func (n *Notifier) Enabled() bool { return n != nil && n.socket != "" }

// Notify sends one or more "KEY=VALUE" lines in one datagram.
func (n *Notifier) Notify(states ...string) error {
	if !n.Enabled() {
		return nil
	}
	for _, s := range states {
		if s == "" || strings.ContainsRune(s, '\n') || !strings.Contains(s, "=") {
			return fmt.Errorf("sdnotify: %q is not one KEY=VALUE line", s)
		}
	}
	name := n.socket
	if name[0] != '@' && name[0] != '/' {
		return fmt.Errorf("sdnotify: NOTIFY_SOCKET %q is neither a path nor an abstract socket", name)
	}
	// Go maps a leading '@' to the abstract namespace.
	conn, err := net.DialUnix("unixgram", nil, &net.UnixAddr{Name: name, Net: "unixgram"})
	if err != nil {
		return fmt.Errorf("sdnotify: dial %s: %w", name, err)
	}
	defer conn.Close()
	if _, err := conn.Write([]byte(strings.Join(states, "\n"))); err != nil {
		return fmt.Errorf("sdnotify: send: %w", err)
	}
	return nil
}

// Status sends a STATUS= line that `systemctl status` shows.
func (n *Notifier) Status(s string) error {
	return n.Notify("STATUS=" + strings.ReplaceAll(s, "\n", " "))
}

// WatchdogInterval returns how often to send WATCHDOG=1: half the interval
// systemd set in WATCHDOG_USEC (usec), when WATCHDOG_PID (pid) is empty or
// names this process (self). Otherwise it returns ErrNoWatchdog.
func WatchdogInterval(usec, pid string, self int) (time.Duration, error) {
	if usec == "" {
		return 0, ErrNoWatchdog
	}
	if pid != "" {
		p, err := strconv.Atoi(pid)
		if err != nil {
			return 0, fmt.Errorf("sdnotify: WATCHDOG_PID %q: %w", pid, err)
		}
		if p != self {
			return 0, ErrNoWatchdog
		}
	}
	u, err := strconv.ParseUint(usec, 10, 63)
	if err != nil || u == 0 {
		return 0, fmt.Errorf("sdnotify: WATCHDOG_USEC %q is not a positive number of microseconds", usec)
	}
	return time.Duration(u) * time.Microsecond / 2, nil
}

// RunWatchdog sends WATCHDOG=1 every interval while healthy returns true,
// until ctx is done. A daemon that hangs stops sending, and systemd
// restarts it; so does one whose healthy says it cannot work. It returns
// ctx's error, or the first error sending.
func (n *Notifier) RunWatchdog(ctx context.Context, interval time.Duration, healthy func() bool) error {
	if !n.Enabled() || interval <= 0 {
		<-ctx.Done()
		return ctx.Err()
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if healthy == nil || healthy() {
			if err := n.Notify(Watchdog); err != nil {
				return err
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}
