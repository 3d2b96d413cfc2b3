// Package browsertest starts a real headless Chromium for the tests of
// Sentinel's web pages (the guard display, the ops page), with the flags
// this kind of machine needs, and collects the page's console messages.
//
// Where Chromium is not installed the test is skipped with a loud message,
// and fails instead when CI=true, so that CI always runs it for real.
package browsertest

import (
	"context"
	"os"
	"os/exec"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"
)

// Exec finds the browser, or skips the test loudly (fails when CI=true).
// what names the test for the message.
func Exec(t testing.TB, what string) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "CHROMIUM NOT INSTALLED: " + what + " did not run (apt-get install chromium)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// Browser is a headless Chromium tab.
type Browser struct {
	Ctx context.Context // run chromedp actions with it

	mu   sync.Mutex
	msgs []chromedp.ConsoleMessage
}

// Start launches exe headless with a fresh profile in t.TempDir(), a
// width×height window, and no network of its own (no background
// networking, sync, component updates or QUIC). The browser is closed at
// the end of the test.
func Start(t testing.TB, exe string, width, height int) *Browser {
	t.Helper()
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(t.Context(),
		chromedp.ExecPath(exe),
		chromedp.Flag("headless", true),
		chromedp.Flag("no-sandbox", true),
		chromedp.Flag("disable-gpu", true),
		chromedp.Flag("no-first-run", true),
		chromedp.Flag("no-default-browser-check", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(width, height),
	)
	ctx, cancel := chromedp.NewContext(allocCtx)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	b := &Browser{Ctx: ctx}
	console := chromedp.Console(ctx)
	go func() {
		for m, err := range console {
			if err != nil {
				return
			}
			b.mu.Lock()
			b.msgs = append(b.msgs, m)
			b.mu.Unlock()
		}
	}()
	return b
}

// Console returns the console messages so far.
func (b *Browser) Console() []chromedp.ConsoleMessage {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]chromedp.ConsoleMessage(nil), b.msgs...)
}
