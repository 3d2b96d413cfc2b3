package server

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"sentinel/internal/central/enrol"
	syncenrol "sentinel/sync/enrol"
)

// deviceConns knows the open connections of the mutual TLS listener, so
// that those of a device revoked while they are open can be closed: each
// request is refused by enrol.Guard as well, but an idle kept-alive
// connection must not outlive the revocation either.
type deviceConns struct {
	rev    enrol.RevocationChecker
	logger *slog.Logger

	mu    sync.Mutex
	conns map[net.Conn]string // → the device, once a request came
}

// track is the http.Server's ConnState hook.
func (d *deviceConns) track(c net.Conn, st http.ConnState) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch st {
	case http.StateActive:
		// The handshake is done before the first request: reading the
		// state does not wait.
		if _, seen := d.conns[c]; seen {
			return
		}
		tc, ok := c.(*tls.Conn)
		if !ok {
			return
		}
		cs := tc.ConnectionState()
		if len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
			return
		}
		if id, ok := syncenrol.DeviceID(cs.VerifiedChains[0][0]); ok {
			if d.conns == nil {
				d.conns = map[net.Conn]string{}
			}
			d.conns[c] = id
		}
	case http.StateClosed, http.StateHijacked:
		delete(d.conns, c)
	}
}

// sweepEvery sweeps every period (DefaultRevokeSweep when 0) until stop
// closes.
func (d *deviceConns) sweepEvery(stop <-chan struct{}, period time.Duration) {
	if period <= 0 {
		period = DefaultRevokeSweep
	}
	t := time.NewTicker(period)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
			d.sweep()
		}
	}
}

// sweep closes the connections of revoked devices and returns how many.
func (d *deviceConns) sweep() int {
	d.mu.Lock()
	open := make(map[net.Conn]string, len(d.conns))
	for c, id := range d.conns {
		open[c] = id
	}
	d.mu.Unlock()
	n := 0
	for c, id := range open {
		if revoked, err := d.rev.CheckRevoked(id); err != nil || !revoked {
			continue // a registry it cannot read closes nothing
		}
		c.Close()
		n++
		d.logger.Info("closed a revoked device's connection", "device", id, "remote", c.RemoteAddr().String())
	}
	return n
}
