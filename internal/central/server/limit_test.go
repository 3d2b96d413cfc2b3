package server

import (
	"context"
	"crypto/tls"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/enrol"
	syncenrol "sentinel/sync/enrol"
)

// newOpsServer starts a server with an operator handler that refuses
// every call (401) and an issuance handler that answers 200.
func newOpsServer(t *testing.T, log io.Writer) (*Server, string) {
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
	cfg.DataDir, cfg.Listen, cfg.EnrolListen, cfg.OpsListen = data, "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Root, cfg.Store = root.Public(), st
	cfg.Ops = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no token", http.StatusUnauthorized)
	})
	cfg.Issuance = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "issued") })
	cfg.OpsLimit = Limit{Rate: 1, Burst: 5}
	cfg.Logger = slog.New(slog.NewTextHandler(log, nil))
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

// TestListenersTLS13: enrolment and the operator API refuse TLS 1.2, as
// the device listener does.
func TestListenersTLS13(t *testing.T) {
	s, data := newOpsServer(t, io.Discard)
	dev, en := s.Addrs()
	pool := caPool(t, data)
	for name, addr := range map[string]net.Addr{"device": dev, "enrol": en, "ops": s.OpsAddr()} {
		t.Run(name, func(t *testing.T) {
			c, err := tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: pool, ServerName: "localhost", MaxVersion: tls.VersionTLS12})
			if err == nil {
				c.Close()
				t.Fatalf("a TLS 1.2 handshake succeeded, want it refused")
			}
			if name == "device" {
				return // asks for a client certificate
			}
			c, err = tls.Dial("tcp", addr.String(), &tls.Config{RootCAs: pool, ServerName: "localhost"})
			if err != nil {
				t.Fatalf("TLS 1.3: %v", err)
			}
			defer c.Close()
			if v := c.ConnectionState().Version; v != tls.VersionTLS13 {
				t.Errorf("got version %#x, want TLS 1.3", v)
			}
		})
	}
}

var refusedRE = regexp.MustCompile(`msg="requests refused" .*listener=(\w+) source=127\.0\.0\.1 count=(\d+)`)

// refusedCounts sums the logged refusal counts by listener.
func refusedCounts(log string) (lines map[string]int, total map[string]int) {
	lines, total = map[string]int{}, map[string]int{}
	for _, m := range refusedRE.FindAllStringSubmatch(log, -1) {
		n, _ := strconv.Atoi(m[2])
		lines[m[1]]++
		total[m[1]] += n
	}
	return lines, total
}

// TestEnrolGuessingLimitedAndLogged: guessing enrolment tokens from one
// address is slowed to the limit and every refusal is in the log, as one
// line at once and the count when the server stops (or a minute later).
func TestEnrolGuessingLimitedAndLogged(t *testing.T) {
	var log lockedBuffer
	s, data := newOpsServer(t, &log)
	_, en := s.Addrs()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, data)}}}
	defer hc.CloseIdleConnections()
	const guesses = 60
	statuses := map[int]int{}
	for range guesses {
		value, _, err := enrol.NewToken("north", time.Now(), time.Hour) // never stored
		if err != nil {
			t.Fatal(err)
		}
		req, _, err := syncenrol.NewRequest(value)
		if err != nil {
			t.Fatal(err)
		}
		_, err = syncenrol.Post(context.Background(), hc, "https://"+en.String(), req)
		switch {
		case err == nil:
			t.Fatal("a guessed token enrolled")
		case strings.Contains(err.Error(), "429"):
			statuses[http.StatusTooManyRequests]++
		default:
			statuses[http.StatusForbidden]++
		}
	}
	burst := DefaultEnrolLimit.Burst
	if statuses[http.StatusForbidden] < burst || statuses[http.StatusForbidden] > burst+10 {
		t.Errorf("got %d guesses answered, want about the burst of %d", statuses[http.StatusForbidden], burst)
	}
	if statuses[http.StatusTooManyRequests] == 0 {
		t.Errorf("no guess was refused for the rate: %v", statuses)
	}
	if lines, _ := refusedCounts(log.String()); lines["enrol"] != 1 {
		t.Errorf("while guessing: got %d log lines, want 1:\n%s", lines["enrol"], log.String())
	}
	s.Stop()
	lines, total := refusedCounts(log.String())
	if lines["enrol"] != 2 || total["enrol"] != guesses {
		t.Errorf("after stop: got %d lines counting %d refusals, want 2 lines counting %d:\n%s", lines["enrol"], total["enrol"], guesses, log.String())
	}
}

// TestOpsLimit: the operator API is limited per source apart from
// issuance, which has a limit of its own.
func TestOpsLimit(t *testing.T) {
	var log lockedBuffer
	s, data := newOpsServer(t, &log)
	base := "https://" + s.OpsAddr().String()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, data)}}}
	defer hc.CloseIdleConnections()
	get := func(method, path string) *http.Response {
		req, _ := http.NewRequest(method, base+path, nil)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}
	var last *http.Response
	for range 10 {
		last = get("GET", "/v1/ops/devices")
	}
	if last.StatusCode != http.StatusTooManyRequests || last.Header.Get("Retry-After") == "" {
		t.Errorf("the 10th ops call: got %d Retry-After %q, want 429 with Retry-After", last.StatusCode, last.Header.Get("Retry-After"))
	}
	if resp := get("POST", "/v1/issue"); resp.StatusCode != http.StatusOK {
		t.Errorf("issuance after the ops calls were limited: got %d, want 200", resp.StatusCode)
	}
	s.Stop()
	if _, total := refusedCounts(log.String()); total["ops"] != 10 {
		t.Errorf("got %d ops refusals logged, want 10:\n%s", total["ops"], log.String())
	}
}
