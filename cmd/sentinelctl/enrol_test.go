package main

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/enrol"
)

// enrolCentre is an enrolment server on loopback TLS whose first fail
// answers are 503, as a centre still starting.
type enrolCentre struct {
	srv    *httptest.Server
	store  *enrol.FileStore
	caFile string
	root   trust.KeyID
	fail   atomic.Int32
	calls  atomic.Int32
}

func newEnrolCentre(t *testing.T) *enrolCentre {
	t.Helper()
	first, capped := enrolRetryFirst, enrolRetryCap
	enrolRetryFirst, enrolRetryCap = time.Millisecond, 4*time.Millisecond
	t.Cleanup(func() { enrolRetryFirst, enrolRetryCap = first, capped })

	c := &enrolCentre{}
	dir := t.TempDir()
	ca, err := enrol.LoadCA(dir, true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	if c.store, err = enrol.OpenFileStore(dir); err != nil {
		t.Fatal(err)
	}
	root, _ := trust.GenerateRoot(nil, trust.KeyEd25519)
	c.root, _ = trust.KeyIDOfPublic(root.Public())
	h := &enrol.Handler{CA: ca, Store: c.store, Root: root.Public(), Logger: slog.New(slog.DiscardHandler)}
	c.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.calls.Add(1)
		if c.fail.Add(-1) >= 0 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, r)
	}))
	cert, err := ca.IssueServer([]string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	c.srv.TLS = enrolServerTLS(cert)
	c.srv.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	c.srv.StartTLS()
	t.Cleanup(c.srv.Close)
	c.caFile = filepath.Join(dir, "centre-ca.pem")
	if err := os.WriteFile(c.caFile, ca.PEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *enrolCentre) token(t *testing.T) string {
	t.Helper()
	v, tok, err := enrol.NewToken("north-gate", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.store.AddToken(tok); err != nil {
		t.Fatal(err)
	}
	return v
}

func TestEnrolRetriesThenInstalls(t *testing.T) {
	c := newEnrolCentre(t)
	c.fail.Store(2)
	data := t.TempDir()
	code, out, errOut := runCmd(t, "enrol", "--central", c.srv.URL, "--token", strings.ToLower(c.token(t)), "--data-dir", data, "--ca", c.caFile, "--json")
	if code != exitOK {
		t.Fatalf("got exit %d, want 0: %s", code, errOut)
	}
	var got enrolOut
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if got.Attempts != 3 || got.Site != "north-gate" || got.Root != c.root.String() || got.Pinned {
		t.Errorf("got %+v, want 3 attempts at north-gate, root %s newly pinned", got, c.root)
	}
	st, err := os.Stat(filepath.Join(data, enrol.KeyFile))
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("key file: %v, mode %v, want 0600", err, st)
	}
	if _, err := enrol.ClientTLSConfig(data); err != nil {
		t.Errorf("the written identity does not load: %v", err)
	}

	// Enrolled: a second run is refused without --force, and with it the
	// spent token is refused by the centre.
	tok := c.token(t)
	if code, _, errOut := runCmd(t, "enrol", "--central", c.srv.URL, "--token", tok, "--data-dir", data, "--ca", c.caFile); code != exitRefused || !strings.Contains(errOut, "--force") {
		t.Errorf("re-enrol without --force: got exit %d (%s), want 1 naming --force", code, errOut)
	}
	code, out, _ = runCmd(t, "enrol", "--central", c.srv.URL, "--token", tok, "--data-dir", data, "--ca", c.caFile, "--force")
	if code != exitOK || !strings.Contains(out, "matches the one pinned already") {
		t.Errorf("re-enrol with --force: got exit %d, output %q", code, out)
	}
	if code, _, errOut := runCmd(t, "enrol", "--central", c.srv.URL, "--token", tok, "--data-dir", t.TempDir(), "--ca", c.caFile); code != exitRefused || !strings.Contains(errOut, "token-used") {
		t.Errorf("reused token: got exit %d (%s), want 1 token-used", code, errOut)
	}
}

func TestEnrolRefused(t *testing.T) {
	c := newEnrolCentre(t)
	other, _ := trust.GenerateRoot(nil, trust.KeyEd25519)
	otherPEM, _ := trust.MarshalPublicKey(other.Public())
	otherFile := filepath.Join(t.TempDir(), "root.pub")
	os.WriteFile(otherFile, otherPEM, 0o644)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	down := "https://" + ln.Addr().String()
	ln.Close() // nothing listens there now

	cases := []struct {
		name string
		args []string
		code int
		msg  string
	}{
		{"root differs from the package's", []string{"--central", c.srv.URL, "--token", c.token(t), "--ca", c.caFile, "--root", otherFile}, exitRefused, "differs from the pinned"},
		{"unknown token", []string{"--central", c.srv.URL, "--token", "AAAAAAAAAAAAAAAAAAAAAAAAAA", "--ca", c.caFile}, exitRefused, "token-unknown"},
		{"centre down", []string{"--central", down, "--token", c.token(t), "--timeout", "50ms"}, exitRefused, "gave up after"},
		{"centre not trusted", []string{"--central", c.srv.URL, "--token", c.token(t), "--timeout", "20s"}, exitRefused, "give its CA with --ca"},
		{"no token", []string{"--central", c.srv.URL}, exitUsage, "required"},
		{"bad URL", []string{"--central", "central:8443", "--token", "x"}, exitUsage, "want a URL"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			data := t.TempDir()
			code, _, errOut := runCmd(t, append([]string{"enrol", "--data-dir", data}, tc.args...)...)
			if code != tc.code || !strings.Contains(errOut, tc.msg) {
				t.Errorf("got exit %d (%s), want %d with %q", code, errOut, tc.code, tc.msg)
			}
			if _, err := os.Stat(filepath.Join(data, "device")); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("device/ written after a refusal (%v)", err)
			}
		})
	}
}

func enrolServerTLS(cert tls.Certificate) *tls.Config {
	return &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}}
}
