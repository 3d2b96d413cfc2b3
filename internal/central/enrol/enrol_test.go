package enrol_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/atomicfile"
	"sentinel/internal/central/enrol"
	"sentinel/internal/central/memstore"
	syncenrol "sentinel/sync/enrol"
	"sentinel/sync/server/servertest"
)

func TestMain(m *testing.M) {
	servertest.RefuseNonLoopback()
	os.Exit(m.Run())
}

// t0 is the tests' clock at the centre. It is today: the TLS handshakes
// check certificates against the real clock.
var t0 = time.Now().UTC().Truncate(time.Second)

// centre is a device CA, a token store and an enrolment server on
// loopback TLS.
type centre struct {
	dir     string
	ca      *enrol.CA
	store   *memstore.Store
	root    crypto.Signer
	now     time.Time
	h       *enrol.Handler
	srv     *httptest.Server
	bundles map[trust.Kind][]byte
}

func newCentre(t *testing.T) *centre {
	t.Helper()
	c := &centre{dir: t.TempDir(), now: t0}
	var err error
	if c.ca, err = enrol.LoadCA(c.dir, true, t0); err != nil {
		t.Fatal(err)
	}
	c.store = memstore.New(nil)
	if c.root, err = trust.GenerateRoot(nil, trust.KeyEd25519); err != nil {
		t.Fatal(err)
	}
	b, err := trust.SealBundle(c.root, nil, trust.Bundle{
		Kind: trust.KindConfig, Version: 3, IssuedAt: t0.Add(-time.Hour),
		FreshUntil: t0.Add(24 * time.Hour), GraceUntil: t0.Add(48 * time.Hour), Payload: []byte{0xa0},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.bundles = map[trust.Kind][]byte{trust.KindConfig: b}
	c.h = &enrol.Handler{
		CA: c.ca, Store: c.store, Root: c.root.Public(),
		Bundles: func() (map[trust.Kind][]byte, error) { return c.bundles, nil },
		Now:     func() time.Time { return c.now },
		Logger:  slog.New(slog.DiscardHandler),
	}
	c.srv = httptest.NewUnstartedServer(c.h)
	cert, err := c.ca.IssueServer([]string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	// The enrolment listener takes no client certificate.
	c.srv.TLS = &tls.Config{MinVersion: tls.VersionTLS13, Certificates: []tls.Certificate{cert}}
	c.srv.StartTLS()
	t.Cleanup(c.srv.Close)
	return c
}

func (c *centre) client() *http.Client {
	return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.ca.Pool(), MinVersion: tls.VersionTLS13}}}
}

func (c *centre) token(t *testing.T, site string, ttl time.Duration) string {
	t.Helper()
	v, tok, err := enrol.NewToken(site, c.now, ttl)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.store.AddEnrolToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	return v
}

