package terminal

import (
	"log/slog"
	"net"
	"sync"
)

// Connections each listener of the daemon serves at once. The daemon runs
// with LimitNOFILE=4096; these keep a flood of one listener from taking
// the descriptors the journal, the devices and the other listener need.
const (
	maxDisplayConns    = 256
	maxManagementConns = 64
)

// limitListener accepts at most max connections at once; a connection
// beyond is closed at once instead of waiting in the backlog, so that the
// listener keeps accepting (and the daemon keeps its descriptors) while a
// client floods it.
type limitListener struct {
	net.Listener
	max    int
	name   string
	logger *slog.Logger

	mu      sync.Mutex
	active  int
	refused int // since the listener was last full
}

func newLimitListener(ln net.Listener, max int, name string, logger *slog.Logger) *limitListener {
	return &limitListener{Listener: ln, max: max, name: name, logger: logger}
}

// Accept returns the next connection within the limit.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		l.mu.Lock()
		if l.active >= l.max {
			l.refused++
			if l.refused == 1 {
				l.logger.Warn("too many connections: closing new ones until some end", "listener", l.name, "max", l.max)
			}
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.active++
		l.mu.Unlock()
		return &limitConn{Conn: c, l: l}, nil
	}
}

func (l *limitListener) release() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.active--
	if l.refused > 0 {
		l.logger.Info("connections below the limit again", "listener", l.name, "refused", l.refused)
		l.refused = 0
	}
}

// limitConn gives its slot back once, on the first Close.
type limitConn struct {
	net.Conn
	l    *limitListener
	once sync.Once
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.l.release)
	return err
}
