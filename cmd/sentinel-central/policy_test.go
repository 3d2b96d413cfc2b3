package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
)

// TestPolicyExample: the example is the site type's default policy, and
// bundles publish policy takes it as it is.
func TestPolicyExample(t *testing.T) {
	f := newFixtures(t)
	for _, st := range []siteconfig.SiteType{siteconfig.Supermarket, siteconfig.Pharmacy, siteconfig.Intersection, siteconfig.Compound, siteconfig.Custom} {
		want, err := policy.DefaultRules(st)
		if err != nil {
			t.Fatal(err)
		}
		if got := mustRun(t, "policy", "example", "--site-type", string(st)); got != want {
			t.Errorf("%s: the example is not the default policy", st)
		}
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "site.policy")
	mustRun(t, "policy", "example", "--site-type", "supermarket", "--out", file)
	if code, _, stderr := sentinel(t, "policy", "example", "--site-type", "supermarket", "--out", file); code != exitRefused || !strings.Contains(stderr, "exists already") {
		t.Errorf("overwrite: got exit %d %q, want refused", code, stderr)
	}
	data := filepath.Join(dir, "central")
	del := filepath.Join(dir, "policy.delegation")
	mustRun(t, "trust", "delegate", "--root", f.root, "--pub", f.signerPub, "--kinds", "policy", "--out", del)
	out := mustRun(t, "bundles", "publish", "policy", file, "--site-type", "supermarket", "--data", data,
		"--key", f.signer, "--delegation", del, "--root-pub", f.rootPub)
	if !strings.Contains(out, "published policy version 1") {
		t.Errorf("publish: got %q", out)
	}
	if _, err := os.Stat(filepath.Join(data, "bundles")); err != nil {
		t.Error(err)
	}
	if code, _, stderr := sentinel(t, "policy", "example", "--site-type", "shop"); code != exitUsage || !strings.Contains(stderr, "supermarket") {
		t.Errorf("unknown type: got exit %d %q, want a usage error", code, stderr)
	}
}