func (c *centre) devices(t *testing.T) int {
	t.Helper()
	ds, err := c.store.Enrolled(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return len(ds)
}

// enrolInto enrols a terminal with data directory dir and returns what
// Install wrote.
func (c *centre) enrolInto(t *testing.T, dir, token string) *syncenrol.Installed {
	t.Helper()
	req, key, err := syncenrol.NewRequest(token)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := syncenrol.Post(context.Background(), c.client(), c.srv.URL, req)
	if err != nil {
		t.Fatal(err)
	}
	in, err := syncenrol.Install(dir, key, resp, nil)
	if err != nil {
		t.Fatal(err)
	}
	return in
}

func TestEnrolInstall(t *testing.T) {
	c := newCentre(t)
	dir := t.TempDir()
	in := c.enrolInto(t, dir, c.token(t, "north-gate", time.Hour))
	if in.Site != "north-gate" || !strings.HasPrefix(in.Device, "t-") {
		t.Errorf("got site %q device %q, want north-gate and t-…", in.Site, in.Device)
	}
	if got, want := in.NotAfter, t0.Add(enrol.DefaultCertTTL); !got.Equal(want) {
		t.Errorf("got not after %v, want %v", got, want)
	}
	if len(in.Bundles) != 1 || in.Bundles[0] != "config" {
		t.Errorf("got bundles %v, want [config]", in.Bundles)
	}
	for _, f := range []string{syncenrol.RootFile, syncenrol.KeyFile, syncenrol.CertFile, syncenrol.CAFile, "bundles/config.bundle"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		if f == syncenrol.KeyFile && st.Mode().Perm() != 0o600 {
			t.Errorf("got key mode %v, want 0600", st.Mode().Perm())
		}
	}
	got, _ := os.ReadFile(filepath.Join(dir, "bundles/config.bundle"))
	if !bytes.Equal(got, c.bundles[trust.KindConfig]) {
		t.Error("config bundle differs from the centre's")
	}
	pinned, err := os.ReadFile(filepath.Join(dir, syncenrol.RootFile))
	if err != nil {
		t.Fatal(err)
	}
	k, err := trust.ParsePublicKey(pinned)
	if err != nil || !k.(interface{ Equal(crypto.PublicKey) bool }).Equal(c.root.Public()) {
		t.Errorf("pinned root is not the operator root (%v)", err)
	}
	ds, _ := c.store.Enrolled(context.Background())
	if len(ds) != 1 || ds[0].ID != in.Device || ds[0].Site != "north-gate" {
		t.Errorf("got devices %+v, want one %s at north-gate", ds, in.Device)
	}
	if _, err := syncenrol.ClientTLSConfig(dir); err != nil {
		t.Errorf("ClientTLSConfig after enrolment: %v", err)
	}
}

// Every bad enrolment is refused with its own code, and nothing is issued
// or stored.
func TestEnrolRefused(t *testing.T) {
	c := newCentre(t)
	used := c.token(t, "s", time.Hour)
	c.enrolInto(t, t.TempDir(), used)
	expired := c.token(t, "s", time.Minute)
	fresh := c.token(t, "s", time.Hour)
	req, _, err := syncenrol.NewRequest(fresh)
	if err != nil {
		t.Fatal(err)
	}
	good, _ := json.Marshal(req)
	badSig := *req
	badSig.CSR = append([]byte(nil), req.CSR...)
	badSig.CSR[len(badSig.CSR)-3] ^= 0xff
	body := func(token string, csr []byte) []byte {
		b, _ := json.Marshal(syncenrol.Request{Token: token, CSR: csr})
		return b
	}
	unknown, _, _ := enrol.NewToken("s", t0, time.Hour)
	cases := []struct {
		name   string
		body   []byte
		later  time.Duration
		status int
		code   string
	}{
		{"unknown token", body(unknown, req.CSR), 0, 403, "token-unknown"},
		{"reused token", body(used, req.CSR), 0, 403, "token-used"},
		{"expired token", body(expired, req.CSR), 2 * time.Minute, 403, "token-expired"},
		{"bad CSR signature", body(fresh, badSig.CSR), 0, 400, "malformed"},
		{"not JSON", []byte("token=" + fresh), 0, 400, "malformed"},
		{"unknown field", []byte(`{"token":"` + fresh + `","csr":"","device":"x"}`), 0, 400, "malformed"},
		{"oversized", append(good[:len(good)-1], []byte(`,"pad":"`+strings.Repeat("A", enrol.MaxRequest)+`"}`)...), 0, 413, "too-large"},
	}
	before := c.devices(t)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c.now = t0.Add(tc.later)
			defer func() { c.now = t0 }()
			resp, err := c.client().Post(c.srv.URL+enrol.Path, "application/json", bytes.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var r syncenrol.Refusal
			b, _ := io.ReadAll(resp.Body)
			if err := json.Unmarshal(b, &r); err != nil {
				t.Fatalf("answer %q: %v", b, err)
			}
			if resp.StatusCode != tc.status || r.Code != tc.code {
				t.Errorf("got %d %s (%s), want %d %s", resp.StatusCode, r.Code, r.Message, tc.status, tc.code)
			}
			if got := c.devices(t); got != before {
				t.Errorf("got %d devices, want %d: a refused request enrolled one", got, before)
			}
		})
	}
	// The fresh token survived every refusal above and still enrols once.
	resp, err := syncenrol.Post(context.Background(), c.client(), c.srv.URL, req)
	if err != nil {
		t.Fatalf("fresh token after refusals: %v", err)
	}
	if resp.Device == "" {
		t.Error("no device id")
	}
	// A second use by another terminal (another key) is refused.
	other, _, err := syncenrol.NewRequest(req.Token)
	if err != nil {
		t.Fatal(err)
	}
	_, err = syncenrol.Post(context.Background(), c.client(), c.srv.URL, other)
	var re *syncenrol.RefusedError
	if !errors.As(err, &re) || re.Code != "token-used" {
		t.Errorf("second use: got %v, want a token-used refusal", err)
	}
}

