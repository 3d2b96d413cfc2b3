package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/bundles/bundlestest"
)

func TestBundlesPublishAndList(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "central")
	rootPub, signer, del := filepath.Join(dir, "root", "root.pub"), filepath.Join(dir, "online", "signer.key"), filepath.Join(dir, "online", "signer.delegation")
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir, "root"))
	mustRun(t, "trust", "signer-keygen", "--out", filepath.Join(dir, "online"))
	mustRun(t, "trust", "delegate", "--root", filepath.Join(dir, "root", "root.key"), "--pub", filepath.Join(dir, "online", "signer.pub"),
		"--kinds", "trust,status-base,status-delta,policy,config", "--valid", "90d", "--out", del)
	files := map[string][]byte{
		"p1.policy": bundlestest.Policy(t, "p1"), "p2.policy": bundlestest.Policy(t, "p2"),
		"bad.policy": bundlestest.BadPolicy(t), "site.config": bundlestest.Config(t), "trust.payload": bundlestest.Trust(t),
	}
	for name, b := range files {
		writeTestFile(t, filepath.Join(dir, name), b)
	}
	publish := func(kind, file string, extra ...string) (int, string, string) {
		return sentinel(t, append([]string{"bundles", "publish", kind, filepath.Join(dir, file), "--key", signer,
			"--delegation", del, "--root-pub", rootPub, "--data", data}, extra...)...)
	}
	for _, tc := range []struct {
		kind, file string
		extra      []string
		code       int
		out        string
	}{
		{"policy", "p1.policy", nil, exitOK, "published policy version 1"},
		{"policy", "p2.policy", []string{"--fresh", "1h", "--grace", "2h"}, exitOK, "published policy version 2"},
		{"policy", "bad.policy", nil, exitRefused, "does not compile"},
		{"config", "site.config", nil, exitOK, "published config version 1"},
		{"trust", "trust.payload", nil, exitOK, "published trust version 1"},
		{"config", "p1.policy", nil, exitRefused, "neither a site settings file"},
		{"status-base", "p1.policy", nil, exitUsage, "want trust, policy or config"},
		{"policy", "p1.policy", []string{"--fresh", "3d", "--grace", "1d"}, exitUsage, "shorter than --fresh"},
	} {
		t.Run(tc.kind+" "+tc.file, func(t *testing.T) {
			code, out, errOut := publish(tc.kind, tc.file, tc.extra...)
			if code != tc.code || !strings.Contains(out+errOut, tc.out) {
				t.Fatalf("got exit %d, %q %q; want exit %d mentioning %q", code, out, errOut, tc.code, tc.out)
			}
		})
	}
	code, out, _ := publish("policy", "p1.policy", "--json")
	var e bundles.Entry
	if code != exitOK || json.Unmarshal([]byte(out), &e) != nil || e.Version != 3 || e.Kind != trust.KindPolicy {
		t.Fatalf("publish --json: got exit %d %q, want policy version 3", code, out)
	}
	// The published file opens under the root as a terminal would open it.
	raw, err := os.ReadFile(filepath.Join(data, "bundles", "policy.bundle"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := readPublicKey(rootPub)
	if err != nil {
		t.Fatal(err)
	}
	if b, _, err := trust.OpenBundle(raw, pub, e.IssuedAt, trust.State{}); err != nil || b.Version != 3 {
		t.Fatalf("published policy: %v", err)
	}
	out = mustRun(t, "bundles", "list", "--data", data, "--json")
	var list []bundles.Entry
	if err := json.Unmarshal([]byte(out), &list); err != nil {
		t.Fatal(err)
	}
	got := map[trust.Kind]uint64{}
	for _, e := range list {
		got[e.Kind] = e.Version
	}
	if len(list) != 3 || got[trust.KindPolicy] != 3 || got[trust.KindConfig] != 1 || got[trust.KindTrust] != 1 {
		t.Errorf("list: got %v, want policy 3, config 1, trust 1", got)
	}
	if out := mustRun(t, "bundles", "list", "--data", data); !strings.Contains(out, "policy") || !strings.Contains(out, "DIGEST") {
		t.Errorf("list table: got %q", out)
	}
	if code, _, _ := sentinel(t, "bundles", "publish", "policy"); code != exitUsage {
		t.Errorf("publish without a file: got exit %d, want %d", code, exitUsage)
	}
}
