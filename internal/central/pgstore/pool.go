package pgstore

import (
	"context"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"

	"sentinel/internal/central"
)

// pool is a small connection pool: at most cap(sem) connections, idle
// ones kept for reuse.
type pool struct {
	cfg *pgx.ConnConfig
	sem chan struct{}

	mu     sync.Mutex
	idle   []*pgx.Conn
	closed bool
}

func newPool(cfg *pgx.ConnConfig, max int) *pool {
	return &pool{cfg: cfg, sem: make(chan struct{}, max)}
}

// acquire returns a connection; the caller must release it.
func (p *pool) acquire(ctx context.Context) (*pgx.Conn, error) {
	select {
	case p.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.sem
		return nil, central.ErrClosed
	}
	if n := len(p.idle); n > 0 {
		c := p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return c, nil
	}
	p.mu.Unlock()
	c, err := pgx.ConnectConfig(ctx, p.cfg)
	if err != nil {
		<-p.sem
		return nil, err
	}
	return c, nil
}

// release returns c to the pool, or closes it when it is broken (a
// failed transaction may leave it in an unknown state) or the pool is
// closed.
//
// A connection that the server or the network closed means the others
// are likely gone too (a failover: the primary died or was demoted), so
// the idle ones are closed with it, and the next acquire connects anew,
// to whichever host the connection string finds writable
// (target_session_attrs=read-write) rather than failing once per idle
// connection.
func (p *pool) release(c *pgx.Conn, broken bool) {
	p.mu.Lock()
	lost := c.IsClosed()
	keep := !broken && !p.closed && !lost && c.PgConn().TxStatus() == 'I'
	var stale []*pgx.Conn
	if keep {
		p.idle = append(p.idle, c)
	} else if lost {
		stale, p.idle = p.idle, nil
	}
	p.mu.Unlock()
	if !keep {
		c.Close(context.Background())
	}
	if len(stale) > 0 {
		// A dead host must not hold the caller up.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		for _, s := range stale {
			s.Close(ctx)
		}
		cancel()
	}
	<-p.sem
}

// close closes the idle connections; busy ones close on release.
func (p *pool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		c.Close(context.Background())
	}
}
