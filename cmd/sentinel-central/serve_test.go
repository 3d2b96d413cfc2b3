package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/hpke"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/central/enrol"
	"sentinel/internal/central/issuance"
	"sentinel/internal/central/ops"
	"sentinel/internal/central/opsapi"
	"sentinel/internal/central/pgstore"
	"sentinel/internal/central/pgtest"
	"sentinel/internal/central/server"
	"sentinel/internal/central/storetest"
	"sentinel/internal/passage"
	"sentinel/sync/client"
	syncenrol "sentinel/sync/enrol"
	"sentinel/sync/journal"
	syncserver "sentinel/sync/server"
)

func TestMain(m *testing.M) { os.Exit(pgtest.Main(m)) }

// lockedBuffer is a bytes.Buffer the server's logger and the test share.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
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

// served is a sentinel-central serve running in-process.
type served struct {
	mtls, enrol string // host:port
	ops         string // host:port when args hold --ops-listen
	metrics     string // host:port when args hold --metrics
	stderr      *lockedBuffer
	cancel      context.CancelFunc
	done        chan int
}

// startServe runs serve with args on loopback ports the system picks and
// waits for its "listening" lines.
func startServe(t *testing.T, args ...string) *served {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	s := &served{stderr: &lockedBuffer{}, cancel: cancel, done: make(chan int, 1)}
	args = append([]string{"serve", "--listen", "127.0.0.1:0", "--enrol-listen", "127.0.0.1:0", "--log-level", "debug"}, args...)
	go func() {
		code := run(ctx, args, strings.NewReader(""), pw, s.stderr)
		pw.Close()
		s.done <- code
	}()
	wantOps, wantMetrics := slices.Contains(args, "--ops-listen"), slices.Contains(args, "--metrics")
	sc := bufio.NewScanner(pr)
	for (s.mtls == "" || s.enrol == "" || (wantOps && s.ops == "") || (wantMetrics && s.metrics == "")) && sc.Scan() {
		if a, ok := strings.CutPrefix(sc.Text(), "listening ops "); ok {
			s.ops = a
		}
		if a, ok := strings.CutPrefix(sc.Text(), "listening metrics "); ok {
			s.metrics = a
		}
		if a, ok := strings.CutPrefix(sc.Text(), "listening mtls "); ok {
			s.mtls = a
		}
		if a, ok := strings.CutPrefix(sc.Text(), "listening enrol "); ok {
			s.enrol = a
		}
	}
	go io.Copy(io.Discard, pr)
	if s.mtls == "" || s.enrol == "" {
		cancel()
		t.Fatalf("serve did not say where it listens (exit %d)\nstderr: %s", <-s.done, s.stderr)
	}
	t.Cleanup(func() { s.stop(t) })
	return s
}

// stop cancels serve's context, as the first SIGTERM does, and returns its
// exit status.
func (s *served) stop(t *testing.T) int {
	t.Helper()
	s.cancel()
	select {
	case code, ok := <-s.done:
		if ok {
			close(s.done)
			return code
		}
		return exitOK // stopped already
	case <-time.After(10 * time.Second):
		t.Fatalf("serve did not stop\nstderr: %s", s.stderr)
		return 0
	}
}

