package appliance

import (
	"context"
	"fmt"
	"image/png"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"sentinel/internal/browsertest"
	"sentinel/internal/demo"
	"sentinel/internal/terminal"
)

// headless are the flags this kind of machine needs for Chromium without a
// screen (the project brief), added to the kiosk's own.
var headless = []string{"--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"}

func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestKioskShowsVerdict runs the kiosk unit's Chromium command, headless,
// against a running sentineld whose camera lane replays a code: the page
// it opens (--app, on the daemon's display port) must show the verdict.
// The kiosk's flags are taken from the unit as they are, except the
// profile directory (a temporary one) and the port (the test daemon's).
func TestKioskShowsVerdict(t *testing.T) {
	exe := browsertest.Exec(t, "the kiosk's browser command")
	dir := t.TempDir()
	frames := filepath.Join(dir, "frames")
	if err := os.MkdirAll(frames, 0o700); err != nil {
		t.Fatal(err)
	}
	img, err := demo.RenderQR("HCN1:NOT-A-REAL-CODE", 4)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(filepath.Join(frames, "01.png"))
	if err != nil {
		t.Fatal(err)
	}
	png.Encode(f, img)
	f.Close()
	display, mgmt := freePort(t), freePort(t)
	cfg := fmt.Sprintf(`data_dir = %q
[terminal]
id = "T-KIOSK-1"
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
	path := filepath.Join(dir, "sentinel.toml")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	var stderr lockedBuffer
	done := make(chan int, 1)
	go func() { done <- terminal.Run(ctx, []string{"-config", path}, &stderr, &stderr) }()
	defer func() {
		stop()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("sentineld did not stop")
		}
	}()

	// The kiosk's command: its flags, this daemon's port, a fresh profile.
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(exe), chromedp.UserDataDir(filepath.Join(dir, "profile"))}
	var app string
	for _, a := range append(kioskBrowser(t)[1:], headless...) {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		switch {
		case name == "app":
			u, err := url.Parse(value)
			if err != nil {
				t.Fatal(err)
			}
			u.Host = fmt.Sprintf("%s:%d", u.Hostname(), display)
			app = u.String()
		case name == "user-data-dir":
		case hasValue:
			opts = append(opts, chromedp.Flag(name, value))
		default:
			opts = append(opts, chromedp.Flag(name, true))
		}
	}
	if app == "" {
		t.Fatal("the kiosk's browser has no --app page")
	}
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	bctx, cancelT := context.WithTimeout(bctx, 60*time.Second)
	defer cancelT()

	verdict := `!document.body.classList.contains('connecting') && !!document.querySelector('.lane[data-lane="in-1"][data-outcome="refer"]')`
	if err := chromedp.Do(bctx, chromedp.Navigate(app)); err != nil {
		t.Fatalf("the kiosk's browser could not open %s: %v\ndaemon: %s", app, err, stderr.String())
	}
	if _, err := chromedp.Run(bctx, chromedp.Poll[bool](verdict, chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		html, _ := chromedp.Run(bctx, chromedp.Evaluate[string](`document.body.outerHTML`))
		t.Fatalf("the kiosk page at %s showed no verdict: %v\npage: %.2000s\ndaemon: %s", app, err, html, stderr.String())
	}
	text, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('.lane[data-lane="in-1"]').innerText`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(text) == "" {
		t.Error("the lane with the verdict shows no text")
	}
	t.Logf("kiosk page %s, lane in-1: %q", app, strings.Join(strings.Fields(text), " "))
}
