package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
)

// verifyOne runs `sentinelctl verify --json` in-process and returns the
// exit status and the verdicts.
func verifyOne(t *testing.T, stdin string, args ...string) (int, []verdict, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), append([]string{"verify", "--json"}, args...), strings.NewReader(stdin), &stdout, &stderr)
	var vs []verdict
	dec := json.NewDecoder(&stdout)
	for dec.More() {
		var v verdict
		if err := dec.Decode(&v); err != nil {
			t.Fatal(err)
		}
		vs = append(vs, v)
	}
	return code, vs, stderr.String()
}

func TestVerifyCLI(t *testing.T) {
	at := quickStartAt.Format(time.RFC3339)
	codes := func(name string) string { return filepath.Join(quickStartDir, name) }
	green, err := os.ReadFile(codes("green.txt"))
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		stdin    string
		args     []string
		wantCode int
		want     []credential.Reason // one per verdict; "" accepted
	}{
		{"payload argument", "", []string{"--trust", codes("trust"), "--at", at, strings.TrimSpace(string(green))}, exitOK, []credential.Reason{""}},
		{"stdin lines", string(green) + "\n\nnot a code\n", []string{"--trust", codes("trust"), "--at", at, "-"}, exitRefused, []credential.Reason{"", credential.ReasonUnknownFormat}},
		{"flags after payloads", "", []string{codes("green.png"), "--trust", codes("trust/issuer-ZJ.pem"), "--at", at}, exitOK, []credential.Reason{""}},
		{"zone-less --at is UTC", "", []string{"--trust", codes("trust"), "--at", "2026-12-02T06:00:01", codes("green.txt")}, exitRefused, []credential.Reason{credential.ReasonExpired}},
		{"no trust at all", "", []string{"--at", at, codes("green.txt")}, exitRefused, []credential.Reason{credential.ReasonNoTrust}},
		{"shc issuer bound", "", []string{"--trust", "https://issuer.sentinel.example=" + codes("trust/shc-jwks.json"), "--at", at, codes("shc.txt")}, exitOK, []credential.Reason{""}},
		{"shc wrong issuer", "", []string{"--trust", "https://other.example=" + codes("trust/shc-jwks.json"), "--at", at, codes("shc.txt")}, exitRefused, []credential.Reason{credential.ReasonBadIssuer}},
		{"oversized", "", []string{"--trust", codes("trust"), "--at", at, "HC1:" + strings.Repeat("0", 5000)}, exitRefused, []credential.Reason{credential.ReasonTooLarge}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, vs, stderr := verifyOne(t, tt.stdin, tt.args...)
			if code != tt.wantCode {
				t.Errorf("exit status %d, want %d; stderr: %s", code, tt.wantCode, stderr)
			}
			if len(vs) != len(tt.want) {
				t.Fatalf("got %d verdicts, want %d: %+v", len(vs), len(tt.want), vs)
			}
			for i, v := range vs {
				if v.Reason != tt.want[i] || v.Accepted != (tt.want[i] == "") {
					t.Errorf("verdict %d: accepted=%v reason=%q (%s), want %q", i, v.Accepted, v.Reason, v.Detail, tt.want[i])
				}
				if v.Message == "" {
					t.Errorf("verdict %d has no message", i)
				}
			}
		})
	}
}

func TestVerifyUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"no payload", []string{"--trust", filepath.Join(quickStartDir, "trust")}},
		{"bad time", []string{"--at", "yesterday", "x"}},
		{"missing trust file", []string{"--trust", "does-not-exist.pem", "x"}},
		{"unknown flag", []string{"--frobnicate", "x"}},
		{"missing payload file", []string{"--trust", filepath.Join(quickStartDir, "trust"), "testdata/codes/nosuch.txt"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, _ := verifyOne(t, "", tt.args...); code != exitUsage {
				t.Errorf("exit status %d, want %d", code, exitUsage)
			}
		})
	}
}

func TestVerifyNotAnImage(t *testing.T) {
	junk := filepath.Join(t.TempDir(), "junk.png")
	if err := os.WriteFile(junk, []byte("not a picture at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	code, vs, _ := verifyOne(t, "", "--trust", filepath.Join(quickStartDir, "trust"), junk)
	if code != exitRefused || len(vs) != 1 || vs[0].Reason != credential.ReasonBadEncoding || !strings.Contains(vs[0].Detail, "not a PNG or JPEG") {
		t.Errorf("got exit %d, %+v; want a refusal saying junk.png is not an image", code, vs)
	}
}
