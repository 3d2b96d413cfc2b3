package server

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/enrol"
	syncenrol "sentinel/sync/enrol"
)

// newTestServer starts a server on loopback ports over a bbolt store in a
// temporary directory.
func newTestServer(t *testing.T, now func() time.Time) (*Server, string) {
	t.Helper()
	return newLoggingServer(t, now, io.Discard)
}

// newLoggingServer is newTestServer with the server's log written to w.
func newLoggingServer(t *testing.T, now func() time.Time, w io.Writer) (*Server, string) {
	t.Helper()
	data := t.TempDir()
	st, err := boltstore.Open(filepath.Join(data, StoreFile), &boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	root, err := trust.GenerateRoot(nil, trust.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Listen, cfg.EnrolListen = data, "127.0.0.1:0", "127.0.0.1:0"
	cfg.Root, cfg.Store, cfg.Now = root.Public(), st, now
	cfg.Logger = slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Stop)
	return s, data
}

func TestValidate(t *testing.T) {
	root, err := trust.GenerateRoot(nil, trust.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	st, err := boltstore.Open(filepath.Join(t.TempDir(), StoreFile), &boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	good := DefaultConfig()
	good.DataDir, good.Root, good.Store = t.TempDir(), root.Public(), st
	for _, tc := range []struct {
		name   string
		change func(c *Config)
		want   string // "" when valid
	}{
		{"valid", func(c *Config) {}, ""},
		{"port 0 twice", func(c *Config) { c.Listen, c.EnrolListen = "127.0.0.1:0", "127.0.0.1:0" }, ""},
		{"no data", func(c *Config) { c.DataDir = "" }, "no data directory"},
		{"bad listen", func(c *Config) { c.Listen = "127.0.0.1" }, "listen address"},
		{"same listeners", func(c *Config) { c.EnrolListen = c.Listen }, "a listener of its own"},
		{"no hosts", func(c *Config) { c.Hosts = nil }, "no host names"},
		{"empty host", func(c *Config) { c.Hosts = []string{""} }, "empty host"},
		{"no root", func(c *Config) { c.Root = nil }, "no operator root"},
		{"no store", func(c *Config) { c.Store = nil }, "no store"},
		{"delegation alone", func(c *Config) { c.TimeDelegation = &trust.Delegation{} }, "without its key"},
		{"negative ttl", func(c *Config) { c.CertTTL = -time.Hour }, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := good
			tc.change(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Errorf("got %v, want valid", err)
				}
				return
			}
			if !errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("got %v, want ErrConfig saying %q", err, tc.want)
			}
		})
	}
}

func TestStartTwice(t *testing.T) {
	s, _ := newTestServer(t, nil)
	if err := s.Start(context.Background()); !errors.Is(err, ErrStarted) {
		t.Errorf("got %v, want ErrStarted", err)
	}
}

