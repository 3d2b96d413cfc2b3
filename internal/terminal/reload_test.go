package terminal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"sentinel/crypto/trust"
	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/demo"
	"sentinel/internal/gate"
	"sentinel/internal/passage"
	"sentinel/internal/ptytest"
	"sentinel/internal/sdnotify"
	"sentinel/internal/siteconfig"
)

type systemClock struct{}

func (systemClock) Now() (time.Time, bool) { return time.Now(), true }

// TestBundleReload starts a terminal that is not enrolled, then puts a
// pinned root and signed bundles in its data directory, as enrolment and
// sync do: the next passages are decided with them.
func TestBundleReload(t *testing.T) {
	ptytest.Need(t, "the demo's serial lane")
	dm, err := demo.Prepare(demo.Options{Dir: t.TempDir(), Now: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	defer dm.Close()

	cfg := firmwareconfig.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Terminal = firmwareconfig.Terminal{ID: "T-1", SiteID: "S-1"}
	cfg.Listen = firmwareconfig.Listen{Display: "127.0.0.1:0", Management: "127.0.0.1:0"}
	cfg.Lanes = []firmwareconfig.Lane{{Name: "in-1", Scanners: []firmwareconfig.Scanner{{
		Type: firmwareconfig.ScannerSerial, Port: filepath.Join(t.TempDir(), "no-such-tty"), Framing: firmwareconfig.FramingCR,
	}}}}
	ready := make(chan *gate.Gate, 1)
	d := &daemon{
		cfg: cfg, logger: slog.New(slog.DiscardHandler), hw: hostHardware(), notify: sdnotify.New(""),
		clock: systemClock{}, reloadEvery: 10 * time.Millisecond,
		serving: func(d *daemon) { ready <- d.gate },
	}
	ctx, drain := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- d.run(context.Background(), ctx) }()
	var g *gate.Gate
	select {
	case g = <-ready:
	case err := <-done:
		t.Fatalf("run: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("not serving within 10 s")
	}
	if st := g.State(); st.Enrolled || st.Verifier != nil {
		t.Fatal("enrolled without a root")
	}
	// Not enrolled: the person is referred, and the guard's override is
	// refused because the terminal has no guard PINs yet.
	ctx0 := context.Background()
	if res, _ := g.Process(ctx0, "in-1", []byte("HELLO")); res.Passage.Decision != passage.Refer {
		t.Fatalf("not enrolled: got %s, want refer", res.Passage.Decision)
	}
	if _, err := g.Override(ctx0, "in-1", "135790", gate.OverrideReasons()[0]); !errors.Is(err, gate.ErrNoGuards) {
		t.Errorf("override before any site settings: got %v, want ErrNoGuards", err)
	}

	for _, name := range []string{rootFile, "bundles/trust.bundle", "bundles/config.bundle", "bundles/policy.bundle", "bundles/status-base.bundle"} {
		data, err := os.ReadFile(filepath.Join(dm.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(cfg.DataDir, name)
		os.MkdirAll(filepath.Dir(p), 0o700)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// The files land one by one, as the sync client writes them, and a
	// reload may see some before the rest: wait until every one is in.
	loaded := func(st *gate.State) bool {
		return st.Enrolled && st.Site.Type == gate.Supermarket && st.Status != nil && st.Bundles[trust.KindPolicy].Version == 1
	}
	deadline := time.Now().Add(10 * time.Second)
	for !loaded(g.State()) {
		if time.Now().After(deadline) {
			st := g.State()
			t.Fatalf("after 10 s: enrolled %v, site %s, status list %v, policy v%d; want the demo's supermarket, its status list and policy v1",
				st.Enrolled, st.Site.Type, st.Status != nil, st.Bundles[trust.KindPolicy].Version)
		}
		time.Sleep(5 * time.Millisecond)
	}
	// The demo's site settings name a guard: a wrong PIN is now wrong,
	// and counts towards the lockout kept in the data directory.
	if _, err := g.Override(ctx0, "in-1", "135790", gate.OverrideReasons()[0]); !errors.Is(err, gate.ErrBadPIN) {
		t.Errorf("override with a wrong PIN: got %v, want ErrBadPIN", err)
	}
	if st, err := loadPINState(cfg.DataDir); err != nil || st.Failures != 1 {
		t.Errorf("saved PIN lockout: got %+v, %v; want 1 failure", st, err)
	}
	drain()
	if err := <-done; err != nil {
		t.Errorf("run: %v", err)
	}
}

// TestRetentionFollowsSiteSettings: a config bundle with another
// retention_days and time zone, written while sentineld runs, sets the
// journal's retention for its next purge and the display's time zone, as
// the other site settings take effect at once. Before, the retention and
// the time zone read at start stayed until a restart.
func TestRetentionFollowsSiteSettings(t *testing.T) {
	f := newHoldFixture(t)
	cfg := firmwareconfig.DefaultConfig()
	cfg.DataDir = f.dir
	cfg.Terminal = firmwareconfig.Terminal{ID: "T-1", SiteID: "S-1"}
	cfg.Listen = firmwareconfig.Listen{Display: "127.0.0.1:0", Management: "127.0.0.1:0"}
	cfg.Lanes = []firmwareconfig.Lane{{Name: "in-1", Scanners: []firmwareconfig.Scanner{{
		Type: firmwareconfig.ScannerSerial, Port: filepath.Join(t.TempDir(), "no-such-tty"), Framing: firmwareconfig.FramingCR,
	}}}}
	logs := &syncBuffer{}
	d := &daemon{
		cfg: cfg, logger: slog.New(slog.NewTextHandler(logs, nil)), hw: hostHardware(), notify: sdnotify.New(""),
		clock: systemClock{}, reloadEvery: 10 * time.Millisecond, syncEvery: time.Hour,
	}
	r := runDaemon(t, d, logs)
	if got, want := d.journal.Retention(), siteconfig.DefaultRetentionDays*24*time.Hour; got != want {
		t.Fatalf("retention at start: %v, want the site's %v", got, want)
	}
	tzOffset := func() int {
		resp, err := http.Get("http://" + d.displayAddr.String() + "/state")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var st struct {
			TZOffset int `json:"tz_offset"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
			t.Fatal(err)
		}
		return st.TZOffset
	}
	if got := tzOffset(); got != 8*3600 {
		t.Fatalf("display's offset at start: %d s, want Asia/Shanghai's %d", got, 8*3600)
	}
	site := siteconfig.Default(siteconfig.Supermarket)
	site.RetentionDays = 3
	site.TimeZone = "UTC"
	payload, err := siteconfig.Marshal(site)
	if err != nil {
		t.Fatal(err)
	}
	f.put(t, bundleName(trust.KindConfig), f.seal(t, trust.KindConfig, 2, 0, payload))
	waitFor(t, "the journal's retention at 3 days", func() (bool, string) {
		got := d.journal.Retention()
		return got == 3*24*time.Hour, fmt.Sprintf("retention %v\n%s", got, logs.String())
	})
	// The time zone too: the display's clock and day follow it at once.
	if got := tzOffset(); got != 0 {
		t.Errorf("display's offset after the site moved to UTC: %d s, want 0", got)
	}
	r.stop(t)
}
