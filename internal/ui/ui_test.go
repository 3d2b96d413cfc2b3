package ui

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/clock"
	"sentinel/internal/passage"
)

var t0 = time.Date(2026, 11, 29, 9, 30, 0, 0, time.UTC)

// fakeClock is the terminal's clock in tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// newTest starts a display on an httptest server; the clock starts at t0.
func newTest(t *testing.T, opts Options) (*Server, *httptest.Server, *fakeClock) {
	t.Helper()
	clk := &fakeClock{t: t0}
	if opts.Now == nil {
		opts.Now = clk.Now
	}
	s := New(opts)
	ts := httptest.NewServer(s.Handler())
	t.Cleanup(ts.Close)
	t.Cleanup(func() { s.Close() }) // runs first: ends the streams
	return s, ts, clk
}

func get(t *testing.T, url string) (int, string, http.Header) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(b), res.Header
}

func state(t *testing.T, ts *httptest.Server, query string) snapshot {
	t.Helper()
	code, body, _ := get(t, ts.URL+"/state"+query)
	if code != http.StatusOK {
		t.Fatalf("GET /state: got %d, want 200: %s", code, body)
	}
	var s snapshot
	if err := json.Unmarshal([]byte(body), &s); err != nil {
		t.Fatal(err)
	}
	return s
}

func TestPageLanguage(t *testing.T) {
	s, ts, _ := newTest(t, Options{Lang: "zh-CN", Site: "Huaxin"})
	tests := []struct {
		name, query           string
		wantLang, wantExplain string
		wantText              []string
	}{
		{"site language", "", `lang="zh-CN"`, `content="false"`, []string{"哨兵闸机", "显示屏未连接终端"}},
		{"asked for English", "?lang=en", `lang="en"`, `content="true"`, []string{"Sentinel gate", "Display not connected"}},
		{"asked for zh_TW", "?lang=zh_TW", `lang="zh-CN"`, `content="true"`, []string{"确认放行"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, body, h := get(t, ts.URL+"/"+tt.query)
			if code != http.StatusOK {
				t.Fatalf("got status %d, want 200", code)
			}
			if ct := h.Get("Content-Type"); !strings.HasPrefix(ct, "text/html") {
				t.Errorf("got Content-Type %q, want text/html", ct)
			}
			if !strings.Contains(h.Get("Content-Security-Policy"), "default-src 'self'") {
				t.Errorf("got CSP %q, want default-src 'self'", h.Get("Content-Security-Policy"))
			}
			for _, want := range append([]string{tt.wantLang, tt.wantExplain, s.token, s.epoch}, tt.wantText...) {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %q", want)
				}
			}
		})
	}

	s.SetLang("en")
	if _, body, _ := get(t, ts.URL+"/"); !strings.Contains(body, `lang="en"`) {
		t.Errorf("after SetLang(en) the page is not in English")
	}
	if st := state(t, ts, ""); st.SiteLang != LangEN {
		t.Errorf("got site_lang %q, want en", st.SiteLang)
	}
}

func TestAssetsEmbedded(t *testing.T) {
	_, ts, _ := newTest(t, Options{})
	for _, tt := range []struct{ path, ctype string }{
		{"/assets/app.js", "javascript"},
		{"/assets/app.css", "text/css"},
	} {
		t.Run(tt.path, func(t *testing.T) {
			code, body, h := get(t, ts.URL+tt.path)
			if code != http.StatusOK || len(body) < 1000 {
				t.Fatalf("got %d with %d bytes, want 200 and the asset", code, len(body))
			}
			if !strings.Contains(h.Get("Content-Type"), tt.ctype) {
				t.Errorf("got Content-Type %q, want %s", h.Get("Content-Type"), tt.ctype)
			}
			if strings.Contains(body, "http://") && !strings.Contains(body, "http://www.w3.org/2000/svg") || strings.Contains(body, "https://") {
				t.Errorf("%s names a network address; the display must work offline", tt.path)
			}
		})
	}
}