// enrolTerminal makes a token for site with devices add and enrols a
// terminal into a new data directory with the ticket alone, as
// `sentinelctl enrol --token TICKET` does: the ticket must name the
// running server's enrolment port and its device CA.
func enrolTerminal(t *testing.T, ctx context.Context, data, enrolAddr, site string) (string, *syncenrol.Installed) {
	t.Helper()
	var tok tokenOut
	if err := json.Unmarshal([]byte(mustRun(t, "devices", "add", "--site", site, "--ttl", "1h", "--data", data, "--json")), &tok); err != nil {
		t.Fatal(err)
	}
	ticket, err := syncenrol.ParseTicket(tok.Ticket)
	if err != nil {
		t.Fatalf("devices add after serve: ticket %q: %v", tok.Ticket, err)
	}
	_, wantPort, _ := net.SplitHostPort(enrolAddr)
	if _, port, _ := net.SplitHostPort(ticket.Addr); port != wantPort {
		t.Errorf("the ticket names %s, serve enrols at %s", ticket.Addr, enrolAddr)
	}
	dir := t.TempDir()
	in, _, err := syncenrol.Enrol(ctx, syncenrol.Options{DataDir: dir, Ticket: ticket})
	if err != nil {
		t.Fatal(err)
	}
	if in.Site != site {
		t.Errorf("got site %q, want %q", in.Site, site)
	}
	// The same token again is refused.
	var refused *syncenrol.RefusedError
	if _, _, err := syncenrol.Enrol(ctx, syncenrol.Options{DataDir: t.TempDir(), Ticket: ticket}); !errors.As(err, &refused) || refused.Code != syncenrol.CodeTokenUsed {
		t.Errorf("a used token again: got %v, want token-used", err)
	}
	return dir, in
}

// deviceClient is an HTTP client with the terminal's mutual TLS identity.
func deviceClient(t *testing.T, dir string) *http.Client {
	t.Helper()
	cfg, err := syncenrol.ClientTLSConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
	t.Cleanup(hc.CloseIdleConnections)
	return hc
}

// TestServeEndToEnd runs the real server binary's serve in-process: a
// terminal enrols, uploads its journal over mutual TLS and downloads a
// bundle and the signed time; a revoked terminal is refused on its open
// connection; the passages are in the bbolt store exactly once, with their
// holders opened.
func TestServeEndToEnd(t *testing.T) {
	t.Run("bbolt", func(t *testing.T) {
		testServe(t, nil, func(data string) central.Store {
			st, err := boltstore.Open(filepath.Join(data, server.StoreFile), &boltstore.Options{Timeout: time.Second})
			if err != nil {
				t.Fatal(err)
			}
			return st
		})
	})
	t.Run("postgres", func(t *testing.T) {
		conn := pgtest.NewDatabase(t)
		testServe(t, []string{"--postgres", conn}, func(string) central.Store {
			st, err := pgstore.Open(context.Background(), conn, nil)
			if err != nil {
				t.Fatal(err)
			}
			return st
		})
	})
}

