package main

import (
	"context"
	"crypto/rand"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"sentinel/crypto/trust"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/central/statuspub"
	"sentinel/sync/protocol"
	syncserver "sentinel/sync/server"
)

// signingKeys makes a root, an online key delegated for kinds, and returns
// root.pub, the key and the delegation files.
func signingKeys(t *testing.T, dir, kinds, valid string) (rootPub, key, del string) {
	t.Helper()
	mustRun(t, "trust", "root-keygen", "--out", filepath.Join(dir, "root"))
	mustRun(t, "trust", "signer-keygen", "--out", filepath.Join(dir, "keys"), "--name", "serve")
	del = filepath.Join(dir, "keys", "serve.delegation")
	mustRun(t, "trust", "delegate", "--root", filepath.Join(dir, "root", "root.key"), "--pub", filepath.Join(dir, "keys", "serve.pub"),
		"--kinds", kinds, "--valid", valid, "--out", del)
	return filepath.Join(dir, "root", "root.pub"), filepath.Join(dir, "keys", "serve.key"), del
}

// TestServeRefusesWithoutSigningKey: serve ran without a time key and said
// nothing, so terminals without NTP never trusted their clock. Now it
// refuses, naming the commands that make the key, unless told to run
// without signed time and scheduler; a key it cannot use is refused with
// what to do.
func TestServeRefusesWithoutSigningKey(t *testing.T) {
	dir := t.TempDir()
	rootPub, key, del := signingKeys(t, dir, "trust,status-base,status-delta,policy,config", "90d")
	policyOnly := filepath.Join(dir, "keys", "policy.delegation")
	mustRun(t, "trust", "delegate", "--root", filepath.Join(dir, "root", "root.key"), "--pub", filepath.Join(dir, "keys", "serve.pub"),
		"--kinds", "policy", "--out", policyOnly)
	mustRun(t, "trust", "signer-keygen", "--out", filepath.Join(dir, "other"))
	later := filepath.Join(dir, "keys", "later.delegation")
	mustRun(t, "trust", "delegate", "--root", filepath.Join(dir, "root", "root.key"), "--pub", filepath.Join(dir, "keys", "serve.pub"),
		"--kinds", "status-base,status-delta", "--from", time.Now().Add(48*time.Hour).UTC().Format(time.RFC3339), "--out", later)
	data := filepath.Join(dir, "central")
	base := []string{"serve", "--data", data, "--root-pub", rootPub, "--listen", "127.0.0.1:0", "--enrol-listen", "127.0.0.1:0"}
	for _, tc := range []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"no key", nil, exitUsage, []string{"trust signer-keygen", "trust delegate", "--kinds trust,status-base,status-delta,policy,config", "--no-time --no-schedule"}},
		{"no key, no time, scheduler on", []string{"--no-time"}, exitUsage, []string{"--key FILE --delegation FILE"}},
		{"delegation for policy only", []string{"--key", key, "--delegation", policyOnly}, exitRefused, []string{"not status-delta", "delegate it again with --kinds"}},
		{"delegation of another key", []string{"--key", filepath.Join(dir, "other", "signer.key"), "--delegation", del}, exitRefused, []string{"give the delegation made for this key"}},
		{"delegation not valid yet", []string{"--key", key, "--delegation", later}, exitRefused, []string{"not now", "delegate the key again"}},
		{"a key that is not the root without delegation", []string{"--key", key}, exitUsage, []string{"is not the operator root"}},
		{"delegation without key", []string{"--delegation", del}, exitUsage, []string{"--delegation needs --key"}},
		{"bad retention", []string{"--key", key, "--delegation", del, "--retention", "soon"}, exitUsage, []string{"--retention"}},
		{"bad audit retention", []string{"--key", key, "--delegation", del, "--audit-retention", "forever"}, exitUsage, []string{"--audit-retention", "or 0 to keep the whole audit log"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, _, errOut := sentinel(t, append(append([]string{}, base...), tc.args...)...)
			if code != tc.code {
				t.Errorf("got exit %d, want %d\nstderr: %s", code, tc.code, errOut)
			}
			for _, w := range tc.want {
				if !strings.Contains(errOut, w) {
					t.Errorf("stderr %q does not say %q", errOut, w)
				}
			}
		})
	}
}

