package enrol_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"testing"
	"time"

	"sentinel/internal/central/enrol"
	syncenrol "sentinel/sync/enrol"
	"sentinel/sync/journal"
	"sentinel/sync/protocol"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

// syncCentre is the sync upload behind enrol.ServerTLSConfig and
// server.TLSAuthenticator, on loopback.
type syncCentre struct {
	*centre
	mem *servertest.Mem
	up  *httptest.Server
}

func newSyncCentre(t *testing.T) *syncCentre {
	t.Helper()
	s := &syncCentre{centre: newCentre(t), mem: servertest.NewMem()}
	h, err := server.New(server.Options{
		Store: s.mem, Auth: server.TLSAuthenticator{}, Rate: 1e6, Burst: 1e6,
		Logger: slog.New(slog.DiscardHandler),
	})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := s.ca.IssueServer([]string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	s.up = httptest.NewUnstartedServer(&enrol.Guard{Rev: enrol.Revocations{Registry: s.store}, Next: h, Logger: slog.New(slog.DiscardHandler)})
	s.up.TLS = enrol.ServerTLSConfig(s.ca, cert)
	s.up.Config.ErrorLog = log.New(io.Discard, "", 0) // refused handshakes are the point
	s.up.StartTLS()
	t.Cleanup(s.up.Close)
	return s
}

// upload posts records 1..n of j as device claim over a client with cfg.
func (s *syncCentre) upload(t *testing.T, cfg *tls.Config, claim string, j *journal.Journal, n int) (int, error) {
	t.Helper()
	recs := servertest.Stored(t, j, 1, journal.Seq(n))
	body, err := protocol.EncodeUpload(&protocol.Upload{Device: claim, Epoch: j.Epoch(), First: 1, Prev: journal.Genesis(j.Epoch()), Records: recs})
	if err != nil {
		t.Fatal(err)
	}
	c := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	defer c.CloseIdleConnections()
	resp, err := c.Post(s.up.URL+protocol.UploadPath(protocol.Version), protocol.UploadType, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	resp.Body.Close()
	return resp.StatusCode, nil
}

// Security tests of device calls: only an enrolled, unrevoked device gets
// through, under its own identity only.
func TestMutualTLS(t *testing.T) {
	s := newSyncCentre(t)
	j := servertest.Journal(t, 20)
	dirA, dirB := t.TempDir(), t.TempDir()
	a := s.enrolInto(t, dirA, s.token(t, "north", time.Hour))
	b := s.enrolInto(t, dirB, s.token(t, "south", time.Hour))
	cfgA, err := syncenrol.ClientTLSConfig(dirA)
	if err != nil {
		t.Fatal(err)
	}
	cfgB, err := syncenrol.ClientTLSConfig(dirB)
	if err != nil {
		t.Fatal(err)
	}

	// A terminal of another centre: a certificate of another CA.
	foreign := newCentre(t)
	dirF := t.TempDir()
	foreign.enrolInto(t, dirF, foreign.token(t, "x", time.Hour))
	cfgF, err := syncenrol.ClientTLSConfig(dirF)
	if err != nil {
		t.Fatal(err)
	}
	cfgF.RootCAs = s.ca.Pool() // it trusts our server; we must not trust it

	noCert := cfgA.Clone()
	noCert.Certificates = nil
	tls12 := cfgA.Clone()
	tls12.MinVersion, tls12.MaxVersion = tls.VersionTLS12, tls.VersionTLS12

	t.Run("enrolled device uploads", func(t *testing.T) {
		status, err := s.upload(t, cfgA, a.Device, j, 5)
		if err != nil || status != http.StatusOK {
			t.Fatalf("got %d, %v, want 200", status, err)
		}
		if got := s.mem.Count(a.Device, j.Epoch()); got != 5 {
			t.Errorf("got %d records stored, want 5", got)
		}
	})
	t.Run("another's identity", func(t *testing.T) {
		// B claims to be A: the certificate says B, so it is refused and
		// nothing is stored under either.
		status, err := s.upload(t, cfgB, a.Device, j, 10)
		if err != nil {
			t.Fatal(err)
		}
		if status != http.StatusForbidden {
			t.Errorf("got %d, want 403", status)
		}
		if got := s.mem.Count(a.Device, j.Epoch()); got != 5 {
			t.Errorf("got %d records of A, want 5", got)
		}
		if got := s.mem.Count(b.Device, j.Epoch()); got != 0 {
			t.Errorf("got %d records of B, want 0", got)
		}
	})
	refused := []struct {
		name string
		cfg  *tls.Config
	}{
		{"no client certificate", noCert},
		{"certificate of another CA", cfgF},
		{"TLS 1.2", tls12},
	}
	for _, tc := range refused {
		t.Run(tc.name, func(t *testing.T) {
			calls := s.mem.Calls()
			status, err := s.upload(t, tc.cfg, a.Device, j, 20)
			if err == nil {
				t.Fatalf("got %d, want a refused handshake", status)
			}
			if s.mem.Calls() != calls {
				t.Error("the store was called")
			}
		})
	}
	t.Run("revoked device", func(t *testing.T) {
		if err := s.store.RevokeDevice(context.Background(), b.Device, t0); err != nil {
			t.Fatal(err)
		}
		calls := s.mem.Calls()
		// Refused with an answer the terminal can read, not at the
		// handshake.
		status, err := s.upload(t, cfgB, b.Device, j, 20)
		if err != nil || status != http.StatusForbidden {
			t.Fatalf("got %d, %v, want 403", status, err)
		}
		if s.mem.Calls() != calls || s.mem.Count(b.Device, j.Epoch()) != 0 {
			t.Error("a revoked device reached the store")
		}
		// A is not affected.
		if status, err := s.upload(t, cfgA, a.Device, j, 20); err != nil || status != http.StatusOK {
			t.Errorf("A after B's revocation: got %d, %v, want 200", status, err)
		}
	})
	t.Run("revoke unknown device", func(t *testing.T) {
		if err := s.store.RevokeDevice(context.Background(), "t-nope", t0); !errors.Is(err, enrol.ErrUnknownDevice) {
			t.Errorf("got %v, want ErrUnknownDevice", err)
		}
	})
}

// TestRevokeOpenConnection revokes a device, from another process's view
// of the store as `devices revoke` does, while its kept-alive connection
// is open: the very next request on that connection is refused with 403
// device-revoked, and the connection is closed after the answer.
func TestRevokeOpenConnection(t *testing.T) {
	s := newSyncCentre(t)
	j := servertest.Journal(t, 10)
	dir := t.TempDir()
	in := s.enrolInto(t, dir, s.token(t, "north", time.Hour))
	cfg, err := syncenrol.ClientTLSConfig(dir)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: cfg}}
	defer hc.CloseIdleConnections()
	post := func(n int) (*http.Response, bool) {
		t.Helper()
		recs := servertest.Stored(t, j, 1, journal.Seq(n))
		body, err := protocol.EncodeUpload(&protocol.Upload{Device: in.Device, Epoch: j.Epoch(), First: 1, Prev: journal.Genesis(j.Epoch()), Records: recs})
		if err != nil {
			t.Fatal(err)
		}
		var reused bool
		ctx := httptrace.WithClientTrace(context.Background(), &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused }})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, s.up.URL+protocol.UploadPath(protocol.Version), bytes.NewReader(body))
		req.Header.Set("Content-Type", protocol.UploadType)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp, reused
	}
	if resp, _ := post(3); resp.StatusCode != http.StatusOK {
		t.Fatalf("before revocation: got %d, want 200", resp.StatusCode)
	}
	if err := s.store.RevokeDevice(context.Background(), in.Device, t0); err != nil { // as the CLI does
		t.Fatal(err)
	}
	calls := s.mem.Calls()
	resp, reused := post(6)
	if !reused {
		t.Fatal("the second upload did not reuse the open connection: the test proves nothing")
	}
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get(syncenrol.RefusalHeader) != syncenrol.CodeRevoked {
		t.Errorf("on the open connection: got %d %s=%q, want 403 %s", resp.StatusCode, syncenrol.RefusalHeader, resp.Header.Get(syncenrol.RefusalHeader), syncenrol.CodeRevoked)
	}
	if s.mem.Calls() != calls || s.mem.Count(in.Device, j.Epoch()) != 3 {
		t.Error("an upload after the revocation reached the store")
	}
	if _, reused := post(6); reused {
		t.Error("the connection was kept open after the refusal")
	}
}