// testServe runs the end-to-end test with serve's store flags storeArgs;
// open opens the store after serve stopped.
func testServe(t *testing.T, storeArgs []string, open func(data string) central.Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	data := filepath.Join(dir, "central")
	rootPub, signer, del := filepath.Join(dir, "root", "root.pub"), filepath.Join(dir, "online", "signer.key"), filepath.Join(dir, "online", "signer.delegation")
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir, "root"))
	mustRun(t, "trust", "signer-keygen", "--out", filepath.Join(dir, "online"))
	mustRun(t, "trust", "delegate", "--root", filepath.Join(dir, "root", "root.key"), "--pub", filepath.Join(dir, "online", "signer.pub"),
		"--kinds", "trust,status-base,status-delta,policy,config", "--valid", "90d", "--out", del)
	mustRun(t, "trust", "hpke-keygen", "--out", filepath.Join(dir, "hpke"))
	writeTestFile(t, filepath.Join(dir, "p1.policy"), bundlestest.Policy(t, "p1"))
	mustRun(t, "bundles", "publish", "policy", filepath.Join(dir, "p1.policy"), "--key", signer, "--delegation", del, "--root-pub", rootPub, "--data", data)

	s := startServe(t, append([]string{"--data", data, "--root-pub", rootPub, "--hpke-key", filepath.Join(dir, "hpke", "centre.hpke.key"),
		"--key", signer, "--delegation", del}, storeArgs...)...)

	termA, a := enrolTerminal(t, ctx, data, s.enrol, "north-gate")
	termB, b := enrolTerminal(t, ctx, data, s.enrol, "south-gate")
	if !slices.Contains(a.Bundles, "policy") {
		t.Errorf("got first bundles %v, want the published policy", a.Bundles)
	}

	// Terminal A journals passages sealed to the centre's key and uploads
	// them with the real sync client.
	hpkePub, err := os.ReadFile(filepath.Join(dir, "hpke", "centre.hpke.pub"))
	if err != nil {
		t.Fatal(err)
	}
	pubBytes, err := hex.DecodeString(strings.TrimSpace(string(hpkePub)))
	if err != nil {
		t.Fatal(err)
	}
	centreKey, err := hpke.DHKEM(ecdh.X25519()).NewPublicKey(pubBytes)
	if err != nil {
		t.Fatal(err)
	}
	j, err := journal.Open(filepath.Join(termA, journal.FileName), journal.Options{CentreKey: centreKey, PurgeEvery: -1})
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	const passages = 25
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	for i := range passages {
		p := &journal.Passage{
			Time: at.Add(time.Duration(i) * time.Second), ClockTrusted: true, Lane: "in-1",
			Format: credential.FormatNative, Issuer: "ZJ",
			Holder:   credential.Holder{Kind: credential.HolderKind(1), Issuer: "ZJ", Index: uint32(100 + i)},
			Decision: passage.Admit, Reasons: []string{"ok"}, PolicyVersion: 1,
		}
		if _, err := j.Append(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	up, err := client.New(j, client.Options{
		URL: "https://" + s.mtls, Device: a.Device, HTTP: deviceClient(t, termA), Batch: 10,
		Timeout: 5 * time.Second, Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Drain(ctx); err != nil {
		t.Fatalf("upload: %v\nstderr: %s", err, s.stderr)
	}
	if acked, err := j.Acked(); err != nil || acked != passages {
		t.Fatalf("got acked %d (%v), want %d", acked, err, passages)
	}

	t.Run("download", func(t *testing.T) {
		hc := deviceClient(t, termA)
		resp, err := hc.Get("https://" + s.mtls + syncserver.BundlePath(1, trust.KindPolicy))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		installed, err := os.ReadFile(filepath.Join(termA, syncenrol.BundlesDir, "policy.bundle"))
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK || !bytes.Equal(body, installed) {
			t.Errorf("got %d with %d bytes, want 200 with the %d bytes enrolment installed", resp.StatusCode, len(body), len(installed))
		}

		// A policy published while the server runs is served next.
		writeTestFile(t, filepath.Join(dir, "p2.policy"), bundlestest.Policy(t, "p2"))
		// On PostgreSQL the bundles are in the database (--postgres), for
		// every server on it, which asks for a change once a second.
		mustRun(t, append([]string{"bundles", "publish", "policy", filepath.Join(dir, "p2.policy"), "--key", signer, "--delegation", del, "--root-pub", rootPub, "--data", data}, storeArgs...)...)
		root, err := readPublicKey(rootPub)
		if err != nil {
			t.Fatal(err)
		}
		for deadline := time.Now().Add(5 * time.Second); ; {
			resp, err = hc.Get("https://" + s.mtls + syncserver.BundlePath(1, trust.KindPolicy))
			if err != nil {
				t.Fatal(err)
			}
			body, _ = io.ReadAll(resp.Body)
			resp.Body.Close()
			b, _, err := trust.OpenBundle(body, root, time.Now(), trust.State{})
			if err == nil && b.Version == 2 {
				break
			}
			if time.Now().After(deadline) {
				t.Errorf("got HTTP %d, %v, want policy version 2 after the publish", resp.StatusCode, err)
				break
			}
			time.Sleep(100 * time.Millisecond)
		}

		nonce := make([]byte, syncserver.MinNonce)
		rand.Read(nonce)
		resp, err = hc.Get("https://" + s.mtls + syncserver.TimePath(1, nonce))
		if err != nil {
			t.Fatal(err)
		}
		body, _ = io.ReadAll(resp.Body)
		resp.Body.Close()
		got, err := syncserver.VerifyTime(body, root, nonce, nil)
		if err != nil {
			t.Fatalf("time: %v (HTTP %d)", err, resp.StatusCode)
		}
		if d := time.Since(got); d < -time.Minute || d > time.Minute {
			t.Errorf("got the centre's time %v off", d)
		}
	})

	t.Run("revoked on its open connection", func(t *testing.T) {
		// The connection opened before `devices revoke` stays open: the
		// next request on it is refused, in words the terminal reads.
		hc := deviceClient(t, termB)
		resp, err := hc.Get("https://" + s.mtls + syncserver.BundlePath(1, trust.KindPolicy))
		if err != nil {
			t.Fatalf("before revocation: %v", err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		mustRun(t, "devices", "revoke", "--device", b.Device, "--data", data)
		resp, err = hc.Get("https://" + s.mtls + syncserver.BundlePath(1, trust.KindPolicy))
		if err != nil {
			t.Fatalf("after revocation: %v, want an answer", err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusForbidden || resp.Header.Get(syncenrol.RefusalHeader) != syncenrol.CodeRevoked {
			t.Errorf("got HTTP %d %q, want 403 %s", resp.StatusCode, resp.Header.Get(syncenrol.RefusalHeader), syncenrol.CodeRevoked)
		}
	})

	t.Run("no client certificate", func(t *testing.T) {
		cfg, err := syncenrol.ClientTLSConfig(termA)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Certificates = nil
		hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: cfg}}
		defer hc.CloseIdleConnections()
		if resp, err := hc.Get("https://" + s.mtls + syncserver.BundlePath(1, trust.KindPolicy)); err == nil {
			resp.Body.Close()
			t.Fatalf("got HTTP %d, want a refused handshake", resp.StatusCode)
		}
	})

	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve exited %d, want 0\nstderr: %s", code, s.stderr)
	}
	for _, want := range []string{"msg=listening listener=mtls", "msg=draining", "msg=stopped"} {
		if !strings.Contains(s.stderr.String(), want) {
			t.Errorf("the log lacks %q:\n%s", want, s.stderr)
		}
	}

	// The server has let go of the store: every passage is there once,
	// under A's site, with its holder opened.
	st := open(data)
	defer st.Close()
	if hw, err := st.HighWater(ctx, a.Device, central.Epoch(j.Epoch())); err != nil || hw != passages {
		t.Errorf("got high water %d (%v), want %d", hw, err, passages)
	}
	seen := map[uint64]bool{}
	for p, err := range st.Passages(ctx, central.Filter{}) {
		if err != nil {
			t.Fatal(err)
		}
		if p.Device != a.Device || p.Site != "north-gate" || seen[p.Seq] {
			t.Errorf("got seq %d of %s at %q (seen before: %v), want each of %s's once at north-gate", p.Seq, p.Device, p.Site, seen[p.Seq], a.Device)
		}
		seen[p.Seq] = true
		if want := fmt.Sprintf("ZJ:%d", 100+p.Seq-1); p.Holder != want {
			t.Errorf("seq %d: got holder %q, want %q", p.Seq, p.Holder, want)
		}
	}
	if len(seen) != passages {
		t.Errorf("got %d passages stored, want %d", len(seen), passages)
	}
}

func TestServeFlags(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir, "root"))
	rootPub := filepath.Join(dir, "root", "root.pub")
	data := filepath.Join(dir, "central")
	for _, tc := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"no root", []string{"--data", data}, exitUsage, "--root-pub FILE is required"},
		{"bad level", []string{"--data", data, "--root-pub", rootPub, "--log-level", "loud"}, exitUsage, "--log-level"},
		{"every address without hosts", []string{"--data", data, "--root-pub", rootPub, "--listen", ":0"}, exitUsage, "give --hosts"},
		{"positional", []string{"--data", data, "extra"}, exitUsage, "unexpected argument"},
		{"delegation without key", []string{"--data", data, "--root-pub", rootPub, "--time-delegation", rootPub}, exitUsage, "--time-delegation needs --time-key"},
		{"issuers without ops", []string{"--data", data, "--root-pub", rootPub, "--issuers", rootPub}, exitUsage, "--issuers needs --ops-listen"},
		{"bad kem", []string{"--data", data, "--root-pub", rootPub, "--hpke-key", rootPub, "--hpke-kem", "rsa"}, exitUsage, "--hpke-kem"},
		{"bad limit", []string{"--data", data, "--root-pub", rootPub, "--limit", "issue=fast"}, exitUsage, "--limit \"issue=fast\": want LISTENER=RATE/BURST"},
		{"limit of no listener", []string{"--data", data, "--root-pub", rootPub, "--limit", "mtls=1/1"}, exitUsage, "enrol, ops or issue"},
		{"bad postgres", []string{"--data", data, "--root-pub", rootPub, "--postgres", "postgres://127.0.0.1:1/x?connect_timeout=1", "--no-time", "--no-schedule"}, exitRefused, "--postgres"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := sentinel(t, append([]string{"serve"}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.want) {
				t.Errorf("got exit %d %q, want %d with %q", code, errOut, tc.code, tc.want)
			}
		})
	}
}

