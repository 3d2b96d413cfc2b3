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
// it opens (--app: the start page, which goes on to the daemon's display
// port) must show the verdict. The kiosk's flags are taken from the unit
// as they are, except the profile directory (a temporary one), the port
// (the test daemon's) and the start page's path (the package's source of
// the installed file).
func TestKioskShowsVerdict(t *testing.T) {
	k := newKiosk(t)
	k.startDaemon(t)
	k.startBrowser(t)
	k.waitVerdict(t)
}

// TestKioskFirstLoadBeforeDaemon: the kiosk's browser starts before
// sentineld listens (a slow or failed start, a restart at that moment). It
// shows the start page ("Starting the terminal"), not Chromium's error
// page, and the display with its verdict once the daemon answers. Before
// the fix the kiosk opened the display's URL directly, and Chromium's
// error page stayed.
func TestKioskFirstLoadBeforeDaemon(t *testing.T) {
	k := newKiosk(t)
	k.startBrowser(t)
	// The daemon is not there: the start page waits, in both languages.
	if _, err := chromedp.Run(k.bctx, chromedp.Poll[bool](`document.body.dataset.state === 'waiting' && document.body.innerText.includes('Starting the terminal') && document.body.innerText.includes('正在启动终端')`,
		chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(10*time.Second))); err != nil {
		html, _ := chromedp.Run(k.bctx, chromedp.Evaluate[string](`document.documentElement.outerHTML`))
		t.Fatalf("with no daemon the kiosk shows no start page: %v\npage: %.2000s", err, html)
	}
	time.Sleep(time.Second) // a few failed asks at the port
	k.startDaemon(t)
	k.waitVerdict(t)
}

// kiosk is a sentineld configuration with a camera lane that replays a
// code, and the kiosk unit's browser pointed at its display.
type kiosk struct {
	exe, dir, config string
	display, mgmt    int
	stderr           lockedBuffer
	// tab is the browser's tab, bctx the same bounded by the test's
	// deadline.
	tab, bctx context.Context
}

func newKiosk(t *testing.T) *kiosk {
	k := &kiosk{exe: browsertest.Exec(t, "the kiosk's browser command"), dir: t.TempDir()}
	frames := filepath.Join(k.dir, "frames")
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
	k.display, k.mgmt = freePort(t), freePort(t)
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
`, filepath.Join(k.dir, "data"), k.display, k.mgmt, frames)
	k.config = filepath.Join(k.dir, "sentinel.toml")
	if err := os.WriteFile(k.config, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return k
}

// startDaemon runs sentineld in-process until the end of the test.
func (k *kiosk) startDaemon(t *testing.T) {
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() { done <- terminal.Run(ctx, []string{"-config", k.config}, &k.stderr, &k.stderr) }()
	t.Cleanup(func() {
		stop()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			t.Error("sentineld did not stop")
		}
	})
}

// startBrowser starts the kiosk's command, headless, and opens its page.
func (k *kiosk) startBrowser(t *testing.T) {
	opts := []chromedp.ExecAllocatorOption{chromedp.ExecPath(k.exe), chromedp.UserDataDir(filepath.Join(k.dir, "profile"))}
	var app string
	for _, a := range append(kioskBrowser(t)[1:], headless...) {
		name, value, hasValue := strings.Cut(strings.TrimPrefix(a, "--"), "=")
		switch {
		case name == "app":
			app = k.appURL(t, value)
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
	t.Cleanup(cancelAlloc)
	tab, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(cancel)
	k.tab = tab
	bctx, cancelT := context.WithTimeout(tab, 60*time.Second)
	t.Cleanup(cancelT)
	k.bctx = bctx
	if err := chromedp.Do(bctx, chromedp.Navigate(app)); err != nil {
		t.Fatalf("the kiosk's browser could not open %s: %v\ndaemon: %s", app, err, k.stderr.String())
	}
	t.Logf("kiosk page %s", app)
}

// appURL is the unit's --app page for this test: the display's port is
// the test daemon's, and the start page is read from the file the package
// installs at the page's path.
func (k *kiosk) appURL(t *testing.T, value string) string {
	u, err := url.Parse(value)
	if err != nil {
		t.Fatal(err)
	}
	retarget := func(u *url.URL) { u.Host = fmt.Sprintf("%s:%d", u.Hostname(), k.display) }
	if u.Scheme != "file" {
		retarget(u)
		return u.String()
	}
	src := packagedFile(t, u.Path)
	abs, err := filepath.Abs(src)
	if err != nil {
		t.Fatal(err)
	}
	to, err := url.Parse(u.Query().Get("to"))
	if err != nil || to.Host == "" {
		t.Fatalf("the kiosk's start page %s names no display (?to=): %v", value, err)
	}
	retarget(to)
	return (&url.URL{Scheme: "file", Path: abs, RawQuery: url.Values{"to": {to.String()}}.Encode()}).String()
}

// waitVerdict waits until the kiosk shows the display with the lane's
// verdict.
func (k *kiosk) waitVerdict(t *testing.T) {
	verdict := `location.protocol === 'http:' && !document.body.classList.contains('connecting') && !!document.querySelector('.lane[data-lane="in-1"][data-outcome="refer"]')`
	for {
		// The start page navigating to the display ends a poll in
		// progress ("target navigated"): poll again until the deadline.
		_, err := chromedp.Run(k.bctx, chromedp.Poll[bool](verdict, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(5*time.Second)))
		if err == nil {
			break
		}
		if k.bctx.Err() != nil {
			ctx, cancel := context.WithTimeout(k.tab, 5*time.Second)
			html, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`location.href + ' ' + document.body.outerHTML`))
			cancel()
			t.Fatalf("the kiosk page showed no verdict: %v\npage: %.2000s\ndaemon: %s", err, html, k.stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
	text, err := chromedp.Run(k.bctx, chromedp.Evaluate[string](`document.querySelector('.lane[data-lane="in-1"]').innerText`))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(text) == "" {
		t.Error("the lane with the verdict shows no text")
	}
	t.Logf("lane in-1: %q", strings.Join(strings.Fields(text), " "))
}

// packagedFile returns the source, relative to this package, of the file
// the terminal's package installs at dst (packaging/terminal.yaml).
func packagedFile(t *testing.T, dst string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "packaging", "terminal.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	src := ""
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimSpace(line)
		if v, ok := strings.CutPrefix(line, "- src: "); ok {
			src = v
		} else if v, ok := strings.CutPrefix(line, "dst: "); ok && v == dst && src != "" {
			return filepath.Join("..", "..", "packaging", filepath.FromSlash(src))
		}
	}
	t.Fatalf("the terminal's package installs nothing at %s, which the kiosk opens", dst)
	return ""
}