func TestHostGuard(t *testing.T) {
	s := New(Options{Hosts: []string{"gate.local"}})
	h := s.Handler()
	for _, tt := range []struct {
		host string
		want int
	}{
		{"127.0.0.1:8080", http.StatusOK},
		{"[::1]:8080", http.StatusOK},
		{"localhost:8080", http.StatusOK},
		{"gate.local", http.StatusOK},
		{"attacker.example:8080", http.StatusMisdirectedRequest},
		{"192.168.1.20:8080", http.StatusMisdirectedRequest},
	} {
		t.Run(tt.host, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/state", nil)
			r.Host = tt.host
			w := httptest.NewRecorder()
			h.ServeHTTP(w, r)
			if w.Code != tt.want {
				t.Errorf("got %d, want %d", w.Code, tt.want)
			}
		})
	}
}

// event is one server-sent event.
type event struct{ id, name, data string }

// stream reads server-sent events.
type stream struct {
	t    *testing.T
	body io.ReadCloser
	r    *bufio.Reader
}

func openStream(t *testing.T, ts *httptest.Server, lastID string) *stream {
	t.Helper()
	req, _ := http.NewRequest("GET", ts.URL+"/events", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { res.Body.Close() })
	if ct := res.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/event-stream") {
		t.Fatalf("got Content-Type %q, want text/event-stream", ct)
	}
	return &stream{t: t, body: res.Body, r: bufio.NewReader(res.Body)}
}

// next returns the next event, skipping the retry field, which it records.
func (s *stream) next() (event, error) {
	var ev event
	for {
		line, err := s.r.ReadString('\n')
		if err != nil {
			return ev, err
		}
		line = strings.TrimSuffix(line, "\n")
		switch {
		case line == "":
			if ev.name != "" || ev.data != "" {
				return ev, nil
			}
		case strings.HasPrefix(line, "id: "):
			ev.id = line[4:]
		case strings.HasPrefix(line, "event: "):
			ev.name = line[7:]
		case strings.HasPrefix(line, "data: "):
			ev.data = line[6:]
		case strings.HasPrefix(line, "retry: "):
			ev.name = "retry"
			ev.data = line[7:]
		}
	}
}

func (s *stream) mustNext(want string) event {
	s.t.Helper()
	ev, err := s.next()
	if err != nil {
		s.t.Fatalf("reading the stream: %v", err)
	}
	if ev.name != want {
		s.t.Fatalf("got event %q (%s), want %q", ev.name, ev.data, want)
	}
	return ev
}

func (s *stream) snapshot() (string, snapshot) {
	s.t.Helper()
	ev := s.mustNext("snapshot")
	var snap snapshot
	if err := json.Unmarshal([]byte(ev.data), &snap); err != nil {
		s.t.Fatalf("snapshot %q: %v", ev.data, err)
	}
	return ev.id, snap
}

