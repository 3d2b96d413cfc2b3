package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/central/enrol"
	"sentinel/internal/status"
	syncenrol "sentinel/sync/enrol"
	syncserver "sentinel/sync/server"
)

// TestBackupRestore backs up a serving centre into a directory, restores
// it into a fresh data directory as the guide says (cp -a), and serves
// from it: the same terminals (one revoked), the same audit log and
// status record, the same bundles, and the device CA, so that a terminal
// enrolled before the backup is still served and the revoked one still
// refused.
func TestBackupRestore(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	dir := t.TempDir()
	data := filepath.Join(dir, "central")
	rootPub, signer, del := filepath.Join(dir, "root", "root.pub"), filepath.Join(dir, "online", "signer.key"), filepath.Join(dir, "online", "signer.delegation")
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir, "root"))
	mustRun(t, "trust", "signer-keygen", "--out", filepath.Join(dir, "online"))
	mustRun(t, "trust", "delegate", "--root", filepath.Join(dir, "root", "root.key"), "--pub", filepath.Join(dir, "online", "signer.pub"),
		"--kinds", "trust,status-base,status-delta,policy,config", "--valid", "90d", "--out", del)
	writeTestFile(t, filepath.Join(dir, "p1.policy"), bundlestest.Policy(t, "p1"))
	mustRun(t, "bundles", "publish", "policy", filepath.Join(dir, "p1.policy"), "--key", signer, "--delegation", del, "--root-pub", rootPub, "--data", data)
	writeOpsTokens(t, data)
	serveArgs := func(data string) []string {
		return []string{"--data", data, "--root-pub", rootPub, "--key", signer, "--delegation", del, "--ops-listen", "127.0.0.1:0", "--no-schedule"}
	}
	s := startServe(t, serveArgs(data)...)

	termA, _ := enrolTerminal(t, ctx, data, s.enrol, "north-gate")
	termB, b := enrolTerminal(t, ctx, data, s.enrol, "south-gate")
	mustRun(t, "devices", "revoke", "--device", b.Device, "--data", data)
	mustRun(t, "status", "set", "--holder", "ZJ:7", "--status", "red", "--reason", "confirmed",
		"--key", signer, "--delegation", del, "--root-pub", rootPub, "--data", data)
	opsTok, adminTok := filepath.Join(dir, "ops.token"), filepath.Join(dir, "admin.token")
	writeTestFile(t, opsTok, []byte("ops-token\n"))
	writeTestFile(t, adminTok, []byte("admin-token\n"))
	server := []string{"--server", "https://" + s.ops, "--ca", filepath.Join(data, enrol.CACertFile)}
	mustRun(t, append([]string{"export", "--from", "2026-01-01", "--to", "2027-01-01", "--format", "csv", "--purpose", "case 9",
		"--out", filepath.Join(dir, "x.csv"), "--token-file", opsTok}, server...)...)

	backup := filepath.Join(dir, "backups", "centre-1")
	if err := os.MkdirAll(filepath.Dir(backup), 0o700); err != nil {
		t.Fatal(err)
	}
	out := mustRun(t, append([]string{"backup", "--data", data, "--out", backup, "--token-file", adminTok}, server...)...)
	if !strings.Contains(out, "2 enrolled terminals, 1 audit entry") || !strings.Contains(out, "cp -a") {
		t.Errorf("backup said %q, want the terminals and the audit entry counted and how to restore", out)
	}
	for _, f := range []string{"central.db", enrol.CACertFile, enrol.CAKeyFile, "bundles/index.json", "bundles/policy.bundle"} {
		if _, err := os.Stat(filepath.Join(backup, f)); err != nil {
			t.Errorf("the backup lacks %s: %v", f, err)
		}
	}
	if _, err := os.Stat(filepath.Join(backup, controlFile)); err == nil {
		t.Error("the backup holds serve's socket")
	}
	if fi, err := os.Stat(filepath.Join(backup, enrol.CAKeyFile)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the CA key in the backup: %v, %v; want mode 0600", fi.Mode(), err)
	}
	devicesBefore := mustRun(t, "devices", "list", "--data", data, "--json")
	auditBefore := auditLog(t, "--data", data)
	policyBefore, err := os.ReadFile(filepath.Join(data, "bundles", "policy.bundle"))
	if err != nil {
		t.Fatal(err)
	}
	if code := s.stop(t); code != exitOK {
		t.Fatalf("serve exited %d\n%s", code, s.stderr)
	}

	// Restore, as docs/central.md says, into a fresh data directory.
	restored := filepath.Join(t.TempDir(), "central")
	if err := os.MkdirAll(restored, 0o700); err != nil {
		t.Fatal(err)
	}
	if b, err := exec.Command("cp", "-a", backup+"/.", restored+"/").CombinedOutput(); err != nil {
		t.Fatalf("cp -a: %v: %s", err, b)
	}
	db, err := boltstore.Open(filepath.Join(restored, "central.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	r, ok, err := db.StatusOf(ctx, credential.Holder{Kind: credential.HolderNative, Issuer: "ZJ", Index: 7})
	db.Close()
	if err != nil || !ok || r.Status != status.Red {
		t.Errorf("the restored status record: got %+v, %v, %v; want ZJ:7 red", r, ok, err)
	}

	s2 := startServe(t, serveArgs(restored)...)
	if got := mustRun(t, "devices", "list", "--data", restored, "--json"); got != devicesBefore {
		t.Errorf("devices after the restore:\n%s\nwant\n%s", got, devicesBefore)
	}
	var ds []deviceOut
	if err := json.Unmarshal([]byte(devicesBefore), &ds); err != nil || len(ds) != 2 {
		t.Fatalf("devices: %v %s", err, devicesBefore)
	}
	if auditAfter := auditLog(t, "--data", restored); !slices.EqualFunc(auditAfter, auditBefore, func(a, b central.AuditEntry) bool {
		return a.Time.Equal(b.Time) && a.Operator == b.Operator && a.Purpose == b.Purpose && a.Rows == b.Rows
	}) || len(auditAfter) != 1 {
		t.Errorf("audit after the restore: got %+v, want %+v", auditAfter, auditBefore)
	}
	// Terminal A, enrolled before the backup, is served by the restored
	// centre: its certificate verifies under the restored CA, and the
	// restored bundles answer.
	hc := deviceClient(t, termA)
	resp, err := hc.Get("https://" + s2.mtls + syncserver.BundlePath(1, trust.KindPolicy))
	if err != nil {
		t.Fatalf("terminal A at the restored centre: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !bytes.Equal(body, policyBefore) {
		t.Errorf("policy from the restored centre: got %d with %d bytes, want 200 with the %d bytes published", resp.StatusCode, len(body), len(policyBefore))
	}
	// Terminal B, revoked before the backup, is still refused.
	resp, err = deviceClient(t, termB).Get("https://" + s2.mtls + syncserver.BundlePath(1, trust.KindPolicy))
	if err != nil {
		t.Fatalf("terminal B at the restored centre: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusForbidden || resp.Header.Get(syncenrol.RefusalHeader) != syncenrol.CodeRevoked {
		t.Errorf("revoked terminal B at the restored centre: got %d %q, want 403 %s", resp.StatusCode, resp.Header.Get(syncenrol.RefusalHeader), syncenrol.CodeRevoked)
	}
}

// TestBackupPostgres: on a centre that serves from PostgreSQL, backup says
// how to back it up (pg_dump, and the files that stay in the data
// directory) instead of copying a bbolt store that is not the centre's.
func TestBackupPostgres(t *testing.T) {
	data := filepath.Join(t.TempDir(), "central")
	if err := os.MkdirAll(data, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := recordStoreKind(data, "postgres"); err != nil { // as serve --postgres does
		t.Fatal(err)
	}
	for _, out := range []string{filepath.Join(t.TempDir(), "centre"), filepath.Join(t.TempDir(), "copy.db")} {
		code, stdout, stderr := runCLI("backup", "--data", data, "--out", out)
		if code != exitRefused || !strings.Contains(stderr, "pg_dump") || !strings.Contains(stderr, "enrol/") || stdout != "" {
			t.Errorf("--out %s: got exit %d %q %q, want refused naming pg_dump and the files to copy", out, code, stdout, stderr)
		}
		if _, err := os.Stat(out); err == nil {
			t.Errorf("--out %s was written", out)
		}
	}
}