// TestServeSignsTimeAndPublishesStatus: with its signing key serve says
// at start that it signs its time, answers a terminal's signed time
// request with a time that verifies under the pinned root, and its
// scheduler publishes the first status base without an operator.
func TestServeSignsTimeAndPublishesStatus(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	dir := t.TempDir()
	rootPub, key, del := signingKeys(t, dir, "trust,status-base,status-delta,policy,config", "90d")
	data := filepath.Join(dir, "central")
	s := startServe(t, "--data", data, "--root-pub", rootPub, "--key", key, "--delegation", del)
	if !strings.Contains(s.stderr.String(), "signing the centre's time") {
		t.Errorf("serve did not say it signs its time\nstderr: %s", s.stderr)
	}
	term, _ := enrolTerminal(t, ctx, data, s.enrol, "north-gate")
	nonce := make([]byte, 32)
	rand.Read(nonce)
	resp, err := deviceClient(t, term).Get("https://" + s.mtls + syncserver.TimePath(protocol.Version, nonce))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("signed time: got %d %s, want 200", resp.StatusCode, body)
	}
	root, err := readPublicKey(rootPub)
	if err != nil {
		t.Fatal(err)
	}
	at, err := syncserver.VerifyTime(body, root, nonce, nil)
	if err != nil {
		t.Fatalf("signed time does not verify: %v", err)
	}
	if d := time.Since(at); d < -time.Minute || d > time.Minute {
		t.Errorf("signed time %s is %v off", at, d)
	}
	// The scheduler's first round publishes a base; serve started it
	// before printing its listening lines, so wait for the round.
	deadline := time.Now().Add(20 * time.Second)
	for {
		repo, err := bundles.Open(bundles.Options{Dir: filepath.Join(data, statuspub.BundlesDir)})
		if err != nil {
			t.Fatal(err)
		}
		if c := statuspub.ChainOf(repo); c.Base.Version != 0 {
			if c.Base.Kind != trust.KindStatusBase || !c.Base.FreshUntil.After(time.Now().Add(23*time.Hour)) {
				t.Errorf("got status base %+v, want one fresh for 24 hours", c.Base)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no status base published by the scheduler\nstderr: %s", s.stderr)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestBundlesPublishWaitsForTheScheduler: bundles publish writes the
// repository under the repository's lock (statuspub.LockFile; before the
// statuses moved into the central store, the status record's lock), which
// serve's scheduler holds while it re-signs, so that neither writes an
// index without the other's bundle: while another holder keeps the lock,
// publish waits and then says so instead of writing.
func TestBundlesPublishWaitsForTheScheduler(t *testing.T) {
	dir := t.TempDir()
	rootPub, key, del := signingKeys(t, dir, "trust,status-base,status-delta,policy,config", "90d")
	data := filepath.Join(dir, "central")
	writeTestFile(t, filepath.Join(dir, "site.config"), bundlestest.Config(t))
	args := []string{"bundles", "publish", "config", filepath.Join(dir, "site.config"), "--key", key, "--delegation", del, "--root-pub", rootPub, "--data", data}
	mustRun(t, args...)
	lock, err := os.OpenFile(filepath.Join(data, statuspub.LockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	code, _, errOut := sentinel(t, args...)
	lock.Close()
	if code != exitRefused || !strings.Contains(errOut, "another process has been publishing") || !strings.Contains(errOut, "wait and retry") {
		t.Errorf("publish while the lock is held: got exit %d %q, want refused saying another process is publishing", code, errOut)
	}
	out := mustRun(t, args...)
	if !strings.Contains(out, "published config version 2") {
		t.Errorf("after the holder let go: got %q, want version 2", out)
	}
}

// TestSigningKeyChecked: every command that signs checks the key and its
// delegation the same way before it signs anything (loadSigningKey):
// bundles publish, status publish and trust build said nothing of a
// delegation made for another key, or a key that is not the root, and
// failed later with the verifier's words, or not at all.
func TestSigningKeyChecked(t *testing.T) {
	dir := t.TempDir()
	rootPub, key, del := signingKeys(t, dir, "trust,status-base,status-delta,policy,config", "90d")
	mustRun(t, "trust", "signer-keygen", "--out", filepath.Join(dir, "other"))
	other := filepath.Join(dir, "other", "signer.key")
	data := filepath.Join(dir, "central")
	file := filepath.Join(dir, "trust.toml")
	if err := os.WriteFile(file, []byte("# nothing\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	commands := map[string][]string{
		"bundles publish": {"bundles", "publish", "trust", file, "--data", data, "--root-pub", rootPub},
		"status publish":  {"status", "publish", "--data", data, "--root-pub", rootPub},
		"trust build":     {"trust", "build", "--version", "1", "--out", filepath.Join(dir, "trust.bundle"), "--root-pub", rootPub},
	}
	for name, base := range commands {
		for _, tc := range []struct {
			name string
			args []string
			code int
			want string
		}{
			{"delegation of another key", []string{"--key", other, "--delegation", del}, exitRefused, "give the delegation made for this key"},
			{"a key that is not the root without delegation", []string{"--key", key}, exitUsage, "is not the operator root"},
			{"a key that cannot be read", []string{"--key", filepath.Join(dir, "missing.key"), "--delegation", del}, exitRefused, "--key: "},
		} {
			if name == "trust build" && tc.name == "a key that is not the root without delegation" {
				continue // trust build takes the root as --root KEY
			}
			t.Run(name+"/"+tc.name, func(t *testing.T) {
				code, _, errOut := sentinel(t, append(append([]string{}, base...), tc.args...)...)
				if code != tc.code || !strings.Contains(errOut, tc.want) {
					t.Errorf("got exit %d, want %d saying %q\nstderr: %s", code, tc.code, tc.want, errOut)
				}
			})
		}
	}
}