func TestEventStream(t *testing.T) {
	s, ts, clk := newTest(t, Options{Lang: "en", Lanes: []string{"in-1", "out-1"}, Heartbeat: 50 * time.Millisecond, AdmitHold: 5 * time.Second})
	st := openStream(t, ts, "")
	if ev := st.mustNext("retry"); ev.data != "1000" {
		t.Errorf("got retry %s, want 1000", ev.data)
	}
	id0, snap := st.snapshot()
	if len(snap.Lanes) != 2 || snap.Lanes[0].Name != "in-1" || snap.Lanes[0].Verdict != nil || snap.Status != nil {
		t.Fatalf("first snapshot %+v, want two ready lanes and no status", snap)
	}

	s.Show(Shown{
		Lane: "in-1", Verdict: passage.Admit, Colour: credential.ColourGreen, MaskedName: "Zhang *",
		Temperature: passage.Temperature{State: passage.TempOK, Value: physic.ZeroCelsius + 36640*physic.MilliKelvin},
	})
	id1, snap := st.snapshot()
	if id1 == id0 {
		t.Errorf("got the same id %s for a new snapshot", id1)
	}
	v := snap.Lanes[0].Verdict
	if v == nil || v.Outcome != passage.Admit || v.Name != "Zhang *" || v.Temp != "36.6 °C" || v.Colour != "green" || v.RemainingMS != 5000 {
		t.Fatalf("got verdict %+v, want admit Zhang * 36.6 °C green for 5 s", v)
	}
	if snap.Counts.Admitted != 1 {
		t.Errorf("got %d admitted, want 1", snap.Counts.Admitted)
	}

	s.SetStatus(Status{
		Online: true, LastSync: t0.Add(-10 * time.Minute),
		Lanes:   []LaneStatus{{Name: "in-1", Scanner: DeviceOK, Camera: DeviceAbsent, Thermometer: DeviceFault}},
		Bundles: []Bundle{{Kind: trust.KindTrust, Freshness: trust.FreshnessGrace, Version: 3}},
	})
	_, snap = st.snapshot()
	if snap.Status == nil || !snap.Status.Online || snap.Status.LastSync != "last sync 09:20 (10 min ago)" {
		t.Fatalf("got status %+v, want online, last sync 09:20 (10 min ago)", snap.Status)
	}
	if b := snap.Status.Bundles; len(b) != 1 || b[0].Kind != "trust" || b[0].Freshness != "grace" {
		t.Errorf("got bundles %+v, want trust grace", b)
	}
	if d := snap.Lanes[0].Devices; d.Thermometer != DeviceFault || d.Camera != DeviceAbsent {
		t.Errorf("got devices %+v, want thermometer fault, no camera", d)
	}

	// Nothing changes: a heartbeat comes.
	st.mustNext("ping")

	// The countdown ends: the lane is ready again.
	clk.Add(5 * time.Second)
	if snap := state(t, ts, ""); snap.Lanes[0].Verdict != nil {
		t.Errorf("after the hold the lane shows %+v, want ready", snap.Lanes[0].Verdict)
	}

	// Close ends the stream.
	s.Close()
	for {
		if _, err := st.next(); err != nil {
			break
		}
	}
	if code, _, _ := get(t, ts.URL+"/events"); code != http.StatusServiceUnavailable {
		t.Errorf("after Close /events got %d, want 503", code)
	}
}

func TestEventStreamLastEventID(t *testing.T) {
	s, ts, _ := newTest(t, Options{Heartbeat: 20 * time.Millisecond})
	st := openStream(t, ts, "")
	st.mustNext("retry")
	id, _ := st.snapshot()

	// A browser that reconnects having seen the current state gets no
	// repeat, only what comes after.
	again := openStream(t, ts, id)
	again.mustNext("retry")
	again.mustNext("ping")
	s.Show(Shown{Lane: "in-1", Verdict: passage.Deny})
	for {
		ev, err := again.next()
		if err != nil {
			t.Fatal(err)
		}
		if ev.name == "snapshot" {
			if ev.id == id {
				t.Errorf("got id %s again after a change", ev.id)
			}
			break
		}
	}

	// An id of an earlier run of the daemon gets the whole state.
	old := openStream(t, ts, "deadbeef-1")
	old.mustNext("retry")
	old.snapshot()
}