func TestSetLimit(t *testing.T) {
	cfg := server.DefaultConfig()
	for _, a := range []string{"enrol=0.5/5", "ops=50/200", "issue=1000/2000"} {
		if err := setLimit(&cfg, a); err != nil {
			t.Fatalf("%s: %v", a, err)
		}
	}
	if cfg.EnrolLimit != (server.Limit{Rate: 0.5, Burst: 5}) || cfg.OpsLimit != (server.Limit{Rate: 50, Burst: 200}) || cfg.IssuanceLimit != (server.Limit{Rate: 1000, Burst: 2000}) {
		t.Errorf("got %+v %+v %+v", cfg.EnrolLimit, cfg.OpsLimit, cfg.IssuanceLimit)
	}
	for _, bad := range []string{"issue", "issue=10", "issue=0/5", "issue=10/0", "issue=-1/5", "x=1/1", "issue=1/1.5"} {
		if err := setLimit(&cfg, bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestServeHosts(t *testing.T) {
	for _, tc := range []struct {
		given, listen string
		want          []string
		err           bool
	}{
		{"", "127.0.0.1:8443", []string{"localhost", "127.0.0.1", "::1"}, false},
		{"", "[::1]:8443", []string{"localhost", "127.0.0.1", "::1"}, false},
		{"", "10.0.0.5:8443", []string{"10.0.0.5"}, false},
		{"", "central.example:8443", []string{"central.example"}, false},
		{"", "0.0.0.0:8443", nil, true},
		{"", ":8443", nil, true},
		{"a.example, 10.0.0.5,", ":8443", []string{"a.example", "10.0.0.5"}, false},
		{" , ", ":8443", nil, true},
	} {
		t.Run(tc.given+"@"+tc.listen, func(t *testing.T) {
			got, err := serveHosts(tc.given, tc.listen)
			if (err != nil) != tc.err || !slices.Equal(got, tc.want) {
				t.Errorf("got %v, %v, want %v (error %v)", got, err, tc.want, tc.err)
			}
		})
	}
}

// TestServeShutdown holds a request in flight: the drain waits for it until
// its bound, or until a second signal aborts it.
func TestServeShutdown(t *testing.T) {
	for _, tc := range []struct {
		name  string
		drain time.Duration
		abort bool
		want  string
	}{
		{"bound passes", 100 * time.Millisecond, false, "drain: requests still running after 100ms"},
		{"second signal", time.Minute, true, "drain: aborted by a second signal"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			st, err := boltstore.Open(filepath.Join(data, server.StoreFile), nil)
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			root, err := trust.GenerateRoot(nil, trust.KeyEd25519)
			if err != nil {
				t.Fatal(err)
			}
			cfg := server.DefaultConfig()
			cfg.DataDir, cfg.Root, cfg.Store = data, root.Public(), st
			cfg.Listen, cfg.EnrolListen = "127.0.0.1:0", "127.0.0.1:0"
			srv, err := server.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			if err := srv.Start(context.Background()); err != nil {
				t.Fatal(err)
			}
			defer srv.Stop()
			_, en := srv.Addrs()
			caPEM, err := os.ReadFile(filepath.Join(data, enrol.CACertFile))
			if err != nil {
				t.Fatal(err)
			}
			pool := x509.NewCertPool()
			pool.AppendCertsFromPEM(caPEM)
			conn, err := tls.Dial("tcp", en.String(), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{", enrol.Path)
			time.Sleep(50 * time.Millisecond) // let the server read the headers

			abort := make(chan os.Signal, 1)
			if tc.abort {
				go func() { time.Sleep(50 * time.Millisecond); abort <- os.Interrupt }()
			}
			var log lockedBuffer
			done := make(chan error, 1)
			go func() { done <- serveShutdown(srv, slog.New(slog.NewTextHandler(&log, nil)), tc.drain, nil, abort) }()
			select {
			case err := <-done:
				if err == nil || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("got %v, want %q", err, tc.want)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the drain did not end")
			}
			if got := strings.Contains(log.String(), "second signal"); got != tc.abort {
				t.Errorf("logged the second signal: %v, want %v\n%s", got, tc.abort, log.String())
			}
		})
	}
}

// seedCentral writes a bbolt store into data holding passages 1..n of
// device dev-a, epoch 1, as if terminals had uploaded them.
func seedCentral(t *testing.T, data string, n uint64) {
	t.Helper()
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	st, err := boltstore.Open(filepath.Join(data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := storetest.Ingest(context.Background(), st, "dev-a", central.Epoch{1}, storetest.Recs(1, n, "cli")); err != nil {
		t.Fatal(err)
	}
}

// writeOpsTokens writes the role token file of data: olga (ops) and adam
// (admin) with the tokens "ops-token" and "admin-token".
func writeOpsTokens(t *testing.T, data string) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"tokens": []opsapi.Token{
		{Name: "olga", Role: opsapi.RoleOps, SHA256: opsapi.HashToken("ops-token")},
		{Name: "adam", Role: opsapi.RoleAdmin, SHA256: opsapi.HashToken("admin-token")},
	}})
	if err != nil {
		t.Fatal(err)
	}
	writeTestFile(t, filepath.Join(data, opsapi.TokensFile), b)
}

// startOpsServe seeds a store of n passages and runs serve with the
// operator API; it returns the data directory.
func startOpsServe(t *testing.T, n uint64) (*served, string) {
	t.Helper()
	dir := t.TempDir()
	data := filepath.Join(dir, "central")
	seedCentral(t, data, n)
	writeOpsTokens(t, data)
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir, "root"))
	s := startServe(t, "--data", data, "--root-pub", filepath.Join(dir, "root", "root.pub"), "--ops-listen", "127.0.0.1:0", "--no-time", "--no-schedule")
	if s.ops == "" {
		t.Fatalf("serve did not say where the operator API listens\nstderr: %s", s.stderr)
	}
	return s, data
}

// opsClient trusts the device CA of data.
func opsClient(t *testing.T, data string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(filepath.Join(data, enrol.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no CA certificate")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	t.Cleanup(hc.CloseIdleConnections)
	return hc
}

// TestServeOpsExport exports through the running server: refused without
// a token and with an admin token (nothing audited), then olga's export is
// served and recorded in the audit log under her name.
func TestServeOpsExport(t *testing.T) {
	s, data := startOpsServe(t, 30)
	hc := opsClient(t, data)
	body := `{"from":"2000-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z","format":"jsonl","purpose":"case 4711"}`
	post := func(token string) (int, string) {
		req, err := http.NewRequest(http.MethodPost, "https://"+s.ops+opsapi.ExportPath, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, token string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"unknown token", "ops-token2", http.StatusUnauthorized},
		{"admin token", "admin-token", http.StatusForbidden},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, b := post(tc.token); code != tc.want {
				t.Errorf("got %d %s, want %d", code, b, tc.want)
			}
			if es := auditLog(t, "--data", data); len(es) != 0 {
				t.Errorf("got %d audit entries, want 0", len(es))
			}
		})
	}
	code, b := post("ops-token")
	if code != http.StatusOK {
		t.Fatalf("got %d %s, want 200\nstderr: %s", code, b, s.stderr)
	}
	if lines := strings.Count(b, "\n"); lines != 30 {
		t.Errorf("got %d JSON lines, want 30", lines)
	}
	es := auditLog(t, "--data", data)
	if len(es) != 1 || es[0].Operator != "olga" || es[0].Purpose != "case 4711" || es[0].Rows != 30 || es[0].Action != ops.ActionExport {
		t.Errorf("got audit %+v, want olga's export of 30 rows for case 4711", es)
	}
}

func TestServeOpsNoTokenFile(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "central")
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir, "root"))
	code, _, errOut := runCLI("serve", "--data", data, "--root-pub", filepath.Join(dir, "root", "root.pub"),
		"--listen", "127.0.0.1:0", "--enrol-listen", "127.0.0.1:0", "--ops-listen", "127.0.0.1:0", "--no-time", "--no-schedule")
	if code != exitRefused || !strings.Contains(errOut, opsapi.TokensFile) || !strings.Contains(errOut, "sha256sum") {
		t.Errorf("got exit %d %q, want refused with how to write %s", code, errOut, opsapi.TokensFile)
	}
}

