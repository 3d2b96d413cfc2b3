package main

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/hpke"
	"encoding/hex"
	"fmt"
	"image/png"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/creack/pty"

	"sentinel/internal/central"
	"sentinel/internal/central/boltstore"
	"sentinel/internal/central/server"
	"sentinel/internal/demo"
	"sentinel/internal/ui"
	"sentinel/sync/journal"
)

// needPTY skips (or, in CI, fails) where there are no pseudo-terminals.
func needPTY(t *testing.T) {
	t.Helper()
	m, s, err := pty.Open()
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("no pseudo-terminals (%v): CI must provide /dev/ptmx", err)
		}
		t.Skipf("SKIPPING: the demo's serial lane needs a pseudo-terminal (/dev/ptmx): %v", err)
	}
	m.Close()
	s.Close()
}

// syncBuffer is a bytes.Buffer safe for the daemon's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestDemo runs the demonstration in-process: every code through the real
// camera decoder or the serial driver on a pseudo-terminal, the replayed
// thermometer, the real verifier, status list, policy and journal.
func TestDemo(t *testing.T) {
	needPTY(t)
	dir := t.TempDir()
	var stdout, stderr syncBuffer
	code := Run(context.Background(), []string{"-demo", "-demo-once", "-data-dir", dir}, &stdout, &stderr)
	if code != exitOK {
		t.Fatalf("exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	want := []struct{ lane, kind, verdict, reason string }{
		{demo.CameraLane, "green", "admit", "-"},
		{demo.CameraLane, "yellow", "deny", "colour-yellow"},
		{demo.CameraLane, "red", "deny", "colour-red"},
		{demo.CameraLane, "expired", "deny", "verification:expired"},
		{demo.CameraLane, "forged", "deny", "verification:unknown-key"},
		{demo.CameraLane, "eu-dcc", "admit", "-"},
		{demo.SerialLane, "revoked", "deny", "status-red"},
		{demo.SerialLane, "fever", "refer", "fever"},
		{demo.SerialLane, "rolling", "admit", "-"}, // read twice: one passage
		{demo.SerialLane, "shc", "admit", "-"},     // three chunks assembled
	}
	out := stdout.String()
	if strings.Contains(out, "UNEXPECTED") {
		t.Errorf("a verdict differs from the policy's:\n%s", out)
	}
	byKind := map[string][]string{}
	for _, line := range strings.Split(out, "\n") {
		f := strings.Fields(line)
		if len(f) >= 3 && (f[0] == demo.CameraLane || f[0] == demo.SerialLane) {
			byKind[f[1]] = f
		}
	}
	for _, w := range want {
		f := byKind[w.kind]
		if f == nil {
			t.Errorf("%s: no passage printed\n%s", w.kind, out)
			continue
		}
		if f[0] != w.lane || f[2] != w.verdict || f[len(f)-1] != w.reason {
			t.Errorf("%s: got %v, want %s %s %s", w.kind, f, w.lane, w.verdict, w.reason)
		}
	}
	if !strings.Contains(out, "37.8 °C") {
		t.Errorf("the fever's temperature is not printed:\n%s", out)
	}

	// Every passage is in the journal, whose chain verifies.
	r, err := journal.OpenReader(journal.Path(dir), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	v, err := r.Verify()
	if err != nil {
		t.Fatal(err)
	}
	if v.Records != len(want) || v.Break != nil {
		t.Fatalf("journal holds %d records (break %v), want %d and an unbroken chain", v.Records, v.Break, len(want))
	}
	decisions := map[string][]string{}
	err = r.Range(1, 0, func(seq journal.Seq, b []byte) error {
		rec, err := journal.DecodeRecord(b)
		if err != nil {
			return err
		}
		decisions[rec.Lane] = append(decisions[rec.Lane], string(rec.Decision))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// The fever was journalled, sealed to the centre's key.
	keyHex, err := os.ReadFile(filepath.Join(dir, demo.CentreKeyFile))
	if err != nil {
		t.Fatal(err)
	}
	keyBytes, err := hex.DecodeString(strings.TrimSpace(string(keyHex)))
	if err != nil {
		t.Fatal(err)
	}
	priv, err := hpke.DHKEM(ecdh.X25519()).NewPrivateKey(keyBytes)
	if err != nil {
		t.Fatal(err)
	}
	opener := journal.NewOpener(priv)
	keys, err := r.Keys()
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range keys {
		if err := opener.AddKey(k); err != nil {
			t.Fatal(err)
		}
	}
	fevers := 0
	err = r.Range(1, 0, func(seq journal.Seq, b []byte) error {
		rec, err := journal.DecodeRecord(b)
		if err != nil {
			return err
		}
		c, err := opener.Open(rec)
		if err != nil {
			return fmt.Errorf("record %d: %w", seq, err)
		}
		if c.Temperature.Available && c.Temperature.Value.Celsius() >= 37.3 {
			fevers++
			if rec.Decision != journal.Refer || c.Holder.String() != "ZJ:1008" {
				t.Errorf("fever record: %s for %s, want refer for ZJ:1008", rec.Decision, c.Holder)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if fevers != 1 {
		t.Errorf("got %d sealed fevers in the journal, want 1", fevers)
	}

	wantDecisions := map[string][]string{}
	for _, w := range want {
		wantDecisions[w.lane] = append(wantDecisions[w.lane], w.verdict)
	}
	for lane, ds := range wantDecisions {
		if got := strings.Join(decisions[lane], " "); got != strings.Join(ds, " ") {
			t.Errorf("journal at %s: got %s, want %s", lane, got, strings.Join(ds, " "))
		}
	}

	// The embedded centre received every passage exactly once, from the
	// device enrolment named, with the sealed holders opened.
	m := regexp.MustCompile(`(?m)^central: (\d+) passages received from (t-[0-9a-f]+) \(exactly once\), (\d+) holders opened$`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no central line saying every passage arrived exactly once:\n%s", out)
	}
	if m[1] != fmt.Sprint(len(want)) {
		t.Errorf("central line: got %s passages, want %d", m[1], len(want))
	}
	st, err := boltstore.Open(filepath.Join(dir, demo.CentreDir, server.StoreFile), &boltstore.Options{Timeout: time.Second})
	if err != nil {
		t.Fatalf("the central's store: %v", err)
	}
	defer st.Close()
	ctx := context.Background()
	devs, err := st.Devices(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(devs) != 1 || devs[0].ID != m[2] || len(devs[0].Marks) != 1 {
		t.Fatalf("got central devices %+v, want one, %s, with one epoch", devs, m[2])
	}
	if hw, err := st.HighWater(ctx, m[2], devs[0].Marks[0].Epoch); err != nil || hw != uint64(len(want)) {
		t.Errorf("got high-water %d (%v), want %d", hw, err, len(want))
	}
	seqs := map[uint64]int{}
	holders := map[string]string{}
	for p, err := range st.Passages(ctx, central.Filter{Device: m[2]}) {
		if err != nil {
			t.Fatal(err)
		}
		seqs[p.Seq]++
		if p.Holder != "" {
			holders[p.Holder] = p.Decision
		}
	}
	for seq := uint64(1); seq <= uint64(len(want)); seq++ {
		if seqs[seq] != 1 {
			t.Errorf("central holds record %d %d times, want once", seq, seqs[seq])
		}
	}
	if len(seqs) != len(want) {
		t.Errorf("central holds %d distinct records, want %d", len(seqs), len(want))
	}
	if got := holders["ZJ:1008"]; got != string(journal.Refer) {
		t.Errorf("central: the fever's holder ZJ:1008 got decision %q, want %q (holders %v)", got, journal.Refer, holders)
	}
	// Each opened holder is one passage here: no holder passes twice.
	if m[3] != fmt.Sprint(len(holders)) {
		t.Errorf("central line: got %s holders opened, want %d", m[3], len(holders))
	}
	st.Close()
	r.Close()

	// The demo runs again on the same directory (issue 8: it failed,
	// counting the first run's passages as this one's): a new terminal,
	// the earlier one's data kept aside, this run's passages at the
	// centre exactly once, the same static codes admitted again.
	stdout, stderr = syncBuffer{}, syncBuffer{}
	if code := Run(context.Background(), []string{"-demo", "-demo-once", "-data-dir", dir}, &stdout, &stderr); code != exitOK {
		t.Fatalf("second run: exit %d\nstdout:\n%s\nstderr:\n%s", code, stdout.String(), stderr.String())
	}
	out2 := stdout.String()
	m2 := regexp.MustCompile(`(?m)^central: (\d+) passages received from (t-[0-9a-f]+) \(exactly once\)`).FindStringSubmatch(out2)
	if m2 == nil || m2[1] != fmt.Sprint(len(want)) || m2[2] == m[2] || strings.Contains(out2, "UNEXPECTED") {
		t.Fatalf("second run: want %d passages from a new terminal, every verdict as the policy gives:\n%s", len(want), out2)
	}
	prev, _ := filepath.Glob(filepath.Join(dir, demo.RunsDir, "*", journal.FileName))
	if len(prev) != 1 || !strings.Contains(out2, filepath.Dir(prev[0])) {
		t.Fatalf("second run: earlier journals kept %v, want the first run's, named in the output:\n%s", prev, out2)
	}
	pr, err := journal.OpenReader(prev[0], time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	if v, err := pr.Verify(); err != nil || v.Records != len(want) || v.Break != nil {
		t.Errorf("the first run's journal: %+v, %v; want %d records, unbroken", v, err, len(want))
	}
}

func TestRunUsage(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"-nope"}, exitUsage},
		{[]string{"-demo-once"}, exitUsage},
		{[]string{"-log-level", "loud", "-config", "x"}, exitUsage},
		{[]string{"extra"}, exitUsage},
		{[]string{"-h"}, exitOK},
		{[]string{"-config", filepath.Join(t.TempDir(), "none.toml")}, exitFailed},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.args, " "), func(t *testing.T) {
			var stderr bytes.Buffer
			if got := Run(context.Background(), tt.args, io.Discard, &stderr); got != tt.want {
				t.Errorf("got exit %d, want %d\n%s", got, tt.want, stderr.String())
			}
		})
	}
}

// freePort returns a port that was free a moment ago.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// TestDaemon runs sentineld from a configuration file on a terminal that
// is not enrolled: a camera lane replays one code, the person is referred
// to the guard, the management listener reports it, and SIGTERM drains.
func TestDaemon(t *testing.T) {
	dir := t.TempDir()
	frames := filepath.Join(dir, "frames")
	os.MkdirAll(frames, 0o700)
	img, err := demo.RenderQR("HCN1:NOT-A-REAL-CODE", 4)
	if err != nil {
		t.Fatal(err)
	}
	f, _ := os.Create(filepath.Join(frames, "01.png"))
	png.Encode(f, img)
	f.Close()
	mgmt := freePort(t)
	display := freePort(t)
	cfg := fmt.Sprintf(`data_dir = %q
log_level = "debug"

[terminal]
id = "T-TEST-1"
site_id = "SITE-1"

[central]
url = "http://127.0.0.1:9"

[listen]
display = "127.0.0.1:%d"
management = "127.0.0.1:%d"

[[lane]]
name = "in-1"
[lane.camera]
source = "replay"
dir = %q
`, filepath.Join(dir, "data"), display, mgmt, frames)
	path := filepath.Join(dir, "sentineld.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	// systemd's notification socket, with a watchdog of 200 ms.
	sock := filepath.Join(dir, "notify.sock")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer notify.Close()
	t.Setenv("NOTIFY_SOCKET", sock)
	t.Setenv("WATCHDOG_USEC", "200000")
	t.Setenv("WATCHDOG_PID", "")
	var notes syncBuffer
	go func() {
		buf := make([]byte, 1024)
		for {
			n, err := notify.Read(buf)
			if err != nil {
				return
			}
			notes.Write(append(buf[:n:n], '\n'))
		}
	}()

	var stdout, stderr syncBuffer
	done := make(chan int, 1)
	go func() { done <- Run(context.Background(), []string{"-config", path}, &stdout, &stderr) }()

	base := fmt.Sprintf("http://127.0.0.1:%d", mgmt)
	get := func(p string) (int, string) {
		resp, err := http.Get(base + p)
		if err != nil {
			return 0, err.Error()
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	referred := regexp.MustCompile(`sentinel_passages_total\{verdict="refer"\} 1\b`)
	deadline := time.Now().Add(20 * time.Second)
	var metrics string
	for {
		var code int
		code, metrics = get("/metrics")
		if code == http.StatusOK && referred.MatchString(metrics) {
			break
		}
		select {
		case c := <-done:
			t.Fatalf("sentineld exited with %d\n%s", c, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no referral counted within 20 s:\n%s\n%s", metrics, stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, want := range []string{"sentinel_enrolled 0", `sentinel_bundle_freshness{kind="trust",state="blocked"} 1`, `sentinel_journal_alarm{kind="journal-commit"} 0`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %q:\n%s", want, metrics)
		}
	}
	if code, body := get("/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("healthz: got %d %q, want 200 ok", code, body)
	}
	dbase := fmt.Sprintf("http://127.0.0.1:%d", display)
	// A runaway client opening event streams gets 503 beyond the display's
	// limit, and the daemon's health keeps answering.
	full := 0
	for range ui.DefaultMaxStreams + 8 {
		resp, err := http.Get(dbase + "/events")
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode == http.StatusServiceUnavailable {
			full++
			if resp.Header.Get("Retry-After") == "" {
				t.Error("a refused event stream has no Retry-After")
			}
			resp.Body.Close()
			continue
		}
		defer resp.Body.Close()
	}
	if full != 8 {
		t.Errorf("got %d event streams refused, want the 8 beyond %d", full, ui.DefaultMaxStreams)
	}
	if code, body := get("/healthz"); code != http.StatusOK || strings.TrimSpace(body) != "ok" {
		t.Errorf("healthz with the display's streams full: got %d %q, want 200 ok", code, body)
	}
	// The guard display serves the page; an override on a terminal whose
	// site settings name no guard (it is not even enrolled) is refused by
	// the gate, and the page is told that there are no guard PINs rather
	// than "wrong PIN" (TestBundleReload has the wrong PIN).
	resp, err := http.Get(dbase + "/")
	if err != nil {
		t.Fatal(err)
	}
	page, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := regexp.MustCompile(`name="sentinel-token" content="([^"]+)"`).FindSubmatch(page)
	if resp.StatusCode != http.StatusOK || m == nil {
		t.Fatalf("display page: %d, token found %v", resp.StatusCode, m != nil)
	}
	req, _ := http.NewRequest("POST", dbase+"/override", strings.NewReader(`{"lane":"in-1","pin":"000000","reason":"not-enrolled"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Sentinel-Token", string(m[1]))
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusConflict || !strings.Contains(string(body), "no-guards") {
		t.Errorf("override without guards: got %d %s, want 409 no-guards", resp.StatusCode, body)
	}
	// No PIN can be right: the attempt does not count towards the lockout.
	if st, err := loadPINState(filepath.Join(dir, "data")); err != nil || st.Failures != 0 {
		t.Errorf("saved PIN lockout: got %+v, %v; want no failure", st, err)
	}
	resp, err = http.Get(dbase + "/state")
	if err != nil {
		t.Fatal(err)
	}
	state, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if !strings.Contains(string(state), `"name":"in-1"`) || !strings.Contains(string(state), `"outcome":"refer"`) {
		t.Errorf("display state lacks the referral at in-1:\n%s", state)
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case c := <-done:
		if c != exitOK {
			t.Errorf("exit %d after SIGTERM, want 0\n%s", c, stderr.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("sentineld did not drain within 15 s of SIGTERM")
	}
	logs := stderr.String()
	for _, want := range []string{`"msg":"draining: signal again to abort"`, `"msg":"drained"`, `"reasons":["not-enrolled"]`} {
		if !strings.Contains(logs, want) {
			t.Errorf("logs lack %s:\n%s", want, logs)
		}
	}
	time.Sleep(50 * time.Millisecond) // the last datagram may still be in flight
	got := notes.String()
	for _, want := range []string{"READY=1\nSTATUS=serving 1 lanes\n", "WATCHDOG=1\n", "STOPPING=1\n"} {
		if !strings.Contains(got, want) {
			t.Errorf("systemd was not sent %q; got:\n%s", want, got)
		}
	}
	r, err := journal.OpenReader(journal.Path(filepath.Join(dir, "data")), time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	// The passage only.
	if v, err := r.Verify(); err != nil || v.Records != 1 {
		t.Errorf("journal: %d records, %v; want 1", v.Records, err)
	}
}