func TestShowCounts(t *testing.T) {
	s, ts, clk := newTest(t, Options{Location: time.FixedZone("CST", 8*3600)})
	for _, v := range []Shown{
		{Lane: "a", Verdict: passage.Admit},
		{Lane: "a", Verdict: passage.Admit},
		{Lane: "b", Verdict: passage.Deny},
		{Lane: "a", Verdict: passage.Refer},
		{Lane: "a", Verdict: passage.Admit, OverrideReason: "retake-normal"},
		{Lane: "b", Verdict: passage.Deny, Manual: true}, // not recorded
	} {
		s.Show(v)
	}
	want := Counts{Admitted: 2, Refused: 1, Referred: 1, Overrides: 1}
	if got := s.Counts(); got != want {
		t.Errorf("got %+v, want %+v", got, want)
	}
	if snap := state(t, ts, ""); !snap.Manual {
		t.Errorf("after a passage that was not recorded the snapshot is not manual")
	}
	s.Show(Shown{Lane: "b", Verdict: passage.Deny})
	if snap := state(t, ts, ""); snap.Manual {
		t.Errorf("after a recorded passage the manual banner stays")
	}
	// 09:30 UTC is 17:30 in China; 16 h 30 min later a new day starts there.
	clk.Add(6*time.Hour + 29*time.Minute)
	if got := s.Counts(); got.Admitted != 2 {
		t.Errorf("before midnight got %+v, want the day's counts", got)
	}
	clk.Add(time.Minute)
	if got := s.Counts(); got != (Counts{}) {
		t.Errorf("after midnight got %+v, want zero", got)
	}
}

func TestSetLocation(t *testing.T) {
	s, ts, _ := newTest(t, Options{})
	s.SetStatus(Status{Online: true, LastSync: t0.Add(-2 * time.Hour)})
	if got := state(t, ts, "").Status.LastSync; got != "last sync 07:30 (2 h ago)" {
		t.Errorf("in UTC got %q, want last sync 07:30 (2 h ago)", got)
	}
	s.SetLocation(time.FixedZone("CST", 8*3600))
	st := state(t, ts, "?lang=zh")
	if got := st.Status.LastSync; got != "上次同步 15:30（2 小时前）" {
		t.Errorf("in China got %q, want 上次同步 15:30（2 小时前）", got)
	}
	if st.TZOffset != 8*3600 {
		t.Errorf("got tz_offset %d, want %d", st.TZOffset, 8*3600)
	}
}

