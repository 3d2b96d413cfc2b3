package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/crypto/valueset"
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
		{"status-base", "p1.policy", nil, exitUsage, "want trust, policy, config or valuesets"},
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

// TestBundlesPublishValueSets: publish valuesets DIR publishes the next
// trust version, the published keys with the EU value sets of DIR, which a
// terminal loads (the example list marked as such); without a published
// trust bundle, or with a broken value-set file, nothing is published.
func TestBundlesPublishValueSets(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "central")
	rootPub, signer, del := filepath.Join(dir, "root", "root.pub"), filepath.Join(dir, "online", "signer.key"), filepath.Join(dir, "online", "signer.delegation")
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir, "root"))
	mustRun(t, "trust", "signer-keygen", "--out", filepath.Join(dir, "online"))
	mustRun(t, "trust", "delegate", "--root", filepath.Join(dir, "root", "root.key"), "--pub", filepath.Join(dir, "online", "signer.pub"),
		"--kinds", "trust", "--valid", "90d", "--out", del)
	writeTestFile(t, filepath.Join(dir, "trust.payload"), bundlestest.Trust(t))
	vsDir := filepath.Join("..", "..", "testdata", "valuesets")
	publish := func(kind, file string) (int, string, string) {
		return sentinel(t, "bundles", "publish", kind, file, "--key", signer, "--delegation", del, "--root-pub", rootPub, "--data", data)
	}

	code, out, errOut := publish("valuesets", vsDir)
	if code != exitRefused || !strings.Contains(out+errOut, "no trust bundle is published yet") {
		t.Fatalf("before any trust bundle: exit %d %q %q", code, out, errOut)
	}
	if code, out, errOut := publish("trust", filepath.Join(dir, "trust.payload")); code != exitOK {
		t.Fatalf("publish trust: exit %d %q %q", code, out, errOut)
	}
	code, out, errOut = publish("valuesets", vsDir)
	if code != exitOK || !strings.Contains(out, "published trust version 2") || !strings.Contains(out, "only an example of the real list") ||
		!strings.Contains(errOut, "skipped "+filepath.Join(vsDir, "vaccine-encoding-instructions.json")) {
		t.Fatalf("publish valuesets: exit %d\n%s\n%s", code, out, errOut)
	}
	raw, err := os.ReadFile(filepath.Join(data, "bundles", "trust.bundle"))
	if err != nil {
		t.Fatal(err)
	}
	pub, err := readPublicKey(rootPub)
	if err != nil {
		t.Fatal(err)
	}
	store, info, err := trust.LoadTrustBundle(raw, pub, time.Now(), trust.State{})
	if err != nil {
		t.Fatal(err)
	}
	before, _ := trust.ParseTrustContent(bundlestest.Trust(t))
	if info.Version != 2 || info.Counts.ValueSets != 8 || info.Counts.NativeKeys != len(before.Native) ||
		!store.ValueSets().Get(valueset.TestDevice).Example || store.ValueSets().Get(valueset.Country).Example {
		t.Errorf("published trust: version %d, counts %+v", info.Version, info.Counts)
	}

	// A broken file: nothing published, and the error says where.
	broken := t.TempDir()
	writeTestFile(t, filepath.Join(broken, "test-result.json"), []byte("{\"valueSetId\": \"covid-19-lab-result\", \"valueSetDate\": \"2021-04-27\",\n \"valueSetValues\": {\"1\": {}}}"))
	code, out, errOut = publish("valuesets", broken)
	if code == exitOK || !strings.Contains(errOut, "test-result.json:2:") || !strings.Contains(errOut, "nothing was published") {
		t.Errorf("broken value sets: exit %d %q %q", code, out, errOut)
	}
	if out := mustRun(t, "bundles", "list", "--data", data); !strings.Contains(out, "trust") {
		t.Errorf("list: %s", out)
	}
}

// TestTrustBuildValueSets: trust build --valuesets carries them.
func TestTrustBuildValueSets(t *testing.T) {
	dir := t.TempDir()
	mustRun(t, "trust", "root-keygen", "--out", dir)
	out := filepath.Join(dir, "trust.bundle")
	got := mustRun(t, "trust", "build", "--root", filepath.Join(dir, "root.key"), "--valuesets", filepath.Join("..", "..", "testdata", "valuesets"),
		"--version", "1", "--out", out)
	if !strings.Contains(got, "EU value sets: 8") {
		t.Errorf("trust build says:\n%s", got)
	}
	got = mustRun(t, "trust", "build", "--root", filepath.Join(dir, "root.key"), "--version", "2", "--out", out)
	if !strings.Contains(got, "EU value sets: none") {
		t.Errorf("trust build without value sets says:\n%s", got)
	}
}