// TestServeIssuance issues a code through the operator listener with the
// issuer token of --issuers; the code verifies under the issuer's key, green
// with no status record (which the lookup does not create), and a wrong
// token is refused.
func TestServeIssuance(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "central")
	writeOpsTokens(t, data)
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir, "root"))
	conf := filepath.Join(dir, "issuance")
	if err := os.MkdirAll(conf, 0o700); err != nil {
		t.Fatal(err)
	}
	k := edSigner(t)
	writeKey(t, conf, "ZJ", k)
	const secret = "a-long-random-issuer-token-for-zj"
	writeTestFile(t, filepath.Join(conf, "zj.token"), []byte(secret+"\n"))
	writeTestFile(t, filepath.Join(conf, "issuers.json"), []byte(
		`{"issuers":[{"id":"ZJ","key":"ZJ.key"}],"tokens":[{"name":"app-backend","issuer":"ZJ","secret_file":"zj.token"}]}`))
	s := startServe(t, "--data", data, "--root-pub", filepath.Join(dir, "root", "root.pub"),
		"--ops-listen", "127.0.0.1:0", "--issuers", filepath.Join(conf, "issuers.json"), "--no-time", "--no-schedule")
	hc := opsClient(t, data)
	post := func(token string) (int, []byte) {
		req, err := http.NewRequest(http.MethodPost, "https://"+s.ops+issuance.Path, strings.NewReader(`{"index":1024,"display_name":"Zhang *"}`))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, b
	}
	code, b := post(secret)
	if code != http.StatusOK {
		t.Fatalf("got %d %s, want 200\nstderr: %s", code, b, s.stderr)
	}
	var res issuance.Response
	if err := json.Unmarshal(b, &res); err != nil {
		t.Fatal(err)
	}
	cred, err := healthcode.Verify(res.Code, nativeStore(t, "ZJ", k.Public()), healthcode.VerifyOptions{Now: time.Now()})
	if err != nil {
		t.Fatalf("Verify: %v", err)
	}
	if cred.Holder.Issuer != "ZJ" || cred.Holder.Index != 1024 || cred.Colour != credential.ColourGreen || cred.DisplayName != "Zhang *" {
		t.Errorf("got %+v, want ZJ:1024 green for Zhang *", *cred)
	}
	if _, err := os.Stat(filepath.Join(data, "status.db")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("got %v for the status record, want it left uncreated", err)
	}
	if code, b := post("a-long-random-issuer-token-for-hb"); code != http.StatusUnauthorized {
		t.Errorf("wrong token: got %d %s, want 401", code, b)
	}
	// The operator API is still served beside it.
	req, err := http.NewRequest(http.MethodPost, "https://"+s.ops+opsapi.ExportPath,
		strings.NewReader(`{"from":"2000-01-01T00:00:00Z","to":"2100-01-01T00:00:00Z","format":"jsonl","purpose":"case 1"}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer ops-token")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("export beside issuance: got %d, want 200", resp.StatusCode)
	}
}
