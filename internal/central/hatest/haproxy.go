package hatest

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// Backend is a server behind an HAProxy frontend.
type Backend struct {
	Name string
	Addr string // host:port
	// CheckPort, when set, is a Patroni REST API port: the backend is
	// up only while GET /primary there answers 200. Without it the check
	// is a TCP connect.
	CheckPort int
	// SendProxy starts each connection with a PROXY protocol v2 header
	// naming the client (send-proxy-v2).
	SendProxy bool
	// Source is the address HAProxy connects to the backend from (e.g.
	// 127.0.0.2, to tell it from clients on 127.0.0.1); empty: any.
	Source string
}

// Frontend is one HAProxy listener in TCP mode: TLS passes through, so
// mutual TLS stays between the client and the backend.
type Frontend struct {
	Name     string
	Backends []Backend
	// Addr is filled in by StartHAProxy: 127.0.0.1:PORT.
	Addr string
}

// HAProxy is a running HAProxy.
type HAProxy struct {
	Frontends map[string]*Frontend
	p         *proc
}

// StartHAProxy starts HAProxy with one TCP listener per frontend on a
// free loopback port, balancing round robin over the backends, each
// checked every 200 ms and taken out after 2 failed checks (its
// connections then cut), and waits until every listener accepts.
func StartHAProxy(t testing.TB, fronts ...*Frontend) *HAProxy {
	t.Helper()
	Need(t, "haproxy")
	dir := tempDir(t, "hatest-haproxy-", false)
	var b strings.Builder
	fmt.Fprintf(&b, `global
  maxconn 2000
defaults
  mode tcp
  timeout connect 2s
  timeout client 120s
  timeout server 120s
  timeout check 1s
`)
	h := &HAProxy{Frontends: map[string]*Frontend{}}
	for _, f := range fronts {
		f.Addr = fmt.Sprintf("127.0.0.1:%d", FreePort(t))
		h.Frontends[f.Name] = f
		fmt.Fprintf(&b, "listen %s\n  bind %s\n  balance roundrobin\n", f.Name, f.Addr)
		patroni := len(f.Backends) > 0 && f.Backends[0].CheckPort != 0
		if patroni {
			b.WriteString("  option httpchk GET /primary\n  http-check expect status 200\n")
		}
		b.WriteString("  default-server inter 200ms fall 2 rise 1 on-marked-down shutdown-sessions\n")
		for _, s := range f.Backends {
			fmt.Fprintf(&b, "  server %s %s check", s.Name, s.Addr)
			if s.CheckPort != 0 {
				fmt.Fprintf(&b, " port %d", s.CheckPort)
			}
			if s.SendProxy {
				b.WriteString(" send-proxy-v2 check-send-proxy")
			}
			if s.Source != "" {
				fmt.Fprintf(&b, " source %s", s.Source)
			}
			b.WriteString("\n")
		}
	}
	cfg := filepath.Join(dir, "haproxy.cfg")
	if err := os.WriteFile(cfg, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, err := runOutput("haproxy", "-c", "-f", cfg); err != nil {
		t.Fatalf("hatest: haproxy -c: %v\n%s\n%s", err, out, b.String())
	}
	p, err := start("haproxy", filepath.Join(dir, "log"), false, "-db", "-f", cfg)
	if err != nil {
		t.Fatal(err)
	}
	h.p = p
	t.Cleanup(func() { p.stop(syscall.SIGTERM, 5*time.Second) })
	for _, f := range fronts {
		if !waitFor(10*time.Second, func() bool {
			c, err := net.DialTimeout("tcp", f.Addr, time.Second)
			if err == nil {
				c.Close()
			}
			return err == nil && !p.exited()
		}) {
			t.Fatalf("hatest: haproxy does not listen on %s\n%s", f.Addr, p.tail())
		}
	}
	return h
}

// Addr returns the listening address of frontend name.
func (h *HAProxy) Addr(name string) string { return h.Frontends[name].Addr }

// Log is the end of HAProxy's log.
func (h *HAProxy) Log() string { return h.p.tail() }

// Stop stops HAProxy.
func (h *HAProxy) Stop() { h.p.stop(syscall.SIGTERM, 5*time.Second) }