// A root pinned by the package that differs from the centre's is refused
// and nothing is written.
func TestInstallRootMismatch(t *testing.T) {
	c := newCentre(t)
	dir := t.TempDir()
	other, _ := trust.GenerateRoot(nil, trust.KeyEd25519)
	otherPEM, _ := trust.MarshalPublicKey(other.Public())
	if err := atomicfile.WriteFile(filepath.Join(dir, syncenrol.RootFile), otherPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	req, key, _ := syncenrol.NewRequest(c.token(t, "s", time.Hour))
	resp, err := syncenrol.Post(context.Background(), c.client(), c.srv.URL, req)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := syncenrol.Install(dir, key, resp, nil); !errors.Is(err, enrol.ErrRootMismatch) {
		t.Fatalf("got %v, want ErrRootMismatch", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "device")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("device/ was written after a refused answer (%v)", err)
	}
	got, _ := os.ReadFile(filepath.Join(dir, syncenrol.RootFile))
	if !bytes.Equal(got, otherPEM) {
		t.Error("the pinned root was overwritten")
	}
	// An answer for another key is refused too.
	otherKey, _ := trust.GenerateKey(nil, trust.KeyP256)
	os.Remove(filepath.Join(dir, syncenrol.RootFile))
	if _, err := syncenrol.Install(dir, otherKey, resp, nil); !errors.Is(err, syncenrol.ErrAnswer) {
		t.Errorf("answer for another key: got %v, want ErrAnswer", err)
	}
}

// failingStore is a registry whose next EnrolDevice fails as a full disk
// or a lost database would, its transaction rolled back.
type failingStore struct {
	enrol.Store
	fail atomic.Int32
}

func (s *failingStore) EnrolDevice(ctx context.Context, h enrol.TokenHash, d enrol.Device, now time.Time) (enrol.Device, error) {
	if s.fail.Add(-1) >= 0 {
		return enrol.Device{}, errors.New("write enrolled: no space left on device")
	}
	return s.Store.EnrolDevice(ctx, h, d, now)
}

// TestEnrolStoreFailureKeepsToken: when the registry cannot record the
// enrolment, the installer's terminal is told to try again (503-class, which
// it retries), the token stays unspent and no device is registered; the
// retry of the same request enrols, a retry after that is answered again,
// and another key with the token is token-used.
func TestEnrolStoreFailureKeepsToken(t *testing.T) {
	c := newCentre(t)
	fs := &failingStore{Store: c.store}
	fs.fail.Store(1)
	c.h.Store = fs
	v := c.token(t, "SM-1", time.Hour)
	req, _, err := syncenrol.NewRequest(v)
	if err != nil {
		t.Fatal(err)
	}
	_, err = syncenrol.Post(context.Background(), c.client(), c.srv.URL, req)
	var un *syncenrol.UnavailableError
	if !errors.As(err, &un) || !strings.Contains(err.Error(), "try again later") {
		t.Fatalf("enrolment while the registry fails: got %v, want an unavailable centre (retried by the terminal)", err)
	}
	ts, err := c.store.EnrolTokens(context.Background())
	if err != nil || len(ts) != 1 || ts[0].Used {
		t.Fatalf("token after the failure: got %+v, %v; want it unspent", ts, err)
	}
	if n := c.devices(t); n != 0 {
		t.Fatalf("got %d devices after the failure, want none", n)
	}
	resp, err := syncenrol.Post(context.Background(), c.client(), c.srv.URL, req)
	if err != nil {
		t.Fatalf("retry after the failure: %v", err)
	}
	ds, err := c.store.Enrolled(context.Background())
	if err != nil || len(ds) != 1 || ds[0].ID != resp.Device || ds[0].Site != "SM-1" {
		t.Fatalf("devices after the retry: got %+v, %v; want only %s of SM-1", ds, err, resp.Device)
	}
	// The same request again (its answer lost) is answered again; another
	// key with the spent token is refused.
	again, err := syncenrol.Post(context.Background(), c.client(), c.srv.URL, req)
	if err != nil || again.Device != resp.Device {
		t.Errorf("the same request after it enrolled: got %+v, %v; want device %s again", again, err, resp.Device)
	}
	other, _, err := syncenrol.NewRequest(v)
	if err != nil {
		t.Fatal(err)
	}
	_, err = syncenrol.Post(context.Background(), c.client(), c.srv.URL, other)
	var re *syncenrol.RefusedError
	if !errors.As(err, &re) || re.Code != "token-used" {
		t.Errorf("another key after it enrolled: got %v, want a token-used refusal", err)
	}
	if n := c.devices(t); n != 1 {
		t.Errorf("got %d devices, want 1", n)
	}
}

// TestEnrolRetryAnsweredAgain: the same request (token and key) is
// answered again while the token is valid, for the same device and a
// certificate the registry records; not once the token expired, nor for a
// revoked device, nor for another key.
func TestEnrolRetryAnsweredAgain(t *testing.T) {
	c := newCentre(t)
	post := func(req *syncenrol.Request) (*syncenrol.Response, error) {
		return syncenrol.Post(context.Background(), c.client(), c.srv.URL, req)
	}
	req, _, err := syncenrol.NewRequest(c.token(t, "north-gate", time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	first, err := post(req)
	if err != nil {
		t.Fatal(err)
	}
	c.now = c.now.Add(10 * time.Minute)
	second, err := post(req)
	if err != nil {
		t.Fatalf("the retry of the same request: %v", err)
	}
	if second.Device != first.Device || second.Site != "north-gate" || c.devices(t) != 1 {
		t.Errorf("retry answered device %s at %s with %d devices, want %s at north-gate, 1 device", second.Device, second.Site, c.devices(t), first.Device)
	}
	cert, err := syncenrol.ParseCertificatePEM(second.Cert)
	if err != nil {
		t.Fatal(err)
	}
	d, _, _ := c.store.EnrolledDevice(context.Background(), first.Device)
	if d.Serial != cert.SerialNumber.Text(16) {
		t.Errorf("registry records serial %s, want the retry's %s", d.Serial, cert.SerialNumber.Text(16))
	}

	refused := func(name string, req *syncenrol.Request, want string) {
		t.Helper()
		_, err := post(req)
		var r *syncenrol.RefusedError
		if !errors.As(err, &r) || r.Code != syncenrol.CodeTokenUsed || !strings.Contains(r.Message, want) {
			t.Errorf("%s: got %v, want token-used saying %q", name, err, want)
		}
	}
	other, _, _ := syncenrol.NewRequest(req.Token)
	refused("another key", other, "another terminal")

	c.now = c.now.Add(time.Hour)
	refused("token expired", req, "the token expired")

	c.now = t0
	revReq, _, _ := syncenrol.NewRequest(c.token(t, "north-gate", time.Hour))
	rev, err := post(revReq)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.store.RevokeDevice(context.Background(), rev.Device, c.now); err != nil {
		t.Fatal(err)
	}
	refused("revoked", revReq, "revoked")
}
