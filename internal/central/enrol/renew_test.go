package enrol_test

import (
	"context"
	"errors"
	"io"
	"log"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sentinel/internal/central/enrol"
	syncenrol "sentinel/sync/enrol"
)

func TestRenew(t *testing.T) {
	c := newCentre(t)
	rh := &enrol.RenewHandler{CA: c.ca, Store: c.store, Now: func() time.Time { return c.now }, Logger: slog.New(slog.DiscardHandler)}
	srv := httptest.NewUnstartedServer(rh)
	cert, err := c.ca.IssueServer([]string{"127.0.0.1"}, time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	srv.TLS = enrol.ServerTLSConfig(c.ca, cert)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)

	dir := t.TempDir()
	in := c.enrolInto(t, dir, c.token(t, "s", time.Hour))
	keyBefore, _ := os.ReadFile(filepath.Join(dir, syncenrol.KeyFile))

	due, until, err := syncenrol.RenewDue(dir, t0.Add(15*24*time.Hour))
	if err != nil || due || !until.Equal(in.NotAfter) {
		t.Errorf("after 15 days: got due %v until %v (%v), want not due until %v", due, until, err, in.NotAfter)
	}
	if due, _, _ := syncenrol.RenewDue(dir, t0.Add(21*24*time.Hour)); !due {
		t.Error("after 21 of 30 days: not due, want due")
	}

	c.now = t0.Add(21 * 24 * time.Hour)
	notAfter, err := syncenrol.Renew(context.Background(), dir, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if want := c.now.Add(enrol.DefaultCertTTL); !notAfter.Equal(want) {
		t.Errorf("got new expiry %v, want %v", notAfter, want)
	}
	if due, until, _ := syncenrol.RenewDue(dir, c.now); due || !until.Equal(notAfter) {
		t.Errorf("after renewal: got due %v until %v, want not due until %v", due, until, notAfter)
	}
	keyAfter, _ := os.ReadFile(filepath.Join(dir, syncenrol.KeyFile))
	if string(keyAfter) != string(keyBefore) {
		t.Error("renewal replaced the key")
	}
	ds, _ := c.store.Enrolled(context.Background())
	if len(ds) != 1 || !ds[0].NotAfter.Equal(notAfter) {
		t.Errorf("got devices %+v, want the new expiry %v recorded", ds, notAfter)
	}
	if _, err := syncenrol.ClientTLSConfig(dir); err != nil {
		t.Errorf("renewed identity does not load: %v", err)
	}

	// A revoked device cannot renew: refused with device-revoked, cert.pem
	// left alone.
	if err := c.store.RevokeDevice(context.Background(), in.Device, c.now); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, syncenrol.CertFile))
	c.now = c.now.Add(21 * 24 * time.Hour)
	_, err = syncenrol.Renew(context.Background(), dir, srv.URL)
	var re *syncenrol.RefusedError
	if err == nil || errors.As(err, &re) {
		t.Errorf("revoked: got %v, want a refused handshake", err)
	}
	after, _ := os.ReadFile(filepath.Join(dir, syncenrol.CertFile))
	if string(after) != string(before) {
		t.Error("a refused renewal changed cert.pem")
	}
}