// TestEnrolAndRenew enrols over the enrolment listener, which asks for no
// client certificate, and renews over the mutual TLS one, whose server
// certificate the terminal verifies with the device CA it received.
func TestEnrolAndRenew(t *testing.T) {
	var skew atomic.Int64 // the centre's clock runs ahead by this much
	s, data := newTestServer(t, func() time.Time { return time.Now().Add(time.Duration(skew.Load())) })
	dev, _ := s.Addrs()
	dir, req := enrolOne(t, s, data)
	ctx := context.Background()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, data)}}}
	defer hc.CloseIdleConnections()
	certBefore, err := os.ReadFile(filepath.Join(dir, syncenrol.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	// The device listener refuses enrolment: it is not routed there, and
	// a terminal without a certificate cannot even connect.
	if _, err := syncenrol.Post(ctx, hc, "https://"+dev.String(), req); err == nil {
		t.Error("enrolment answered on the mutual TLS listener")
	}
	skew.Store(int64(time.Hour)) // a renewal is due later than the enrolment
	if _, err := syncenrol.Renew(ctx, dir, "https://"+dev.String()); err != nil {
		t.Fatal(err)
	}
	certAfter, err := os.ReadFile(filepath.Join(dir, syncenrol.CertFile))
	if err != nil {
		t.Fatal(err)
	}
	if string(certAfter) == string(certBefore) {
		t.Error("renewal left the certificate as it was")
	}
}

func caPool(t *testing.T, data string) *x509.CertPool {
	t.Helper()
	ca, err := enrol.LoadCA(data, false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca.Pool()
}

// enrolOne enrols a terminal through s's enrolment listener into a new
// directory and returns it with the request it sent.
func enrolOne(t *testing.T, s *Server, data string) (string, *syncenrol.Request) {
	t.Helper()
	_, en := s.Addrs()
	st := s.cfg.Store // the registry
	value, tok, err := enrol.NewToken("north", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddEnrolToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	ca, err := enrol.LoadCA(data, false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: ca.Pool()}}}
	defer hc.CloseIdleConnections()
	req, key, err := syncenrol.NewRequest(value)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	resp, err := syncenrol.Post(ctx, hc, "https://"+en.String(), req)
	if err != nil {
		t.Fatal(err)
	}
	// The answer says where the device calls go; the server recorded
	// where terminals enrol, for the tickets.
	dev, _ := s.Addrs()
	_, port, _ := net.SplitHostPort(dev.String())
	if want := "https://" + net.JoinHostPort(s.cfg.Hosts[0], port); resp.Central != want {
		t.Errorf("the answer names the device listener %q, want %q", resp.Central, want)
	}
	_, eport, _ := net.SplitHostPort(en.String())
	if addr, err := enrol.ReadAddress(data); err != nil || addr != net.JoinHostPort(s.cfg.Hosts[0], eport) {
		t.Errorf("recorded enrolment address %q (%v), want %s", addr, err, net.JoinHostPort(s.cfg.Hosts[0], eport))
	}
	dir := t.TempDir()
	if _, err := syncenrol.Install(dir, key, resp, nil); err != nil {
		t.Fatal(err)
	}
	return dir, req
}

// TestRevokedLoggedOnce: a revoked terminal retrying is refused with 403
// device-revoked at every request and logged once.
func TestRevokedLoggedOnce(t *testing.T) {
	var log lockedBuffer
	s, data := newLoggingServer(t, nil, &log)
	dev, _ := s.Addrs()
	dir, _ := enrolOne(t, s, data)
	cfg, err := syncenrol.ClientTLSConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := syncenrol.ParseCertificatePEM(mustRead(t, filepath.Join(dir, syncenrol.CertFile)))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := syncenrol.DeviceID(leaf)
	st := s.cfg.Store // the registry
	if err := st.RevokeDevice(context.Background(), id, time.Now()); err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		resp, err := hc.Get("https://" + dev.String() + "/v1/bundles/policy")
		hc.CloseIdleConnections()
		if err != nil {
			t.Fatalf("attempt %d: %v, want an answer", i+1, err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get(syncenrol.RefusalHeader) != syncenrol.CodeRevoked {
			t.Fatalf("attempt %d: got HTTP %d, want 403 %s", i+1, resp.StatusCode, syncenrol.CodeRevoked)
		}
	}
	if got := strings.Count(log.String(), "refused a revoked device"); got != 1 {
		t.Errorf("got %d log lines of the refusal, want 1:\n%s", got, log.String())
	}
	if !strings.Contains(log.String(), "device="+id) {
		t.Errorf("the log does not name device %s:\n%s", id, log.String())
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// lockedBuffer is a buffer the server's logger and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestShutdownBounded holds a request in flight: Shutdown waits for it
// until its context ends, then closes the connection and returns.
func TestShutdownBounded(t *testing.T) {
	s, data := newTestServer(t, nil)
	_, en := s.Addrs()
	ca, err := enrol.LoadCA(data, false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", en.String(), &tls.Config{RootCAs: ca.Pool(), ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Headers and part of the body: the enrolment handler waits for the
	// rest.
	fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{", enrol.Path)
	time.Sleep(50 * time.Millisecond) // let the server read the headers
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	err = s.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want the drain cut off at its deadline", err)
	}
	// The connection was closed under the stalled request.
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := conn.Read(make([]byte, 1)); err == nil {
		t.Error("the stalled connection is still open")
	}
	if _, err := net.DialTimeout("tcp", en.String(), time.Second); err == nil {
		t.Error("the enrolment listener still accepts")
	}
}

func TestShutdownIdle(t *testing.T) {
	s, _ := newTestServer(t, nil)
	dev, _ := s.Addrs()
	if err := s.Shutdown(context.Background()); err != nil {
		t.Errorf("got %v, want a clean drain", err)
	}
	if _, err := net.DialTimeout("tcp", dev.String(), time.Second); err == nil {
		t.Error("the device listener still accepts")
	}
}

// TestCertReissued: the server certificate is reissued once a third of its
// lifetime remains, and kept before.
func TestCertReissued(t *testing.T) {
	now := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	ca, err := enrol.NewCA("test", now)
	if err != nil {
		t.Fatal(err)
	}
	clock := now
	c := &certSource{ca: ca, hosts: []string{"127.0.0.1"}, ttl: 90 * 24 * time.Hour, now: func() time.Time { return clock }}
	first, err := c.get()
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		after time.Duration
		same  bool
	}{
		{time.Hour, true},
		{59 * 24 * time.Hour, true},
		{61 * 24 * time.Hour, false},
	} {
		t.Run(tc.after.String(), func(t *testing.T) {
			clock = now.Add(tc.after)
			got, err := c.get()
			if err != nil {
				t.Fatal(err)
			}
			if (got == first) != tc.same {
				t.Errorf("got the first certificate %v, want %v", got == first, tc.same)
			}
			if _, err := got.Leaf.Verify(x509.VerifyOptions{Roots: ca.Pool(), CurrentTime: clock, DNSName: "127.0.0.1"}); err != nil {
				t.Errorf("the certificate does not verify: %v", err)
			}
		})
	}
}

// TestRevokedConnectionClosed: the sweep closes the idle kept-alive
// connection of a device revoked after it connected, and leaves the
// others alone.
func TestRevokedConnectionClosed(t *testing.T) {
	var log lockedBuffer
	s, data := newLoggingServer(t, nil, &log)
	dev, _ := s.Addrs()
	dirA, _ := enrolOne(t, s, data)
	dirB, _ := enrolOne(t, s, data)
	get := func(hc *http.Client) (status int, reused bool) {
		t.Helper()
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+dev.String()+"/v1/bundles/policy", nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp.StatusCode, reused
	}
	client := func(dir string) *http.Client {
		cfg, err := syncenrol.ClientTLSConfig(dir)
		if err != nil {
			t.Fatal(err)
		}
		hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
		t.Cleanup(hc.CloseIdleConnections)
		return hc
	}
	a, b := client(dirA), client(dirB)
	get(a)
	get(b)
	if n := s.conns.sweep(); n != 0 {
		t.Fatalf("closed %d connections before any revocation", n)
	}
	leaf, err := syncenrol.ParseCertificatePEM(mustRead(t, filepath.Join(dirA, syncenrol.CertFile)))
	if err != nil {
		t.Fatal(err)
	}
	id, _ := syncenrol.DeviceID(leaf)
	st := s.cfg.Store // the registry
	if err := st.RevokeDevice(context.Background(), id, time.Now()); err != nil {
		t.Fatal(err)
	}
	if n := s.conns.sweep(); n != 1 {
		t.Errorf("closed %d connections, want the revoked device's 1", n)
	}
	if status, reused := get(a); reused || status != http.StatusForbidden {
		t.Errorf("revoked A: got %d on a reused connection %v, want 403 on a new one", status, reused)
	}
	if _, reused := get(b); !reused {
		t.Error("B's connection was closed too")
	}
	if !strings.Contains(log.String(), "closed a revoked device's connection") {
		t.Errorf("the log does not say so:\n%s", log.String())
	}
}
