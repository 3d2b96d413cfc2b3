package main

import (
	"encoding/json"
	"io/fs"
	"os"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/trust"
	"sentinel/device/camera"
	"sentinel/internal/central/enrol"
)

func TestDevicesAddListRevoke(t *testing.T) {
	data := t.TempDir()
	pngPath := t.TempDir() + "/token.png"
	out := mustRun(t, "devices", "add", "--site", "north-gate", "--ttl", "2h", "--data", data, "--png", pngPath, "--json")
	var tok tokenOut
	if err := json.Unmarshal([]byte(out), &tok); err != nil {
		t.Fatalf("%v in %q", err, out)
	}
	if len(tok.Token) != 26 || tok.Site != "north-gate" || tok.QR != enrol.TokenQR(tok.Token) {
		t.Errorf("got %+v, want a 26-character token for north-gate", tok)
	}
	if d := time.Until(tok.Expires); d < time.Hour || d > 2*time.Hour {
		t.Errorf("got expiry in %v, want about 2h", d)
	}
	res, err := camera.DecodeFile(pngPath)
	if err != nil {
		t.Fatal(err)
	}
	if res.Text() != tok.QR {
		t.Errorf("got QR %q, want %q", res.Text(), tok.QR)
	}
	text := mustRun(t, "devices", "add", "--site", "south", "--data", data)
	if !strings.Contains(text, "sentinelctl enrol --central URL --token ") || !strings.Contains(text, "█") {
		t.Errorf("text output lacks the token line or the QR code:\n%s", text)
	}

	if out := mustRun(t, "devices", "list", "--data", data); !strings.Contains(out, "no terminals enrolled") {
		t.Errorf("got %q, want no terminals", out)
	}

	// Enrol a terminal with the first token through the handler, as the
	// server would.
	ca, err := enrol.LoadCA(data, false, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	st, err := enrol.OpenFileStore(data)
	if err != nil {
		t.Fatal(err)
	}
	root, _ := trust.GenerateRoot(nil, trust.KeyEd25519)
	h := &enrol.Handler{CA: ca, Store: st, Root: root.Public()}
	req, _, err := enrol.NewRequest(tok.QR) // the scanned QR text works as the token
	if err != nil {
		t.Fatal(err)
	}
	body, _ := json.Marshal(req)
	resp, err := h.Enrol(body)
	if err != nil {
		t.Fatal(err)
	}

	out = mustRun(t, "devices", "list", "--data", data, "--json")
	var ds []enrol.Device
	if err := json.Unmarshal([]byte(out), &ds); err != nil {
		t.Fatal(err)
	}
	if len(ds) != 1 || ds[0].ID != resp.Device || ds[0].Site != "north-gate" || !ds[0].Revoked.IsZero() {
		t.Fatalf("got %+v, want %s at north-gate, not revoked", ds, resp.Device)
	}
	if st.Revoked(resp.Device) {
		t.Error("revoked before revoke")
	}
	mustRun(t, "devices", "revoke", "--device", resp.Device, "--data", data)
	// The running server's store sees the CLI's revocation.
	if !st.Revoked(resp.Device) {
		t.Error("the server's store does not see the revocation")
	}
	if out := mustRun(t, "devices", "list", "--data", data); !strings.Contains(out, resp.Device) || strings.Contains(out, "\t-\n") {
		t.Errorf("list after revoke:\n%s", out)
	}

	cases := []struct {
		name string
		args []string
		code int
	}{
		{"add without site", []string{"devices", "add", "--data", data}, exitUsage},
		{"add with bad ttl", []string{"devices", "add", "--site", "s", "--ttl", "-1h", "--data", data}, exitUsage},
		{"revoke without device", []string{"devices", "revoke", "--data", data}, exitUsage},
		{"revoke unknown device", []string{"devices", "revoke", "--device", "t-nope", "--data", data}, exitRefused},
		{"unknown subcommand", []string{"devices", "frob"}, exitUsage},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if code, _, errOut := sentinel(t, tc.args...); code != tc.code {
				t.Errorf("got exit %d, want %d (%s)", code, tc.code, errOut)
			}
		})
	}
}

// The device CA's key is private to the centre.
func TestDevicesCAKeyMode(t *testing.T) {
	data := t.TempDir()
	mustRun(t, "devices", "add", "--site", "s", "--data", data)
	if _, err := enrol.LoadCA(data, false, time.Now()); err != nil {
		t.Fatal(err)
	}
	st, err := statMode(data + "/" + enrol.CAKeyFile)
	if err != nil {
		t.Fatal(err)
	}
	if st != 0o600 {
		t.Errorf("got CA key mode %v, want 0600", st)
	}
}

func statMode(path string) (fs.FileMode, error) {
	st, err := os.Stat(path)
	if err != nil {
		return 0, err
	}
	return st.Mode().Perm(), nil
}
