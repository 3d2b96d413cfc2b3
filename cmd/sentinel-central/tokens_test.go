package main

import (
	"encoding/json"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sentinel/internal/central/opsapi"
)

// TestTokens: role tokens made before serve starts and while it runs (the
// latter through serve's socket) are accepted by the operator API from
// the next request on, a removed one is refused from the next request on,
// and only hashes are stored.
func TestTokens(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "central")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	olgaFile := filepath.Join(dir, "olga.token")
	mustRun(t, "tokens", "add", "--data", data, "--name", "olga", "--role", "ops", "--out", olgaFile)
	if fi, err := os.Stat(olgaFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("the token file: %v, %v; want mode 0600", fi, err)
	}
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"--name", "x", "--role", "root"}, exitUsage, "want ops, admin or issuer"},
		{[]string{"--role", "ops"}, exitUsage, "--name and --role are required"},
		{[]string{"--name", "y", "--role", "ops", "--out", olgaFile}, exitRefused, "give a new file"},
	} {
		code, _, stderr := runCLI(append([]string{"tokens", "add", "--data", data}, tc.args...)...)
		if code != tc.code || !strings.Contains(stderr, tc.msg) {
			t.Errorf("tokens add %v: got exit %d %q, want %d with %q", tc.args, code, stderr, tc.code, tc.msg)
		}
	}
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir, "root"))
	s := startServe(t, "--data", data, "--root-pub", filepath.Join(dir, "root", "root.pub"), "--ops-listen", "127.0.0.1:0", "--no-time", "--no-schedule")
	hc := opsClient(t, data)
	get := func(tokenFile string) int {
		t.Helper()
		tok, err := os.ReadFile(tokenFile)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest(http.MethodGet, "https://"+s.ops+opsapi.DevicesPath, nil)
		req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(tok)))
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	if code := get(olgaFile); code != http.StatusOK {
		t.Errorf("olga's token: got %d, want 200", code)
	}
	// While serve runs: through its socket.
	ivanFile := filepath.Join(dir, "ivan.token")
	mustRun(t, "tokens", "add", "--data", data, "--name", "ivan", "--role", "admin", "--out", ivanFile)
	if code := get(ivanFile); code != http.StatusForbidden {
		t.Errorf("ivan's admin token on an ops call: got %d, want 403", code)
	}
	var list []opsTokenOut
	if err := json.Unmarshal([]byte(mustRun(t, "tokens", "list", "--data", data, "--json")), &list); err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].Name != "ivan" || list[0].Role != "admin" || list[1].Name != "olga" || list[1].Token != "" || len(list[1].SHA256) != 64 {
		t.Errorf("tokens list: got %+v, want ivan (admin) and olga (ops), hashes only", list)
	}
	mustRun(t, "tokens", "remove", "--data", data, "--name", "olga")
	if code := get(olgaFile); code != http.StatusUnauthorized {
		t.Errorf("olga's removed token: got %d, want 401", code)
	}
	if code, _, stderr := runCLI("tokens", "remove", "--data", data, "--name", "olga"); code != exitRefused || !strings.Contains(stderr, "tokens list") {
		t.Errorf("removing a removed token: got exit %d %q, want refused pointing to tokens list", code, stderr)
	}
}
