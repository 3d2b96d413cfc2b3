package enrol_test

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"sentinel/internal/central/enrol"
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
	s.up = httptest.NewUnstartedServer(h)
	s.up.TLS = enrol.ServerTLSConfig(s.ca, cert, s.store)
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
	cfgA, err := enrol.ClientTLSConfig(dirA)
	if err != nil {
		t.Fatal(err)
	}
	cfgB, err := enrol.ClientTLSConfig(dirB)
	if err != nil {
		t.Fatal(err)
	}

	// A terminal of another centre: a certificate of another CA.
	foreign := newCentre(t)
	dirF := t.TempDir()
	foreign.enrolInto(t, dirF, foreign.token(t, "x", time.Hour))
	cfgF, err := enrol.ClientTLSConfig(dirF)
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
		if err := s.store.Revoke(b.Device, t0); err != nil {
			t.Fatal(err)
		}
		calls := s.mem.Calls()
		status, err := s.upload(t, cfgB, b.Device, j, 20)
		if err == nil {
			t.Fatalf("got %d, want a refused handshake", status)
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
		if err := s.store.Revoke("t-nope", t0); !errors.Is(err, enrol.ErrUnknownDevice) {
			t.Errorf("got %v, want ErrUnknownDevice", err)
		}
	})
}
