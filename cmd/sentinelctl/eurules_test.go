package main

import (
	"crypto/ed25519"
	"crypto/rand"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/policy"
)

// TestSelftestEURules: selftest says which EU business rules the
// terminal's policy bundle holds EU DCCs to (country, rules, valid now),
// and that there are none when it carries none.
func TestSelftestEURules(t *testing.T) {
	_, rootKey, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	rule, err := os.ReadFile(filepath.Join("..", "..", "crypto", "certlogic", "testdata", "rules", "XX", "GR-XX-0001", "rule.json"))
	if err != nil {
		t.Fatal(err)
	}
	// A second version published ahead of its date: carried, not valid.
	ahead := strings.Replace(strings.Replace(string(rule), `"2021-07-01T00:00:00Z"`, `"`+now.AddDate(1, 0, 0).UTC().Format(time.RFC3339)+`"`, 1),
		`"Version": "1.0.0"`, `"Version": "1.0.1"`, 1)
	for _, c := range []struct {
		name   string
		bundle *policy.Bundle
		want   string
	}{
		{"with", &policy.Bundle{Site: "supermarket", Version: "2026-12-07.1", Rules: "default refer x\n", Fever: policy.DefaultFever, ThermometerUnavailable: "refer", Yellow: "deny", EUCountry: "XX", EURules: []json.RawMessage{rule, json.RawMessage(ahead)}},
			"policy bundle version 6: the acceptance rules of XX, 2 rules, 1 valid now"},
		{"without", &policy.Bundle{Site: "supermarket", Version: "2026-12-07.1", Rules: "default refer x\n", Fever: policy.DefaultFever, ThermometerUnavailable: "refer", Yellow: "deny"},
			"none in policy bundle version 6: EU certificates are not held to any country's business rules"},
	} {
		t.Run(c.name, func(t *testing.T) {
			m := newTestMachine(t)
			m.hidCodes <- "HCN1:x"
			cfg, dataDir := benchConfig(t, "/dev/unused", t.TempDir())
			if r := checkEURules(dataDir, now); r.Status != statusSkipped || !strings.Contains(r.Detail, "not enrolled") {
				t.Errorf("before enrolment: %+v", r)
			}
			pub, err := trust.MarshalPublicKey(rootKey.Public())
			if err != nil {
				t.Fatal(err)
			}
			payload, err := c.bundle.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			data, err := trust.SealBundle(rootKey, nil, trust.Bundle{Kind: trust.KindPolicy, Version: 6, IssuedAt: now.Add(-time.Hour),
				FreshUntil: now.Add(time.Hour), GraceUntil: now.Add(2 * time.Hour), Payload: payload})
			if err != nil {
				t.Fatal(err)
			}
			for path, b := range map[string][]byte{terminalRootFile: pub, terminalPolicyFile: data} {
				p := filepath.Join(dataDir, path)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			code, out, errOut := runCmd(t, "selftest", "--config", cfg, "--lane", "out")
			if code != exitOK || !strings.Contains(out, "EU business rules: "+c.want) {
				t.Errorf("exit %d, output lacks %q:\n%s\n%s", code, c.want, out, errOut)
			}
		})
	}
}
