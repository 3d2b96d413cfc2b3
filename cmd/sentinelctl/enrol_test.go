package main

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sentinel/crypto/trust"
	centralenrol "sentinel/internal/central/enrol"
	"sentinel/internal/central/memstore"
	"sentinel/sync/enrol"
)

// enrolCentre is an enrolment server on loopback TLS whose first fail
// answers are 503, as a centre still starting, and whose next lose
// answers are lost on the way: the centre enrols, then the connection
// breaks before the answer reaches the terminal.
type enrolCentre struct {
	srv    *httptest.Server
	ca     *centralenrol.CA
	store  *memstore.Store
	caFile string
	root   trust.KeyID
	fail   atomic.Int32
	lose   atomic.Int32
	calls  atomic.Int32
}

func newEnrolCentre(t *testing.T) *enrolCentre {
	t.Helper()
	first, capped := enrolRetryFirst, enrolRetryCap
	enrolRetryFirst, enrolRetryCap = time.Millisecond, 4*time.Millisecond
	t.Cleanup(func() { enrolRetryFirst, enrolRetryCap = first, capped })

	c := &enrolCentre{}
	dir := t.TempDir()
	ca, err := centralenrol.LoadCA(dir, true, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	c.ca = ca
	c.store = memstore.New(nil)
	root, _ := trust.GenerateRoot(nil, trust.KeyEd25519)
	c.root, _ = trust.KeyIDOfPublic(root.Public())
	h := &centralenrol.Handler{CA: ca, Store: c.store, Root: root.Public(), Logger: slog.New(slog.DiscardHandler), Central: "https://central.example.org"}
	c.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.calls.Add(1)
		if c.fail.Add(-1) >= 0 {
			http.Error(w, "starting", http.StatusServiceUnavailable)
			return
		}
		if c.lose.Add(-1) >= 0 {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, r) // committed at the centre
			panic(http.ErrAbortHandler)
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
	v, tok, err := centralenrol.NewToken("north-gate", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.store.AddEnrolToken(context.Background(), tok); err != nil {
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
		// Refused connections: say what to check, not only the dialler's words.
		{"centre down: what to check", []string{"--central", down, "--token", c.token(t), "--timeout", "500ms"}, exitRefused, "nothing answers at " + strings.TrimPrefix(down, "https://") + ": check that sentinel-central serve runs there"},
		{"centre not trusted", []string{"--central", c.srv.URL, "--token", c.token(t), "--timeout", "20s"}, exitRefused, "device CA with --ca FILE"},
		{"no token", []string{"--central", c.srv.URL}, exitUsage, "required"},
		{"bad URL", []string{"--central", "central:8443", "--token", "AAAAAAAAAAAAAAAAAAAAAAAAAA"}, exitUsage, "want a URL"},
		{"plain token without --central", []string{"--token", "AAAAAAAAAAAAAAAAAAAAAAAAAA"}, exitUsage, "give --central https://HOST:8444"},
		{"cut ticket", []string{"--token", "SE1/localhost:8444/AAAAAAAAAAAAAAAAAAAAAAAAAA"}, exitUsage, "copy it whole"},
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

// ticket returns the compact ticket of a new token for the centre.
func (c *enrolCentre) ticket(t *testing.T) enrol.Ticket {
	t.Helper()
	u, _ := url.Parse(c.srv.URL)
	tk, err := enrol.NewTicket(c.token(t), u.Host, c.ca.Cert.Raw)
	if err != nil {
		t.Fatal(err)
	}
	return tk
}

// TestEnrolTicket: the ticket alone enrols (no --central, no --ca), as
// typed or as its QR code's text; the centre is trusted by the CA's
// fingerprint, and a ticket naming another CA is refused at once with
// nothing spent.
func TestEnrolTicket(t *testing.T) {
	c := newEnrolCentre(t)
	for _, form := range []string{"text", "qr"} {
		t.Run(form, func(t *testing.T) {
			tk := c.ticket(t)
			arg := tk.String()
			if form == "qr" {
				arg = tk.QR()
			}
			data := t.TempDir()
			code, out, errOut := runCmd(t, "enrol", "--token", arg, "--data-dir", data)
			if code != exitOK {
				t.Fatalf("got exit %d, want 0: %s", code, errOut)
			}
			if !strings.Contains(out, "enrolled as device") {
				t.Errorf("got %q", out)
			}
			ca, err := os.ReadFile(filepath.Join(data, enrol.CAFile))
			if err != nil || string(ca) != string(c.ca.PEM()) {
				t.Errorf("device/ca.pem is not the centre's CA (%v)", err)
			}
		})
	}
	t.Run("another CA", func(t *testing.T) {
		other, err := centralenrol.NewCA("another", time.Now())
		if err != nil {
			t.Fatal(err)
		}
		tk := c.ticket(t)
		tk.CA = enrol.Fingerprint(other.Cert.Raw)
		calls := c.calls.Load()
		data := t.TempDir()
		code, _, errOut := runCmd(t, "enrol", "--token", tk.String(), "--data-dir", data)
		if code != exitRefused || !strings.Contains(errOut, "ticket names") || strings.Count(strings.TrimSpace(errOut), "\n") != 0 {
			t.Errorf("got exit %d (%s), want 1 on one line naming the ticket's fingerprint", code, errOut)
		}
		if c.calls.Load() != calls {
			t.Error("the request reached the centre")
		}
		if _, err := os.Stat(filepath.Join(data, "device")); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("device/ written after a refusal (%v)", err)
		}
	})
}

// TestEnrolWrongPort: the centre's device port (mutual TLS) given as the
// enrolment address fails at once, on one line naming the enrolment port,
// instead of being retried until --timeout.
func TestEnrolWrongPort(t *testing.T) {
	c := newEnrolCentre(t)
	var hits atomic.Int32
	dev := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hits.Add(1) }))
	cert, err := c.ca.IssueServer([]string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dev.TLS = centralenrol.ServerTLSConfig(c.ca, cert)
	dev.Config.ErrorLog = log.New(io.Discard, "", 0)
	dev.StartTLS()
	t.Cleanup(dev.Close)
	u, _ := url.Parse(dev.URL)

	tk, err := enrol.NewTicket(c.token(t), u.Host, c.ca.Cert.Raw)
	if err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{
		{"--token", tk.String()},
		{"--central", dev.URL, "--ca", c.caFile, "--token", c.token(t)},
	} {
		data := t.TempDir()
		done := make(chan struct{})
		var (
			code   int
			errOut string
		)
		go func() {
			// An hour of --timeout: a retry loop would not end in time.
			code, _, errOut = runCmd(t, append([]string{"enrol", "--data-dir", data, "--timeout", "1h"}, args...)...)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(time.Minute):
			t.Fatal("enrol at the device port still runs after a minute: it retries")
		}
		if code != exitRefused || !strings.Contains(errOut, "device port") || !strings.Contains(errOut, "8444") || strings.Contains(errOut, "retrying") {
			t.Errorf("%v: got exit %d (%s), want 1 naming the enrolment port", args, code, errOut)
		}
		if n := strings.Count(strings.TrimSpace(errOut), "\n"); n != 0 {
			t.Errorf("got %d lines, want one:\n%s", n+1, errOut)
		}
	}
	if hits.Load() != 0 {
		t.Error("the device port served a request without a client certificate")
	}
}

// TestEnrolRootMismatchSpendsNothing: a terminal whose package pinned
// another root is refused before the centre spends the token: no device
// is registered and the same token then enrols a terminal with the right
// root.
func TestEnrolRootMismatchSpendsNothing(t *testing.T) {
	c := newEnrolCentre(t)
	other, _ := trust.GenerateRoot(nil, trust.KeyEd25519)
	otherPEM, _ := trust.MarshalPublicKey(other.Public())
	data := t.TempDir()
	if err := os.MkdirAll(filepath.Join(data, "trust"), 0o755); err != nil {
		t.Fatal(err)
	}
	// Pinned by the package, not given with --root.
	if err := os.WriteFile(filepath.Join(data, enrol.RootFile), otherPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	tk := c.ticket(t)
	code, _, errOut := runCmd(t, "enrol", "--token", tk.String(), "--data-dir", data)
	if code != exitRefused || !strings.Contains(errOut, "root-mismatch") || !strings.Contains(errOut, "not used") {
		t.Fatalf("got exit %d (%s), want 1 root-mismatch, token not used", code, errOut)
	}
	if ds, err := c.store.Enrolled(context.Background()); err != nil || len(ds) != 0 {
		t.Errorf("got devices %v (%v), want none registered", ds, err)
	}
	if code, _, errOut := runCmd(t, "enrol", "--token", tk.String(), "--data-dir", t.TempDir()); code != exitOK {
		t.Errorf("the same token afterwards: got exit %d (%s), want 0", code, errOut)
	}
}

// TestSelftestRevoked: a terminal whose daemon heard from the centre that
// it was revoked fails selftest, saying plainly that it was removed from
// service and whom to call; an enrolled one says which device it is.
func TestSelftestRevoked(t *testing.T) {
	newTestMachine(t)
	c := newEnrolCentre(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if code, _, errOut := runCmd(t, "enrol", "--token", c.ticket(t).String(), "--data-dir", data); code != exitOK {
		t.Fatalf("enrol: exit %d: %s", code, errOut)
	}
	cfg := writeFile(t, dir, "s.toml", fmt.Sprintf("data_dir = %q\n", data)+terminalHeader+"[[lane]]\nname = \"in\"\n  [lane.camera]\n  source = \"v4l2\"\n  device = \""+filepath.Join(dir, "video9")+"\"\n")
	_, out, _ := runCmd(t, "selftest", "--config", cfg, "--no-read")
	if !strings.Contains(out, "enrolment: device t-") {
		t.Errorf("enrolled: got\n%s\nwant the device named", out)
	}
	if err := enrol.MarkRevoked(data, enrol.Revocation{Device: "t-1", At: time.Now(), Message: "this terminal (t-1) was removed from service by the central office: call ops desk 555-0100"}); err != nil {
		t.Fatal(err)
	}
	code, out, _ := runCmd(t, "selftest", "--config", cfg, "--no-read")
	if code != exitRefused || !strings.Contains(out, "REMOVED FROM SERVICE") || !strings.Contains(out, "call the central office") || !strings.Contains(out, "ops desk 555-0100") {
		t.Errorf("revoked: got exit %d\n%s\nwant 1, removed from service, whom to call", code, out)
	}
}

// TestEnrolChecksConfiguredCentral: enrol says where the terminal syncs
// (the centre's device port), confirms a configuration whose [central] url
// says the same, warns when it says otherwise (such as the enrolment
// port) or cannot be read, and without a configuration says plainly that
// it checked none and how to (no "must say so" that reads like a fault).
func TestEnrolChecksConfiguredCentral(t *testing.T) {
	c := newEnrolCentre(t)
	lane := "[[lane]]\nname = \"in\"\n  [[lane.scanner]]\n  type = \"hid\"\n  device = \"/dev/input/event-fake\"\n"
	right := writeFile(t, t.TempDir(), "s.toml", terminalHeader+lane) // url = "https://central.example.org"
	wrong := writeFile(t, t.TempDir(), "s.toml", strings.Replace(terminalHeader, "https://central.example.org", "https://central.example.org:8444", 1)+lane)
	broken := writeFile(t, t.TempDir(), "s.toml", terminalHeader+"[[lane]]\nnmae = 3\n")
	missing := filepath.Join(t.TempDir(), "sentinel.toml")
	for _, tc := range []struct {
		cfg        string
		warn, want string // a line that warns ("" none), a line expected
	}{
		{right, "", "as [central] url in " + right + " says"},
		{wrong, "warning: " + wrong + ` has [central] url = "https://central.example.org:8444": write url = "https://central.example.org"`, ""},
		{broken, "warning: " + broken + " is not usable", "sentinelctl config check " + broken},
		{missing, "", "enrol found none at " + missing + " to check (give --config FILE to check yours)"},
	} {
		code, out, errOut := runCmd(t, "enrol", "--token", c.ticket(t).String(), "--data-dir", t.TempDir(), "--config", tc.cfg)
		if code != exitOK {
			t.Fatalf("exit %d: %s", code, errOut)
		}
		if !strings.Contains(out, "the terminal syncs with https://central.example.org, the centre's device address") ||
			strings.Contains(out, "warning: "+tc.cfg) != (tc.warn != "") || !strings.Contains(out, tc.warn) ||
			!strings.Contains(out, tc.want) || strings.Contains(out, "must say so") {
			t.Errorf("%s: got\n%s\nwant where it syncs, warning %q, and %q", tc.cfg, out, tc.warn, tc.want)
		}
	}
}

// TestEnrolAnswerLost: the centre enrolled the terminal but its answer
// was lost on the way (the installer's network dropped). The retry with
// the same token from the same terminal gets the answer again, whether
// enrol retries by itself or the installer runs it again after it gave
// up; the token stays spent for any other terminal. Before the fix both
// retries were refused token-used, and the installer needed a new token.
func TestEnrolAnswerLost(t *testing.T) {
	c := newEnrolCentre(t)

	// enrol's own retry after the lost answer.
	c.lose.Store(1)
	data := t.TempDir()
	code, out, errOut := runCmd(t, "enrol", "--central", c.srv.URL, "--token", c.token(t), "--data-dir", data, "--ca", c.caFile, "--json")
	if code != exitOK {
		t.Fatalf("enrol after a lost answer: exit %d: %s", code, errOut)
	}
	var got enrolOut
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if got.Attempts != 2 || got.Site != "north-gate" {
		t.Errorf("got %+v, want 2 attempts at north-gate", got)
	}
	if _, err := enrol.ClientTLSConfig(data); err != nil {
		t.Errorf("the written identity does not load: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, enrol.PendingKeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the pending key is still there after the install: %v", err)
	}
	devs, _ := c.store.Enrolled(context.Background())
	if len(devs) != 1 || devs[0].ID != got.Device {
		t.Errorf("registry holds %+v, want only device %s", devs, got.Device)
	}

	// The installer's run gives up while every answer is lost, and they
	// run the same command again.
	tok := c.token(t)
	data = t.TempDir()
	c.lose.Store(1000)
	code, _, errOut = runCmd(t, "enrol", "--central", c.srv.URL, "--token", tok, "--data-dir", data, "--ca", c.caFile, "--timeout", "300ms")
	if code != exitRefused || !strings.Contains(errOut, "then run enrol again") {
		t.Fatalf("enrol while the answers are lost: exit %d (%s), want 1 saying to run it again", code, errOut)
	}
	c.lose.Store(0)
	code, out, errOut = runCmd(t, "enrol", "--central", c.srv.URL, "--token", tok, "--data-dir", data, "--ca", c.caFile, "--json")
	if code != exitOK {
		t.Fatalf("enrol run again after the lost answers: exit %d: %s", code, errOut)
	}
	var again enrolOut
	if err := json.Unmarshal([]byte(out), &again); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	devs, _ = c.store.Enrolled(context.Background())
	if len(devs) != 2 || devs[1].ID != again.Device {
		t.Errorf("registry holds %+v, want a second device %s and no other", devs, again.Device)
	}

	// Another terminal (another key) with the spent token is refused,
	// and told what to do.
	code, _, errOut = runCmd(t, "enrol", "--central", c.srv.URL, "--token", tok, "--data-dir", t.TempDir(), "--ca", c.caFile)
	if code != exitRefused || !strings.Contains(errOut, "token-used") || !strings.Contains(errOut, "another terminal") || !strings.Contains(errOut, "ask ops for a new token") {
		t.Errorf("the spent token from another terminal: exit %d (%s), want 1 token-used by another terminal, ask ops", code, errOut)
	}
}
