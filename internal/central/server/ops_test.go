package server

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/boltstore"
)

// TestOpsListener serves an operator handler on a listener of its own,
// over TLS with the server certificate from the device CA.
func TestOpsListener(t *testing.T) {
	data := t.TempDir()
	st, err := boltstore.Open(filepath.Join(data, StoreFile), &boltstore.Options{NoSync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	root, err := trust.GenerateRoot(nil, trust.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Listen, cfg.EnrolListen, cfg.OpsListen = data, "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
	cfg.Root, cfg.Store = root.Public(), st
	cfg.Ops = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ops:"+r.URL.Path) })
	s, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if s.OpsAddr() != nil {
		t.Errorf("got an ops address before Start, want nil")
	}
	if err := s.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	addr := s.OpsAddr()
	if addr == nil {
		t.Fatal("got no ops address after Start")
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: caPool(t, data)}}}
	resp, err := hc.Get("https://" + addr.String() + "/v1/ops/devices")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(body) != "ops:/v1/ops/devices" {
		t.Errorf("got %q, want the ops handler's answer", body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := hc.Get("https://" + addr.String() + "/"); err == nil {
		t.Error("the ops listener still answers after Shutdown")
	}
}

func TestOpsListenValidate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Root, cfg.Store = "d", nil, nil
	cfg.Ops = http.NotFoundHandler()
	for _, tc := range []struct{ name, listen string }{
		{"not an address", "8445"},
		{"taken", cfg.Listen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.OpsListen = tc.listen
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "ops listen") {
				t.Errorf("got %v, want an ops listen error", err)
			}
		})
	}
}

// The metrics need a listener of their own: never one terminals or
// operators reach.
func TestMetricsListenValidate(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DataDir, cfg.Root, cfg.Store = "d", nil, nil
	cfg.OpsListen, cfg.Ops = "127.0.0.1:8445", http.NotFoundHandler()
	for _, tc := range []struct{ name, listen string }{
		{"not an address", "9109"},
		{"the device listener", cfg.Listen},
		{"the enrolment listener", cfg.EnrolListen},
		{"the ops listener", cfg.OpsListen},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := cfg
			c.MetricsListen = tc.listen
			if err := c.Validate(); err == nil || !strings.Contains(err.Error(), "metrics listen") {
				t.Errorf("got %v, want a metrics listen error", err)
			}
		})
	}
}
