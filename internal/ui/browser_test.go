package ui

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/browsertest"
	"sentinel/internal/passage"
)

var update = flag.Bool("update", false, "rewrite testdata/screenshots from the browser test")

// artefacts is where the screenshots go: $SENTINEL_ARTIFACTS/ui, or a
// temporary directory.
func artefacts(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if a := os.Getenv("SENTINEL_ARTIFACTS"); a != "" {
		dir = filepath.Join(a, "ui")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// seen is what the page shows, read from the DOM.
type seen struct {
	Lang     string   `json:"lang"`
	Outcome  string   `json:"outcome"`
	Shape    string   `json:"shape"`
	Word     string   `json:"word"`
	Sub      string   `json:"sub"`
	Name     string   `json:"name"`
	Temp     string   `json:"temp"`
	Message  string   `json:"message"`
	Note     string   `json:"note"`
	Colour   string   `json:"colour"`
	Override bool     `json:"override"`
	Banners  []string `json:"banners"`
	Net      string   `json:"net"`
	PINLock  string   `json:"pinlock"`
	Counts   string   `json:"counts"`
	Health   string   `json:"health"`
	Lanes    int      `json:"lanes"`
	// Ref is the passage reference shown, RefQR whether its QR code
	// loaded (its image has a width).
	Ref   string `json:"ref"`
	RefQR bool   `json:"refqr"`
	// Overflow lists elements whose text does not fit on the screen.
	Overflow []string `json:"overflow"`
}

// readPage reads the first lane (or the lane named) and the page around it.
const readPage = `(() => {
  const lane = document.querySelector(LANE ? '.lane[data-lane="' + LANE + '"]' : '.lane');
  const q = (s) => { const e = lane && lane.querySelector(s); return e ? e.textContent : ''; };
  const shape = lane && lane.querySelector('.big svg');
  const over = [];
  for (const e of document.querySelectorAll('.lane, .lane *, #top, #top *, #bottom, #banners *')) {
    const r = e.getBoundingClientRect();
    if (r.width === 0) continue;
    if (r.right > innerWidth + 1 || r.bottom > innerHeight + 1) over.push((e.className || e.tagName) + ' ' + (e.textContent || '').slice(0, 40));
  }
  return {
    lang: document.documentElement.lang,
    outcome: lane ? lane.dataset.outcome : '',
    shape: shape ? shape.dataset.shape : '',
    word: q('.word'), sub: q('.sub'), name: q('.name'), temp: q('.temp'), message: q('.message'), note: q('.overridenote'),
    colour: q('.codecolour'),
    override: !!(lane && lane.querySelector('button.override')),
    banners: [...document.querySelectorAll('#banners .banner')].map((b) => b.textContent),
    net: document.getElementById('net').textContent,
    pinlock: document.getElementById('pinlock').hidden ? '' : document.getElementById('pinlock').textContent,
    counts: document.getElementById('counts').textContent,
    health: document.getElementById('health').textContent,
    lanes: document.querySelectorAll('.lane').length,
    ref: q('.refcode'),
    refqr: !!(lane && lane.querySelector('img.refqr') && lane.querySelector('img.refqr').naturalWidth > 0),
    overflow: over,
  };
})()`

func read(ctx context.Context, lane string) (seen, error) {
	return chromedp.Run(ctx, chromedp.Evaluate[seen](strings.Replace(readPage, "LANE", fmt.Sprintf("%q", lane), 2)))
}

func celsius(c float64) physic.Temperature {
	return physic.ZeroCelsius + physic.Temperature(c*1000)*physic.MilliKelvin
}

// TestBrowser drives the page in headless Chromium: for each verdict it
// pushes the event, waits for the page to show it, checks the words,
// shapes and banners a guard reads, and saves a screenshot at 800×480, a
// 7" kiosk panel.
func TestBrowser(t *testing.T) {
	exe := browsertest.Exec(t, "the guard display's browser test")
	out := artefacts(t)

	clk := &fakeClock{t: time.Date(2026, 11, 29, 1, 42, 0, 0, time.UTC)}
	var shown *Server
	gate := &fakeGate{pin: "246810"}
	s := New(Options{
		Lang: "en", Site: "Huaxin supermarket · east gate", Lanes: []string{"in-1"},
		Now: clk.Now, Location: time.FixedZone("CST", 8*3600),
		AdmitHold: 30 * time.Second, RefuseHold: 60 * time.Second,
		OnOverride: func(ctx context.Context, o Override) error {
			if err := gate.override(ctx, o); err != nil {
				return err
			}
			// The gate journals the override and shows it, as it does.
			shown.Show(Shown{Lane: o.Lane, Verdict: passage.Admit, Colour: credential.ColourRed, MaskedName: "Li *", Reasons: []string{"guard-override"}, OverrideReason: o.Reason})
			return nil
		},
	})
	shown = s
	// The handler can be swapped, as a restarted daemon would serve anew.
	var handler atomic.Value
	handler.Store(s.Handler())
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		handler.Load().(http.Handler).ServeHTTP(w, r)
	})) // 127.0.0.1
	t.Cleanup(ts.Close)
	t.Cleanup(func() { s.Close() })

	healthy := Status{
		Online: true, LastSync: clk.Now().Add(-3 * time.Minute),
		Lanes: []LaneStatus{{Name: "in-1", Scanner: DeviceOK, Camera: DeviceOK, Thermometer: DeviceOK}},
		Bundles: []Bundle{
			{Kind: trust.KindTrust, Freshness: trust.FreshnessFresh},
			{Kind: trust.KindStatusBase, Freshness: trust.FreshnessFresh},
			{Kind: trust.KindPolicy, Freshness: trust.FreshnessFresh},
		},
	}
	s.SetStatus(healthy)

	chrome := browsertest.Start(t, exe, 800, 480)
	ctx := chrome.Ctx

	step := func(timeout time.Duration, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, timeout)
		defer scancel()
		if err := chromedp.Do(sctx, actions...); err != nil {
			t.Fatalf("browser: %v", err)
		}
	}
	waitFor := func(what, predicate string) {
		t.Helper()
		sctx, scancel := context.WithTimeout(ctx, 10*time.Second)
		defer scancel()
		for {
			_, err := chromedp.Run(sctx, chromedp.Poll[bool](predicate, chromedp.WithPollingInterval(20*time.Millisecond)))
			if err == nil {
				return
			}
			if sctx.Err() != nil {
				got, _ := read(ctx, "")
				t.Fatalf("waiting for %s: %v; the page shows %+v", what, err, got)
			}
			// The page navigated (it reloads itself in a new language): poll again.
			time.Sleep(50 * time.Millisecond)
		}
	}
	shoot := func(name string) {
		t.Helper()
		png, err := chromedp.Run(ctx, chromedp.CaptureScreenshot())
		if err != nil {
			t.Fatalf("screenshot %s: %v", name, err)
		}
		if err := os.WriteFile(filepath.Join(out, name+".png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
		if *update {
			dir := filepath.Join("testdata", "screenshots")
			if err := os.MkdirAll(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			small, err := shrinkPNG(png)
			if err != nil {
				t.Fatalf("shrink %s: %v", name, err)
			}
			if err := os.WriteFile(filepath.Join(dir, name+".png"), small, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	// laneShows waits until lane in-1 shows outcome with text in it.
	laneShows := func(outcome, text string) string {
		return fmt.Sprintf(`(() => { const l = document.querySelector('.lane[data-lane="in-1"]'); return !!l && l.dataset.outcome === %q && l.textContent.includes(%q); })()`, outcome, text)
	}

	step(20*time.Second, chromedp.EmulateViewport(800, 480), chromedp.Navigate(ts.URL+"/"))

	type want struct {
		outcome, shape, word string
		contains             []string // in the lane
		banners              []string
		override             bool
	}
	check := func(name, lane string, w want) seen {
		t.Helper()
		got, err := read(ctx, lane)
		if err != nil {
			t.Fatalf("%s: read the page: %v", name, err)
		}
		if got.Outcome != w.outcome || got.Shape != w.shape || got.Word != w.word {
			t.Errorf("%s: got %s %s %q, want %s %s %q", name, got.Outcome, got.Shape, got.Word, w.outcome, w.shape, w.word)
		}
		all := strings.Join([]string{got.Sub, got.Name, got.Temp, got.Message, got.Note, got.Colour}, " | ")
		for _, c := range w.contains {
			if !strings.Contains(all, c) {
				t.Errorf("%s: the lane shows %q, want it to contain %q", name, all, c)
			}
		}
		if len(got.Banners) != len(w.banners) {
			t.Errorf("%s: got banners %q, want %d", name, got.Banners, len(w.banners))
		}
		for i, b := range w.banners {
			if i < len(got.Banners) && !strings.Contains(got.Banners[i], b) {
				t.Errorf("%s: got banner %q, want %q", name, got.Banners[i], b)
			}
		}
		if got.Override != w.override {
			t.Errorf("%s: override button shown %v, want %v", name, got.Override, w.override)
		}
		if len(got.Overflow) > 0 {
			t.Errorf("%s: text runs off the 800×480 screen: %q", name, got.Overflow)
		}
		return got
	}

	// Ready.
	waitFor("the first snapshot", `!document.body.classList.contains('connecting') && !!document.querySelector('.lane[data-outcome="ready"]')`)
	got := check("ready", "", want{outcome: "ready", shape: "frame", word: "READY", contains: []string{"Show your code"}})
	if got.Net != "● Online" || !strings.Contains(got.Health, "Scanner OK") || !strings.Contains(got.Health, "Keys fresh") {
		t.Errorf("ready: got net %q health %q, want online and devices OK", got.Net, got.Health)
	}
	shoot("01-ready")

	// Admitted: green, circle, PASS.
	s.Show(Shown{Lane: "in-1", Verdict: passage.Admit, Colour: credential.ColourGreen, MaskedName: "Zhang *", Temperature: passage.Temperature{State: passage.TempOK, Value: celsius(36.6)}})
	waitFor("admit", laneShows("admit", "Zhang *"))
	check("admit", "", want{outcome: "admit", shape: "circle", word: "PASS", contains: []string{"Gate open", "Zhang *", "36.6 °C", "Code: green"}})
	shoot("02-admit-green")

	// Refused: red, octagon, STOP, the reason in words.
	s.Show(Shown{Lane: "in-1", Verdict: passage.Deny, Colour: credential.ColourRed, MaskedName: "Li *", Temperature: passage.Temperature{State: passage.TempOK, Value: celsius(36.4)},
		Reasons: []string{"colour-red"}, Message: map[string]string{"en": "Red code. Refuse entry.", "zh": "红码。拒绝通行。"},
		OverrideReasons: []string{"emergency"}, Ref: "8YLT-3B84-P54Q"})
	waitFor("deny", laneShows("deny", "Li *"))
	waitFor("the appeal reference's QR code", `(() => { const i = document.querySelector('.lane img.refqr'); return !!i && i.complete && i.naturalWidth > 0; })()`)
	got = check("refused", "", want{outcome: "deny", shape: "octagon", word: "STOP", contains: []string{"Gate stays shut", "Red code. Refuse entry.", "Code: red", "Override for emergencies only"}, override: true})
	if got.Ref != "8YLT-3B84-P54Q" || !got.RefQR {
		t.Errorf("refused: the lane shows reference %q (QR code %v), want 8YLT-3B84-P54Q with its QR code", got.Ref, got.RefQR)
	}
	shoot("03-refused-red")

	// The guard overrides: the pad, a wrong PIN, then the right one.
	step(5*time.Second, chromedp.Click(chromedp.CSS(".lane button.override")), chromedp.WaitVisible(chromedp.CSS("#pad")))
	for _, k := range "111111" {
		step(5*time.Second, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#keys button[data-key="%c"]`, k))))
	}
	// A red code: the pad offers an emergency only, chosen already.
	waitFor("the only reason, chosen", `document.querySelectorAll('#reasons button').length === 1 && document.querySelector('#reasons button[data-reason="emergency"]').getAttribute('aria-pressed') === 'true'`)
	waitFor("six PIN dots", `document.getElementById('pindots').textContent === '●●●●●●'`)
	shoot("04-override-pad")
	step(5*time.Second, chromedp.Click(chromedp.CSS("#padsubmit")))
	waitFor("the wrong-PIN message", `document.getElementById('padmsg').textContent.includes('Wrong PIN')`)
	shoot("05-override-wrong-pin")
	for _, k := range "246810" {
		step(5*time.Second, chromedp.Click(chromedp.CSS(fmt.Sprintf(`#keys button[data-key="%c"]`, k))))
	}
	step(5*time.Second, chromedp.Click(chromedp.CSS("#padsubmit")))
	waitFor("the override", laneShows("admit", "Admitted by the guard"))
	waitFor("the pad to close", `document.getElementById('pad').hidden`)
	gate.mu.Lock()
	if want := (Override{Lane: "in-1", PIN: "246810", Reason: "emergency"}); len(gate.got) != 1 || gate.got[0] != want {
		t.Errorf("the gate got %+v, want %+v", gate.got, want)
	}
	gate.mu.Unlock()
	got = check("override", "", want{outcome: "admit", shape: "circle", word: "PASS", contains: []string{"Admitted by the guard: Emergency", "Li *"}})
	if got.Ref != "" || got.RefQR {
		t.Errorf("override: the lane shows reference %q (QR code %v), want none: nothing to appeal", got.Ref, got.RefQR)
	}
	shoot("06-override-admitted")

	// Referred: a yellow code at a pharmacy.
	s.Show(Shown{Lane: "in-1", Verdict: passage.Refer, Colour: credential.ColourYellow, MaskedName: "Wang *", Temperature: passage.Temperature{State: passage.TempOK, Value: celsius(36.8)},
		Reasons: []string{"colour-yellow"}, Message: map[string]string{"en": "Yellow code.", "zh": "黄码。"}, OverrideReasons: defaultOverrideReasons})
	waitFor("refer", laneShows("refer", "Wang *"))
	check("refer yellow", "", want{outcome: "refer", shape: "triangle", word: "CHECK", contains: []string{"Guard: check this person", "Yellow code.", "Code: yellow"}, override: true})
	shoot("07-refer-yellow")

	// Referred: a fever on a green code.
	s.Show(Shown{Lane: "in-1", Verdict: passage.Refer, Colour: credential.ColourGreen, MaskedName: "Zhao *", Temperature: passage.Temperature{State: passage.TempOK, Value: celsius(38.1)}, Fever: true,
		Reasons: []string{"fever"}, Message: map[string]string{"en": "Temperature high. Retake it with a clinical thermometer.", "zh": "体温偏高。请用医用体温计复测。"}, OverrideReasons: defaultOverrideReasons, Ref: "K3ZW-7PQD-2MXH"})
	waitFor("fever", laneShows("refer", "Zhao *"))
	waitFor("the fever's appeal reference", `(() => { const i = document.querySelector('.lane img.refqr'); return !!i && i.complete && i.naturalWidth > 0; })()`)
	check("refer fever", "", want{outcome: "refer", shape: "triangle", word: "CHECK", contains: []string{"38.1 °C", "▲ HIGH", "Temperature high"}, override: true})
	shoot("08-refer-fever")

	// The journal cannot commit: the manual procedure, on a terminal that
	// is also offline with a broken thermometer and stale data.
	degraded := healthy
	degraded.Online = false
	degraded.LastSync = clk.Now().Add(-26 * time.Hour)
	degraded.OverridesLockedUntil = clk.Now().Add(30 * time.Minute)
	degraded.Lanes = []LaneStatus{{Name: "in-1", Scanner: DeviceOK, Camera: DeviceFault, Thermometer: DeviceFault}}
	degraded.Bundles = []Bundle{
		{Kind: trust.KindTrust, Freshness: trust.FreshnessGrace, NoValueSets: true},
		{Kind: trust.KindStatusBase, Freshness: trust.FreshnessStale},
		{Kind: trust.KindPolicy, Freshness: trust.FreshnessFresh, EUCountry: "AT", EURules: 25, EURulesValid: 21},
	}
	s.SetStatus(degraded)
	s.Show(Shown{Lane: "in-1", Verdict: passage.Deny, Colour: credential.ColourGreen, MaskedName: "Chen *", Temperature: passage.Temperature{State: passage.TempUnavailable},
		Reasons: []string{"journal-unavailable"}, Manual: true,
		Message: map[string]string{"en": "The terminal cannot record passages: keep the gate shut and switch to the manual procedure.", "zh": "终端无法记录通行：保持闸门关闭，改用人工流程。"}})
	waitFor("manual", laneShows("deny", "Chen *")+` && !!document.getElementById('banner-manual')`)
	got = check("manual", "", want{outcome: "deny", shape: "octagon", word: "STOP", contains: []string{"thermometer fault", "NOT RECORDED"}, banners: []string{"MANUAL PROCEDURE"}})
	for _, w := range []string{"Thermometer FAULT", "Camera FAULT: use the scanner, tell your supervisor", "Status list STALE", "Keys grace", "no EU value sets: EU certificate codes not checked", "EU rules AT 21/25 valid now"} {
		if !strings.Contains(got.Health, w) {
			t.Errorf("manual: health shows %q, want %q", got.Health, w)
		}
	}
	if !strings.Contains(got.Net, "OFFLINE") {
		t.Errorf("manual: got net %q, want OFFLINE", got.Net)
	}
	if got.PINLock != "! Overrides locked: 30 min" {
		t.Errorf("manual: the top bar says %q, want overrides locked for 30 min", got.PINLock)
	}
	shoot("09-manual-procedure")

	// Not enrolled: every person is referred to the guard.
	notEnrolled := healthy
	notEnrolled.NotEnrolled = true
	notEnrolled.Bundles = []Bundle{{Kind: trust.KindTrust, Freshness: trust.FreshnessBlocked}, {Kind: trust.KindStatusBase, Freshness: trust.FreshnessBlocked}}
	s.SetStatus(notEnrolled)
	s.Show(Shown{Lane: "in-1", Verdict: passage.Refer, MaskedName: "Sun *", Reasons: []string{"not-enrolled"},
		Message: map[string]string{"en": "This gate is not enrolled yet. Check every person by hand.", "zh": "本设备尚未注册。请人工核验每位人员。"}, OverrideReasons: defaultOverrideReasons})
	waitFor("not enrolled", laneShows("refer", "Sun *")+` && !!document.getElementById('banner-notenrolled') && !document.getElementById('banner-manual')`)
	got = check("not enrolled", "", want{outcome: "refer", shape: "triangle", word: "CHECK", contains: []string{"not enrolled yet"}, banners: []string{"NOT ENROLLED"}, override: true})
	if !strings.Contains(got.Health, "Keys NONE") {
		t.Errorf("not enrolled: health shows %q, want Keys NONE", got.Health)
	}
	for _, want := range []string{"Admitted1", "Refused1", "Referred3", "Overrides1"} {
		if !strings.Contains(got.Counts, want) {
			t.Errorf("got counts %q, want %s", got.Counts, want)
		}
	}
	shoot("10-not-enrolled")

	// A damaged journal was replaced at start: the lanes work, the guard
	// tells the supervisor.
	replaced := healthy
	replaced.JournalReplaced = true
	s.SetStatus(replaced)
	waitFor("journal replaced", `!!document.getElementById('banner-journal') && document.getElementById('banner-journal').textContent.includes('JOURNAL REPLACED') && !document.getElementById('banner-manual')`)
	s.SetStatus(healthy)
	waitFor("journal banner gone", `!document.getElementById('banner-journal')`)

	// An untrusted clock says why.
	noTime := healthy
	noTime.ClockUntrusted, noTime.ClockReason = true, "central-no-time"
	s.SetStatus(noTime)
	waitFor("clock reason", `document.getElementById('clockwarn').textContent.includes('CLOCK NOT SET: the centre does not sign its time')`)

	// The site switches to Chinese: the page reloads itself in it.
	s.SetStatus(healthy)
	s.SetLang("zh")
	waitFor("the Chinese page", `document.documentElement.lang === 'zh-CN' && !!document.querySelector('.lane')`)
	s.Show(Shown{Lane: "in-1", Verdict: passage.Deny, Colour: credential.ColourRed, MaskedName: "李 *", Temperature: passage.Temperature{State: passage.TempOK, Value: celsius(36.5)},
		Reasons: []string{"colour-red"}, Message: map[string]string{"en": "Red code. Refuse entry.", "zh": "红码。拒绝通行。"}, OverrideReasons: []string{"emergency"}})
	waitFor("deny in Chinese", laneShows("deny", "李 *"))
	got = check("zh refused", "", want{outcome: "deny", shape: "octagon", word: "禁止通行", contains: []string{"闸门关闭", "红码。拒绝通行。", "健康码：红码", "36.5 °C"}, override: true})
	if got.Lang != "zh-CN" || !strings.Contains(got.Net, "在线") {
		t.Errorf("zh: got lang %q net %q, want zh-CN 在线", got.Lang, got.Net)
	}
	shoot("11-zh-refused")

	// Two lanes side by side, in Chinese: a second lane admits.
	s.SetStatus(Status{Online: true, LastSync: clk.Now(), Lanes: []LaneStatus{
		{Name: "in-1", Scanner: DeviceOK, Camera: DeviceOK, Thermometer: DeviceOK},
		{Name: "out-1", Scanner: DeviceOK, Camera: DeviceAbsent, Thermometer: DeviceAbsent},
	}, Bundles: healthy.Bundles})
	s.Show(Shown{Lane: "out-1", Verdict: passage.Admit, Colour: credential.ColourGreen, MaskedName: "欧阳 *", Temperature: passage.Temperature{State: passage.TempNotTaken}})
	waitFor("two lanes", `document.querySelectorAll('.lane').length === 2 && !!document.querySelector('.lane[data-lane="out-1"][data-outcome="admit"]')`)
	check("zh two lanes", "out-1", want{outcome: "admit", shape: "circle", word: "通行", contains: []string{"欧阳 *", "闸门已开"}})
	check("zh two lanes", "in-1", want{outcome: "deny", shape: "octagon", word: "禁止通行", contains: []string{"红码。拒绝通行。"}, override: true})
	shoot("12-zh-two-lanes")

	// A camera that refuses: the guard reads what to do, in Chinese; a
	// lane with no scanner says to check the codes by hand.
	s.SetStatus(Status{Online: true, LastSync: clk.Now(), Lanes: []LaneStatus{
		{Name: "in-1", Scanner: DeviceOK, Camera: DeviceFault, Thermometer: DeviceOK},
		{Name: "out-1", Scanner: DeviceAbsent, Camera: DeviceFault, Thermometer: DeviceAbsent},
	}, Bundles: healthy.Bundles})
	waitFor("camera faults in Chinese", `document.getElementById('health').textContent.includes('in-1 摄像头故障：请用扫码器扫码，并告知主管')`)
	got, err := read(ctx, "")
	if err != nil {
		t.Fatalf("zh camera fault: read the page: %v", err)
	}
	if !strings.Contains(got.Health, "out-1 摄像头故障：请人工核验每个健康码，并告知主管") {
		t.Errorf("zh camera fault: health shows %q, want the lane without a scanner told to check by hand", got.Health)
	}

	// The daemon stops: the page hides the last verdict and says so.
	s.Close()
	waitFor("the disconnected overlay", `document.body.classList.contains('connecting') && getComputedStyle(document.getElementById('disconnected')).display !== 'none'`)
	shoot("13-zh-disconnected")

	// The daemon is back: the page reconnects by itself, reloads for the
	// new daemon's token and shows its state.
	s2 := New(Options{Lang: "zh", Site: "Huaxin supermarket · east gate", Lanes: []string{"in-1"}, Now: clk.Now, Location: time.FixedZone("CST", 8*3600), AdmitHold: 30 * time.Second})
	t.Cleanup(func() { s2.Close() })
	s2.SetStatus(healthy)
	s2.Show(Shown{Lane: "in-1", Verdict: passage.Admit, Colour: credential.ColourGreen, MaskedName: "周 *", Temperature: passage.Temperature{State: passage.TempOK, Value: celsius(36.7)}})
	handler.Store(s2.Handler())
	waitFor("the page back on the restarted daemon", `!document.body.classList.contains('connecting') && `+laneShows("admit", "周 *"))
	got = check("zh reconnected", "", want{outcome: "admit", shape: "circle", word: "通行", contains: []string{"36.7 °C", "闸门已开"}})
	if !strings.Contains(got.Counts, "已通行1") || !strings.Contains(got.Counts, "已拒绝0") || got.Lanes != 1 {
		t.Errorf("zh reconnected: got counts %q lanes %d, want the new daemon's", got.Counts, got.Lanes)
	}
	shoot("14-zh-reconnected")

	for _, m := range chrome.Console() {
		// Expected: the wrong PIN's 403 and the stream's 503 after Close.
		expected := strings.HasSuffix(m.URL, "/override") && strings.Contains(m.Text, "403") ||
			strings.HasSuffix(m.URL, "/events") && strings.Contains(m.Text, "503")
		if (m.IsException() || m.Type == chromedp.ConsoleError) && !expected {
			t.Errorf("the page logged %s (%s)", m, m.URL)
		}
	}
	names, _ := filepath.Glob(filepath.Join(out, "*.png"))
	slices.Sort(names)
	t.Logf("screenshots: %s (%d)", out, len(names))
}
