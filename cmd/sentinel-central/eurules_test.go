package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sentinel/crypto/trust"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
)

// TestPublishPolicyWithEURules publishes a supermarket's policy with our
// test country's EU business rules and reads them back as a terminal
// would; bad rules and half the flags are refused, naming what to change.
func TestPublishPolicyWithEURules(t *testing.T) {
	d := newDeployment(t)
	src := filepath.Join("..", "..", "internal", "policy", "defaults", "supermarket.policy")
	rules := filepath.Join("..", "..", "crypto", "certlogic", "testdata", "rules")
	code, out, errOut := d.publish(t, "policy", src, "--site-type", "supermarket", "--eu-rules", rules, "--eu-country", "XX")
	if code != exitOK || !strings.Contains(out, "EU business rules: 2 rules; EU DCCs must pass the acceptance rules of XX") {
		t.Fatalf("publish: exit %d, %q %q", code, out, errOut)
	}
	pb, err := policy.ParseBundle(d.published(t, trust.KindPolicy).Payload)
	if err != nil || pb.EUCountry != "XX" || len(pb.EURules) != 2 {
		t.Fatalf("published bundle: %v, %+v", err, pb)
	}
	if _, err := policy.New(pb, siteconfig.Supermarket); err != nil {
		t.Fatalf("a terminal does not load it: %v", err)
	}

	bad := t.TempDir()
	b, _ := os.ReadFile(filepath.Join(rules, "XX", "VR-XX-0001", "rule.json"))
	writeTestFile(t, filepath.Join(bad, "VR-XX-0001.json"), []byte(strings.Replace(string(b), `"ValidTo": "2030-06-01T00:00:00Z"`, `"ValidTo": "2030-06-01"`, 1)))
	for _, tc := range []struct {
		extra []string
		code  int
		want  string
	}{
		{[]string{"--eu-rules", rules}, exitUsage, "give both --eu-rules DIR and --eu-country CC"},
		{[]string{"--eu-country", "XX"}, exitUsage, "give both --eu-rules DIR and --eu-country CC"},
		{[]string{"--eu-rules", bad, "--eu-country", "XX"}, exitUsage, "VR-XX-0001.json: rule VR-XX-0001: ValidTo"},
		{[]string{"--eu-rules", rules, "--eu-country", "AT"}, exitRefused, "no acceptance rule of AT among the 2 rules: give AT's rules or another country (set with --eu-rules)"},
	} {
		code, _, errOut := d.publish(t, "policy", src, append([]string{"--site-type", "supermarket"}, tc.extra...)...)
		if code != tc.code || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, %q; want %d and %q", tc.extra, code, errOut, tc.code, tc.want)
		}
	}
	if code, _, errOut := d.publish(t, "config", filepath.Join(d.dir, "x.toml"), "--eu-country", "XX"); code != exitUsage || !strings.Contains(errOut, "belong to a policy") {
		t.Errorf("--eu-country on config: exit %d, %q", code, errOut)
	}
}