func TestVerdictMessage(t *testing.T) {
	tests := []struct {
		name string
		v    Shown
		lang string
		want string
	}{
		{"rendered", Shown{Reasons: []string{"fever"}, Message: map[string]string{"en": "Temperature high.", "zh": "体温偏高。"}}, "zh", "体温偏高。"},
		{"rendered zh-CN key", Shown{Reasons: []string{"fever"}, Message: map[string]string{"zh-CN": "体温偏高。"}}, "zh", "体温偏高。"},
		{"English fallback", Shown{Reasons: []string{"x"}, Message: map[string]string{"en": "Call the supervisor."}}, "en", "Call the supervisor."},
		{"verifier sentence", Shown{Reasons: []string{"verification:" + string(credential.ReasonTooLarge)}}, "zh", credential.ReasonTooLarge.Message("zh")},
		{"English when no Chinese", Shown{Reasons: []string{"site-rule-7"}, Message: map[string]string{"en": "Members only."}}, "zh", "Members only."},
		{"bare code", Shown{Reasons: []string{"site-rule-7"}}, "en", "site-rule-7"},
		{"nothing", Shown{}, "en", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := New(Options{Now: func() time.Time { return t0 }})
			tt.v.Lane, tt.v.Verdict = "a", passage.Deny
			s.Show(tt.v)
			s.mu.Lock()
			snap := s.snapshot(tt.lang)
			s.mu.Unlock()
			if got := snap.Lanes[0].Verdict.Message; got != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestShowUnknownOutcome(t *testing.T) {
	s := New(Options{Now: func() time.Time { return t0 }})
	s.Show(Shown{Lane: "a", Verdict: "maybe"})
	s.mu.Lock()
	got := s.snapshot(LangEN).Lanes[0].Verdict.Outcome
	s.mu.Unlock()
	if got != passage.Refer {
		t.Errorf("got %q, want refer", got)
	}
	if c := s.Counts(); c.Referred != 1 {
		t.Errorf("got %+v, want one referral", c)
	}
}

func TestShowBoundsName(t *testing.T) {
	s := New(Options{Now: func() time.Time { return t0 }})
	s.Show(Shown{Lane: "a", Verdict: passage.Admit, MaskedName: strings.Repeat("张", 500)})
	s.mu.Lock()
	got := s.snapshot(LangEN).Lanes[0].Verdict.Name
	s.mu.Unlock()
	if n := len([]rune(got)); n != maxName {
		t.Errorf("got a name of %d runes, want %d", n, maxName)
	}
}

// TestCatalogue checks that every label has both languages and that every
// label the script asks for exists.
func TestCatalogue(t *testing.T) {
	for k, m := range catalogue {
		if m[0] == "" || m[1] == "" {
			t.Errorf("label %q: got en %q zh %q, want both", k, m[0], m[1])
		}
		if strings.Count(m[0], "%s") != strings.Count(m[1], "%s") {
			t.Errorf("label %q: en and zh differ in their %%s", k)
		}
	}
	js, err := assets.ReadFile("assets/app.js")
	if err != nil {
		t.Fatal(err)
	}
	used := regexp.MustCompile(`\bt[f]?\('([a-z.\-]+)'\s*[,)]`).FindAllStringSubmatch(string(js), -1)
	if len(used) < 20 {
		t.Fatalf("found %d labels in app.js, want the script's labels", len(used))
	}
	for _, u := range used {
		if _, ok := catalogue[u[1]]; !ok {
			t.Errorf("app.js asks for label %q, which the catalogue lacks", u[1])
		}
	}
	// Labels built from data: every outcome, colour, device state, bundle
	// kind and freshness.
	var keys []string
	for _, o := range []string{"admit", "deny", "refer", "ready"} {
		keys = append(keys, "word."+o, "sub."+o)
	}
	for _, c := range []string{"green", "yellow", "red", "none"} {
		keys = append(keys, "colour."+c)
	}
	for _, d := range []string{"scanner", "camera", "thermometer", "ok", "fault", "none", "unknown"} {
		keys = append(keys, "dev."+d)
	}
	for _, k := range trust.Kinds() {
		keys = append(keys, "bundle."+string(k))
	}
	for _, f := range []trust.Freshness{trust.FreshnessFresh, trust.FreshnessGrace, trust.FreshnessStale, trust.FreshnessBlocked} {
		keys = append(keys, "fresh."+f.String())
	}
	for _, c := range []string{"admitted", "refused", "referred", "overrides"} {
		keys = append(keys, "count."+c)
	}
	for _, r := range defaultOverrideReasons {
		keys = append(keys, "reason."+r)
	}
	for _, c := range []string{clock.CodeCentralNoTime, clock.CodeCentralUnreachable, clock.CodeCentralInvalid,
		clock.CodeCentralOld, clock.CodeWaiting, clock.CodeNTPDisagrees} {
		keys = append(keys, "clock.why."+c)
	}
	for _, k := range keys {
		if _, ok := catalogue[k]; !ok {
			t.Errorf("the catalogue lacks %q", k)
		}
	}
}

func TestCloseIdempotent(t *testing.T) {
	s := New(Options{})
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s.Show(Shown{Lane: "a", Verdict: passage.Admit}) // still fine
}

// TestClockReason: the display says why the clock is not trusted, not
// only "CLOCK NOT SET", and nothing once it is trusted.
func TestClockReason(t *testing.T) {
	s := New(Options{Lanes: []string{"in-1"}})
	defer s.Close()
	s.SetStatus(Status{ClockUntrusted: true, ClockReason: clock.CodeCentralNoTime})
	s.mu.Lock()
	got := s.snapshot(LangEN).Status
	s.mu.Unlock()
	if got == nil || !got.ClockUntrusted || got.ClockReason != clock.CodeCentralNoTime {
		t.Fatalf("got %+v, want the untrusted clock with its reason", got)
	}
	if w := tr(LangZH, "clock.why."+got.ClockReason); w == "clock.why."+got.ClockReason {
		t.Errorf("no words for %s", got.ClockReason)
	}
	s.SetStatus(Status{ClockReason: clock.CodeCentralNoTime})
	s.mu.Lock()
	got = s.snapshot(LangEN).Status
	s.mu.Unlock()
	if got.ClockReason != "" {
		t.Errorf("trusted clock: got reason %q, want none", got.ClockReason)
	}
}

// TestEventStreamsCapped: the streams a display serves are bounded; one
// more is told to come back later and its connection is closed, the rest
// of the display keeps answering, and a slot freed is taken again.
func TestEventStreamsCapped(t *testing.T) {
	const max = 3
	_, ts, _ := newTest(t, Options{MaxStreams: max, Heartbeat: time.Hour})
	var streams []*stream
	for range max {
		st := openStream(t, ts, "")
		st.mustNext("retry")
		st.snapshot()
		streams = append(streams, st)
	}
	res, err := http.Get(ts.URL + "/events")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusServiceUnavailable || res.Header.Get("Retry-After") != "5" || !res.Close {
		t.Fatalf("stream %d: got %d Retry-After %q close %v, want 503, Retry-After 5 and the connection closed",
			max+1, res.StatusCode, res.Header.Get("Retry-After"), res.Close)
	}
	if !strings.Contains(string(body), "close the others") {
		t.Errorf("got body %q, want what to do", body)
	}
	if code, _, _ := get(t, ts.URL+"/state"); code != http.StatusOK {
		t.Errorf("/state with the streams full: got %d, want 200", code)
	}
	if code, _, _ := get(t, ts.URL+"/"); code != http.StatusOK {
		t.Errorf("the page with the streams full: got %d, want 200", code)
	}

	streams[0].body.Close()
	deadline := time.Now().Add(10 * time.Second)
	for {
		res, err := http.Get(ts.URL + "/events")
		if err != nil {
			t.Fatal(err)
		}
		code := res.StatusCode
		res.Body.Close()
		if code == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("a freed slot was not given back: still %d", code)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestRestoreCounts(t *testing.T) {
	s, ts, clk := newTest(t, Options{})
	s.RestoreCounts(clk.Now().Add(-24*time.Hour), Counts{Admitted: 50})
	s.RestoreCounts(clk.Now(), Counts{Admitted: 12, Refused: 3, Referred: 2, Overrides: 1})
	s.Show(Shown{Lane: "in-1", Verdict: passage.Admit})
	if got, want := state(t, ts, "").Counts, (Counts{Admitted: 13, Refused: 3, Referred: 2, Overrides: 1}); got != want {
		t.Errorf("got %+v, want yesterday's ignored, today's restored plus one", got)
	}
	clk.Add(24 * time.Hour)
	if got := state(t, ts, "").Counts; got != (Counts{}) {
		t.Errorf("the next day: got %+v, want zero", got)
	}
}

// TestOverridesLockedShown: the top bar says how long overrides stay
// locked after too many wrong PINs, so that a guard knows before trying.
func TestOverridesLockedShown(t *testing.T) {
	s, ts, clk := newTest(t, Options{})
	s.SetStatus(Status{Online: true, OverridesLockedUntil: clk.Now().Add(5 * time.Minute)})
	if got := state(t, ts, "").Status.OverridesLocked; got != "Overrides locked: 5 min" {
		t.Errorf("got %q, want the wait in words", got)
	}
	if got := state(t, ts, "?lang=zh").Status.OverridesLocked; got != "人工放行已锁定：5 分钟" {
		t.Errorf("zh: got %q", got)
	}
	clk.Add(5 * time.Minute)
	if got := state(t, ts, "").Status.OverridesLocked; got != "" {
		t.Errorf("after the lockout: got %q, want nothing", got)
	}
}
