package e2e

import (
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// fault is what the proxy does to one connection.
type fault int

const (
	faultNone    fault = iota
	faultDrop          // reset the connection at once
	faultDelay         // forward, after a delay each way
	faultReset         // forward part of the request, then reset both sides
	faultLost          // forward the request, then reset the client when the answer comes
	faultRefused       // the centre is down: nothing to dial
	nFaults
)

var faultNames = [nFaults]string{"none", "drop", "delay", "reset mid-request", "answer lost after commit", "centre down"}

// proxy is a TCP proxy on loopback in front of the centre that injects
// faults into the connections it forwards until it is healed. With the
// clients' keep-alives off, one connection carries one upload.
type proxy struct {
	ln     net.Listener
	target atomic.Pointer[string]
	healed atomic.Bool
	counts [nFaults]atomic.Int64
	// up and down count the bytes forwarded on healthy connections,
	// towards the centre and back.
	up, down atomic.Int64

	mu    sync.Mutex
	picks int
	rnd   *rand.Rand
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newProxy(seed uint64) (*proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &proxy{ln: ln, rnd: rand.New(rand.NewPCG(seed, seed^0x5e47)), conns: map[net.Conn]bool{}}
	p.wg.Go(p.accept)
	return p, nil
}

func (p *proxy) addr() string { return p.ln.Addr().String() }

// setTarget points the proxy at the centre's address.
func (p *proxy) setTarget(addr string) { p.target.Store(&addr) }

func (p *proxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		if !p.track(c) {
			return
		}
		p.wg.Go(func() { p.serve(c) })
	}
}

// track records an open connection so that close can end it; false once
// the proxy is closing.
func (p *proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.conns == nil {
		c.Close()
		return false
	}
	p.conns[c] = true
	return true
}

func (p *proxy) untrack(c net.Conn) {
	p.mu.Lock()
	defer p.mu.Unlock()
	delete(p.conns, c)
	c.Close()
}

// pick chooses the fault of a new connection while the network is
// unhealed: every kind in turn for the first connections, so that each
// happens however quickly the journals drain, then about half of them at
// random.
func (p *proxy) pick() (fault, int, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.picks++
	n := p.rnd.IntN(100)
	if p.picks <= 16 && p.picks%2 == 0 {
		n = []int{5, 20, 30, 45}[p.picks/2%4] // drop, delay, reset, lost
	}
	cut := 1 + p.rnd.IntN(8000)
	delay := time.Duration(1+p.rnd.IntN(30)) * time.Millisecond
	if p.healed.Load() {
		return faultNone, cut, delay
	}
	switch {
	case n < 10:
		return faultDrop, cut, delay
	case n < 25:
		return faultDelay, cut, delay
	case n < 40:
		return faultReset, cut, delay
	case n < 55:
		return faultLost, cut, delay
	}
	return faultNone, cut, delay
}

// reset closes c with an RST rather than a FIN.
func reset(c net.Conn) {
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.Close()
}

func (p *proxy) serve(c net.Conn) {
	defer p.untrack(c)
	f, cut, delay := p.pick()
	if f == faultDrop {
		p.counts[f].Add(1)
		reset(c)
		return
	}
	s, err := net.DialTimeout("tcp", *p.target.Load(), time.Second)
	if err != nil {
		p.counts[faultRefused].Add(1)
		reset(c)
		return
	}
	if !p.track(s) {
		return
	}
	defer p.untrack(s)
	p.counts[f].Add(1)
	switch f {
	case faultReset:
		// Forward up to cut bytes of the request, whatever arrives
		// within a short while, then reset both sides mid-upload.
		buf := make([]byte, 1024)
		for sent := 0; sent < cut; {
			c.SetReadDeadline(time.Now().Add(50 * time.Millisecond))
			n, err := c.Read(buf[:min(len(buf), cut-sent)])
			if n > 0 {
				if _, werr := s.Write(buf[:n]); werr != nil {
					break
				}
				sent += n
			}
			if err != nil {
				break
			}
		}
		reset(c)
		reset(s)
		return
	case faultLost:
		// Forward the whole request; once the centre starts to answer
		// (it has committed), reset the client instead of answering.
		var wg sync.WaitGroup
		wg.Go(func() { io.Copy(s, c) })
		s.SetReadDeadline(time.Now().Add(10 * time.Second))
		s.Read(make([]byte, 1))
		reset(c)
		reset(s)
		wg.Wait()
		return
	case faultDelay:
		time.Sleep(delay)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		io.Copy(counter{s, &p.up}, c)
		if tc, ok := s.(*net.TCPConn); ok {
			tc.CloseWrite()
		}
	})
	if f == faultDelay {
		// Hold the answer back too.
		one := make([]byte, 1)
		if n, err := s.Read(one); n == 1 {
			time.Sleep(delay)
			c.Write(one)
		} else if err != nil && !errors.Is(err, io.EOF) {
			reset(c)
		}
	}
	io.Copy(counter{c, &p.down}, s)
	c.Close()
	wg.Wait()
}

// counter counts the bytes written through it.
type counter struct {
	w io.Writer
	n *atomic.Int64
}

func (c counter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n.Add(int64(n))
	return n, err
}

// close stops accepting, ends every open connection and waits for the
// proxy's goroutines.
func (p *proxy) close() {
	p.ln.Close()
	p.mu.Lock()
	for c := range p.conns {
		c.Close()
	}
	p.conns = nil
	p.mu.Unlock()
	p.wg.Wait()
}
