package terminal

import (
	"bytes"
	"context"
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

	"sentinel/internal/demo"
	"sentinel/internal/ui"
	"sentinel/internal/version"
	"sentinel/sync/journal"
)

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

func TestRunUsage(t *testing.T) {
	tests := []struct {
		args []string
		want int
	}{
		{[]string{"-nope"}, exitUsage},
		// The demonstration is its own command: sentineld says where.
		{[]string{"-demo"}, exitUsage},
		{[]string{"-demo", "-demo-once", "-data-dir", t.TempDir()}, exitUsage},
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

// A new user who starts sentineld before writing its configuration is told
// what to write and with which command, not only that a file is missing.
func TestRunMissingConfig(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sentinel.toml")
	var stderr bytes.Buffer
	if got := Run(context.Background(), []string{"-config", path}, io.Discard, &stderr); got != exitFailed {
		t.Fatalf("got exit %d, want %d", got, exitFailed)
	}
	for _, want := range []string{"no configuration file at " + path, "sentinelctl config example", "-config FILE"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("got %q, want it to say %q", stderr.String(), want)
		}
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
	// The referral was decided and committed: the histograms hold it.
	fams := parseMetrics(t, metrics)
	for _, name := range []string{"sentinel_decide_seconds", "sentinel_journal_commit_seconds"} {
		if n := histogramCount(t, fams, name); n != 1 {
			t.Errorf("%s: got %d observations, want 1", name, n)
		}
	}
	// Without trust nothing is verified, but the histogram is there.
	if n := histogramCount(t, fams, "sentinel_verify_seconds"); n != 0 {
		t.Errorf("sentinel_verify_seconds: got %d observations, want 0 without trust", n)
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

// TestDemoMoved: sentineld -demo says where the demonstration went, as a
// usage error.
func TestDemoMoved(t *testing.T) {
	var stderr bytes.Buffer
	if got := Run(context.Background(), []string{"-demo", "-demo-once"}, io.Discard, &stderr); got != exitUsage {
		t.Errorf("got exit %d, want %d", got, exitUsage)
	}
	if msg := stderr.String(); strings.Count(msg, "\n") != 1 || !strings.Contains(msg, "go run ./cmd/sentinel-demo") {
		t.Errorf("sentineld -demo says %q: want one line naming go run ./cmd/sentinel-demo", msg)
	}
}

// sentineld --version prints the build's version and starts nothing: no
// configuration is read.
func TestRunVersion(t *testing.T) {
	for _, arg := range []string{"-version", "--version"} {
		var stdout, stderr bytes.Buffer
		if got := Run(context.Background(), []string{arg, "-config", filepath.Join(t.TempDir(), "none.toml")}, &stdout, &stderr); got != exitOK {
			t.Fatalf("%s: got exit %d, want %d\n%s", arg, got, exitOK, stderr.String())
		}
		if want := "sentineld " + version.String() + " ("; !strings.HasPrefix(stdout.String(), want) {
			t.Errorf("%s: printed %q, want it to start %q", arg, stdout.String(), want)
		}
	}
}

// TestDaemonPortTaken: a listener address another program holds (another
// sentineld, a demo, a web server on 8080) stops the daemon with what to
// do, not only "bind: address already in use".
func TestDaemonPortTaken(t *testing.T) {
	held, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	dir := t.TempDir()
	cfg := fmt.Sprintf(`data_dir = %q

[terminal]
id = "T-TEST-1"
site_id = "SITE-1"

[central]
url = "http://127.0.0.1:9"

[listen]
display = %q
management = "127.0.0.1:%d"

[[lane]]
name = "in-1"
[lane.camera]
source = "replay"
dir = %q
`, filepath.Join(dir, "data"), held.Addr().String(), freePort(t), dir)
	path := filepath.Join(dir, "sentineld.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	if got := Run(context.Background(), []string{"-config", path}, io.Discard, &stderr); got != exitFailed {
		t.Fatalf("got exit %d, want %d\n%s", got, exitFailed, stderr.String())
	}
	for _, want := range []string{"another program uses " + held.Addr().String(), "[listen] display"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr does not say %q:\n%s", want, stderr.String())
		}
	}
}
