package terminal

import (
	"context"
	"crypto"
	"crypto/x509"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/healthcode"
	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/central/server"
	"sentinel/internal/passage"
	"sentinel/internal/status"
	"sentinel/sync/client"
)

// TestDeltaReachesGate: a status delta published at the centre decides the
// terminal's next passage as soon as the downloader's round that fetched
// it returns, with no poll of the data directory (the poll is an hour
// away), and the status chain is read from the disk only at start.
func TestDeltaReachesGate(t *testing.T) {
	c := startCentre(t)
	now := time.Now()
	issuer, err := trust.GenerateKey(nil, trust.KeyEd25519)
	if err != nil {
		t.Fatal(err)
	}
	spki, err := x509.MarshalPKIXPublicKey(issuer.Public())
	if err != nil {
		t.Fatal(err)
	}
	trustPayload, err := trust.MarshalTrustContent(&trust.TrustContent{Native: []trust.NativeEntry{{Issuer: "ZJ", SPKI: spki}}})
	if err != nil {
		t.Fatal(err)
	}
	repo, err := bundles.Open(bundles.Options{Dir: filepath.Join(c.data, server.BundlesDir), Root: c.keys.Root.Public()})
	if err != nil {
		t.Fatal(err)
	}
	publish := func(k trust.Kind, payload []byte) {
		t.Helper()
		if _, err := repo.Publish(k, payload, c.keys.Signer, c.keys.Delegation, 24*time.Hour, 72*time.Hour); err != nil {
			t.Fatalf("publish %s: %v", k, err)
		}
	}
	publish(trust.KindTrust, trustPayload)
	publish(trust.KindConfig, bundlestest.Config(t))
	publish(trust.KindPolicy, bundlestest.Policy(t, "p1"))
	publish(trust.KindStatusBase, bundlestest.StatusBase(t, now.Add(-time.Hour), 1))
	dir, _ := c.enrolTerminal(t) // the first bundles, status base included

	var logs syncBuffer
	d := syncDaemon(t, dir, c.url, &logs)
	d.reloadEvery = time.Hour // no poll in this test: only the downloader can bring the delta
	var loads atomic.Int64
	d.loadStatus = func(dataDir string, root crypto.PublicKey, now time.Time, a client.StatusApplier) (uint64, error) {
		loads.Add(1)
		return client.LoadStatus(dataDir, root, now, a)
	}
	r := runDaemon(t, d, &logs)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	down := d.sync.Load().down
	if err := down.Sync(ctx); err != nil {
		t.Fatalf("first download round: %v\n%s", err, logs.String())
	}

	code := func(issued time.Time) []byte {
		t.Helper()
		is, err := healthcode.NewIssuer("ZJ", issuer, &healthcode.IssuerOptions{Clock: func() time.Time { return issued }})
		if err != nil {
			t.Fatal(err)
		}
		s, err := is.Issue(healthcode.Claims{Index: 7, Colour: credential.ColourGreen, DisplayName: "Zhang *"})
		if err != nil {
			t.Fatal(err)
		}
		return []byte(s)
	}
	res, err := d.gate.Process(ctx, "in-1", code(now.Add(-10*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Passage; p.StatusColour != "" || p.Decision == passage.Deny {
		t.Fatalf("before the delta: status %q, verdict %s; want not listed, not denied (reasons %v)\n%s", p.StatusColour, p.Decision, p.Reasons, logs.String())
	}

	// ZJ:7 turned red after the code was issued.
	publish(trust.KindStatusDelta, bundlestest.StatusDelta(t, now.Add(-5*time.Minute), 7, status.Red))
	if err := down.Sync(ctx); err != nil {
		t.Fatalf("download round: %v\n%s", err, logs.String())
	}
	res, err = d.gate.Process(ctx, "in-1", code(now.Add(-11*time.Minute)))
	if err != nil {
		t.Fatal(err)
	}
	if p := res.Passage; p.StatusColour != "red" || p.Decision != passage.Deny || p.Bundles[string(trust.KindStatusDelta)] != 2 {
		t.Errorf("after the delta: status %q, verdict %s, status update v%d; want red, deny, v2 (reasons %v)",
			p.StatusColour, p.Decision, p.Bundles[string(trust.KindStatusDelta)], p.Reasons)
	}
	if n := loads.Load(); n != 1 {
		t.Errorf("the status chain was read from the disk %d times, want once (at start)", n)
	}
	r.stop(t)
}
