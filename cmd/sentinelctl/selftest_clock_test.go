package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/boltstore"
	centralenrol "sentinel/internal/central/enrol"
	"sentinel/internal/central/server"
	termclock "sentinel/internal/clock"
	"sentinel/sync/enrol"
)

// fakeTimeProbe is a clock trusted by NTP, or not: then trusted once the
// centre's signed time arrives, as a Monitor is.
type fakeTimeProbe struct {
	mu        sync.Mutex
	ntp       bool
	signed    bool
	code, why string
}

func (p *fakeTimeProbe) State() termclock.State {
	p.mu.Lock()
	defer p.mu.Unlock()
	switch {
	case p.ntp:
		return termclock.State{Trusted: true, Source: termclock.SourceNTP, MaxError: 5 * time.Millisecond}
	case p.signed:
		return termclock.State{Trusted: true, Source: termclock.SourceCentral, MaxError: time.Second}
	}
	why := "NTP is not synchronised; no signed time from the central system yet"
	if p.why != "" {
		why = "NTP is not synchronised; " + p.why
	}
	return termclock.State{Source: termclock.SourceNone, Code: p.code, Reason: why}
}

func (p *fakeTimeProbe) ObserveSignedTime(time.Time, time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.signed, p.code, p.why = true, "", ""
}

func (p *fakeTimeProbe) SignedTimeUnavailable(code, why string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.code, p.why = code, why
}

// clockCentre runs a real central server, with or without a time key, and
// enrols a terminal data directory with it.
func clockCentre(t *testing.T, signs bool) (url, dataDir string) {
	t.Helper()
	data := t.TempDir()
	st, err := boltstore.Open(filepath.Join(data, server.StoreFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	root, err := trust.GenerateRoot(nil, trust.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.DataDir, cfg.Root, cfg.Store = data, root.Public(), st
	cfg.Listen, cfg.EnrolListen, cfg.Hosts = "127.0.0.1:0", "127.0.0.1:0", []string{"127.0.0.1"}
	if signs {
		cfg.TimeKey = root
	}
	srv, err := server.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := srv.Start(context.Background()); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Stop() })
	dev, en := srv.Addrs()

	v, tok, err := centralenrol.NewToken("north-gate", time.Now(), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if err := st.AddEnrolToken(context.Background(), tok); err != nil {
		t.Fatal(err)
	}
	caPEM, err := os.ReadFile(filepath.Join(data, centralenrol.CACertFile))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	hc := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS13}}}
	defer hc.CloseIdleConnections()
	req, key, err := enrol.NewRequest(v)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := enrol.Post(context.Background(), hc, "https://"+en.String(), req)
	if err != nil {
		t.Fatal(err)
	}
	term := t.TempDir()
	if _, err := enrol.Install(term, key, resp, nil); err != nil {
		t.Fatal(err)
	}
	return "https://" + dev.String(), term
}

// TestSelftestClock: selftest says whether the clock can be trusted and,
// when not, why and what to do; it asks an enrolled terminal's centre for
// its signed time. Before, selftest said nothing about the clock, and the
// guard saw only "CLOCK NOT SET".
func TestSelftestClock(t *testing.T) {
	signing, signingData := clockCentre(t, true)
	silent, silentData := clockCentre(t, false)
	removed, removedData := clockCentre(t, true)
	if err := enrol.MarkRevoked(removedData, enrol.Revocation{Device: "t-0123456789abcdef", At: time.Now(), Message: "removed from service"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, url, data string
		code            int
		want            []string
	}{
		{"centre signs its time", signing, signingData, exitOK, []string{"clock ok trusted (central"}},
		{"centre does not sign its time", silent, silentData, exitRefused, []string{"clock FAIL untrusted: NTP is not synchronised", "the central system does not sign its time", "serve with --key and --delegation"}},
		{"centre unreachable", "https://127.0.0.1:1", signingData, exitRefused, []string{"clock FAIL untrusted: NTP is not synchronised", "unreachable", "[central] url"}},
		{"not enrolled", signing, t.TempDir(), exitRefused, []string{"clock FAIL untrusted: NTP is not synchronised", "not enrolled", "sentinelctl enrol"}},
		// A revoked terminal: the centre answers it nothing, so the
		// network and the URL are not what to check.
		{"revoked", removed, removedData, exitRefused, []string{"clock FAIL untrusted: NTP is not synchronised", "no longer answers this terminal", "enrol it again"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := newTestMachine(t)
			m.probe = &fakeTimeProbe{}
			m.hidCodes <- "HCN1:x"
			cfg := writeFile(t, t.TempDir(), "s.toml", fmt.Sprintf("data_dir = %q\n[terminal]\nid = \"T1\"\nsite_id = \"S1\"\n[central]\nurl = %q\n", tc.data, tc.url)+
				"[[lane]]\nname = \"in\"\n  [[lane.scanner]]\n  type = \"hid\"\n  device = \"/dev/input/event-fake\"\n")
			code, out, errOut := runCmd(t, "selftest", "--config", cfg, "--no-read")
			if code != tc.code {
				t.Errorf("got exit %d, want %d\n%s\n%s", code, tc.code, out, errOut)
			}
			flat := strings.Join(strings.Fields(out), " ")
			for _, w := range tc.want {
				if !strings.Contains(flat, w) {
					t.Errorf("output lacks %q:\n%s", w, out)
				}
			}
			if tc.name == "revoked" && strings.Contains(flat, "[central] url") {
				t.Errorf("a revoked terminal is told to check its [central] url:\n%s", out)
			}
		})
	}
}
