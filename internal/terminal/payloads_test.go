package terminal

import (
	"bytes"
	"crypto/x509"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	"sentinel/internal/gate"
	"sentinel/internal/siteconfig"
)

// TestPublishedPayloadsInstall publishes what ops write with our tools (the
// signed bundle trust build makes, a site settings file started from
// `config example` with a guard block from `config pin`, a default policy
// source file) through the centre's repository, puts the published files
// where sync writes them, and loads them with the daemon's loader: the
// terminal has its trust, site settings and rules, all fresh (the display
// shows them, not NONE), and the guard's PIN overrides.
func TestPublishedPayloadsInstall(t *testing.T) {
	now := time.Now()
	root, err := trust.GenerateRoot(nil, trust.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := trust.GenerateKey(nil, trust.KeyP256)
	if err != nil {
		t.Fatal(err)
	}
	d, err := trust.Delegate(root, signer.Public(), trust.Kinds(), now.Add(-time.Hour), now.Add(90*24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}

	// What `trust build` writes: a signed trust bundle.
	issuer, err := trust.GenerateKey(nil, trust.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(issuer.Public())
	if err != nil {
		t.Fatal(err)
	}
	at := now.Add(-time.Minute).Truncate(time.Second)
	trustFile, err := trust.BuildTrustBundle(signer, d, trust.Bundle{Version: 7, IssuedAt: at, FreshUntil: at.Add(24 * time.Hour), GraceUntil: at.Add(72 * time.Hour)},
		&trust.TrustContent{Native: []trust.NativeEntry{{Issuer: "ZJ", SPKI: spki}}, PseudonymKey: bytes.Repeat([]byte{7}, trust.PseudonymKeySize)})
	if err != nil {
		t.Fatal(err)
	}

	// What `config example` and `config pin --guard guard-01` print.
	example, err := siteconfig.Example(siteconfig.Supermarket)
	if err != nil {
		t.Fatal(err)
	}
	hash, err := siteconfig.HashPIN("135790", 0)
	if err != nil {
		t.Fatal(err)
	}
	site := bytes.Replace(example, []byte(`language = "zh"`), []byte(`language = "en"`), 1)
	site = append(site, "\n"+siteconfig.GuardBlock("guard-01", hash)...)

	// A policy source file.
	rules, err := os.ReadFile(filepath.Join("..", "..", "internal", "policy", "defaults", "supermarket.policy"))
	if err != nil {
		t.Fatal(err)
	}

	repo, err := bundles.Open(bundles.Options{Dir: t.TempDir(), Root: root.Public()})
	if err != nil {
		t.Fatal(err)
	}
	for _, in := range []struct {
		kind trust.Kind
		in   bundles.Input
	}{
		{trust.KindConfig, bundles.Input{Name: "site.toml", Data: site}},
		{trust.KindPolicy, bundles.Input{Name: "supermarket.policy", Data: rules, Policy: bundles.PolicyOptions{Label: "store 12"}}},
		{trust.KindTrust, bundles.Input{Name: "trust-7.bundle", Data: trustFile}},
	} {
		p, err := repo.Prepare(in.kind, in.in)
		if err != nil {
			t.Fatalf("prepare %s: %v", in.kind, err)
		}
		if _, err := repo.Publish(in.kind, p.Payload, signer, d, 24*time.Hour, 72*time.Hour); err != nil {
			t.Fatalf("publish %s: %v", in.kind, err)
		}
	}

	// The terminal: the pinned root and the bundles as sync writes them.
	dataDir := t.TempDir()
	rootPEM, err := trust.MarshalPublicKey(root.Public())
	if err != nil {
		t.Fatal(err)
	}
	install := func(name string, data []byte) {
		p := filepath.Join(dataDir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	install(rootFile, rootPEM)
	for _, k := range []trust.Kind{trust.KindTrust, trust.KindPolicy, trust.KindConfig} {
		pub, err := repo.Latest(k)
		if err != nil || pub == nil {
			t.Fatalf("latest %s: %v", k, err)
		}
		install(filepath.Join(bundleDir, string(k)+".bundle"), pub.Data)
	}

	ld, err := loadState(dataDir, "S-12", now, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	st := ld.state
	if !st.Enrolled || st.Verifier == nil {
		t.Error("the published trust bundle was not loaded")
	}
	for _, k := range []trust.Kind{trust.KindTrust, trust.KindPolicy, trust.KindConfig} {
		if b := st.Bundles[k]; b.Version != 1 || b.Freshness(now) != trust.FreshnessFresh {
			t.Errorf("%s: version %d, %s; want version 1, fresh (the display shows it, not NONE)", k, b.Version, b.Freshness(now))
		}
	}
	if s := ld.site; s.Type != gate.Supermarket || s.Language != "en" || s.TimeZone != siteconfig.DefaultTimeZone || len(s.Guards) != 1 {
		t.Errorf("site settings: got %+v", s)
	}
	if g := st.Site.GuardFor("135790"); g != "guard-01" {
		t.Errorf("the guard's PIN: got guard %q, want guard-01", g)
	}
	if g := st.Site.GuardFor("135791"); g != "" {
		t.Errorf("a wrong PIN matched guard %q", g)
	}
	if ld.centre != nil {
		t.Error("a centre key from a trust bundle without one")
	}
}
