package ui

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeGate checks PINs as the gate does and records the overrides.
type fakeGate struct {
	mu   sync.Mutex
	pin  string
	err  error // returned instead, when set
	got  []Override
	seen int // calls, including refused ones
}

func (g *fakeGate) override(ctx context.Context, o Override) error {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.seen++
	if g.err != nil {
		return g.err
	}
	if o.PIN != g.pin {
		return fmt.Errorf("%w: gate: wrong PIN", ErrWrongPIN)
	}
	g.got = append(g.got, o)
	return nil
}

func (g *fakeGate) calls() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.seen
}

type postOpts struct {
	token, ctype, origin, fetchSite, lang string
}

func post(t *testing.T, ts *httptest.Server, s *Server, body string, o postOpts) (int, overrideResponse) {
	t.Helper()
	url := ts.URL + "/override"
	if o.lang != "" {
		url += "?lang=" + o.lang
	}
	req, _ := http.NewRequest("POST", url, strings.NewReader(body))
	if o.token != "-" {
		tok := s.token
		if o.token != "" {
			tok = o.token
		}
		req.Header.Set(tokenHeader, tok)
	}
	if o.ctype == "" {
		o.ctype = "application/json"
	}
	req.Header.Set("Content-Type", o.ctype)
	if o.origin != "" {
		req.Header.Set("Origin", o.origin)
	}
	if o.fetchSite != "" {
		req.Header.Set("Sec-Fetch-Site", o.fetchSite)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r overrideResponse
	if strings.HasPrefix(res.Header.Get("Content-Type"), "application/json") {
		if err := json.NewDecoder(res.Body).Decode(&r); err != nil {
			t.Fatal(err)
		}
	}
	return res.StatusCode, r
}

func body(lane, pin, reason string) string {
	b, _ := json.Marshal(overrideRequest{Lane: lane, PIN: pin, Reason: reason})
	return string(b)
}

func TestOverride(t *testing.T) {
	good := body("in-1", "432198", "retake-normal")
	tests := []struct {
		name      string
		body      string
		opts      postOpts
		gateErr   error
		wantCode  int
		wantResp  string // code in the response
		wantMsg   string
		wantCalls int
	}{
		{"good PIN", good, postOpts{}, nil, http.StatusOK, "", "Override recorded", 1},
		{"good PIN in Chinese", good, postOpts{lang: "zh"}, nil, http.StatusOK, "", "已记录人工放行", 1},
		{"wrong PIN", body("in-1", "111111", "retake-normal"), postOpts{}, nil, http.StatusForbidden, "wrong-pin", "Wrong PIN", 1},
		{"wrong PIN in Chinese", body("in-1", "111111", "retake-normal"), postOpts{lang: "zh"}, nil, http.StatusForbidden, "wrong-pin", "密码错误", 1},
		{"PIN with letters", body("in-1", "12ab56", "retake-normal"), postOpts{}, nil, http.StatusBadRequest, "bad-pin", "6 to 12 digits", 0},
		{"PIN too short", body("in-1", "123", "retake-normal"), postOpts{}, nil, http.StatusBadRequest, "bad-pin", "", 0},
		{"reason not on the list", body("in-1", "432198", "friend-of-mine"), postOpts{}, nil, http.StatusBadRequest, "bad-reason", "from the list", 0},
		{"no reason", body("in-1", "432198", ""), postOpts{}, nil, http.StatusBadRequest, "bad-reason", "", 0},
		{"no lane", body("", "432198", "emergency"), postOpts{}, nil, http.StatusBadRequest, "", "", 0},
		{"unknown field", `{"lane":"in-1","pin":"432198","reason":"emergency","guard":"boss"}`, postOpts{}, nil, http.StatusBadRequest, "", "", 0},
		{"not JSON", `lane=in-1&pin=432198`, postOpts{}, nil, http.StatusBadRequest, "", "", 0},
		{"no token", good, postOpts{token: "-"}, nil, http.StatusForbidden, "", "", 0},
		{"wrong token", good, postOpts{token: "00"}, nil, http.StatusForbidden, "", "", 0},
		{"form post", good, postOpts{ctype: "application/x-www-form-urlencoded"}, nil, http.StatusUnsupportedMediaType, "", "", 0},
		{"cross-site", good, postOpts{fetchSite: "cross-site"}, nil, http.StatusForbidden, "", "", 0},
		{"foreign origin", good, postOpts{origin: "http://attacker.example"}, nil, http.StatusForbidden, "", "", 0},
		{"nothing to override", good, postOpts{}, fmt.Errorf("%w: gate: last person admitted", ErrNothingToOverride), http.StatusConflict, "nothing", "Nothing to override", 1},
		{"gate locked", good, postOpts{}, fmt.Errorf("%w: gate", ErrLocked), http.StatusTooManyRequests, "locked", "Too many wrong PINs", 1},
		{"unknown lane", body("in-9", "432198", "emergency"), postOpts{}, fmt.Errorf("%w: gate: no such lane", ErrUnknownLane), http.StatusNotFound, "unknown-lane", "no such lane", 1},
		{"forged code", good, postOpts{}, fmt.Errorf("%w: gate: forged", ErrNotOverridable), http.StatusConflict, "not-overridable", "cannot be overridden", 1},
		{"red code", good, postOpts{}, fmt.Errorf("%w: gate: red", ErrEmergencyOnly), http.StatusConflict, "emergency-only", "Only an emergency", 1},
		{"PIN of 4 digits", body("in-1", "4321", "retake-normal"), postOpts{}, nil, http.StatusBadRequest, "bad-pin", "6 to 12 digits", 0},
		{"journal down", good, postOpts{}, errors.New("journal: disk full"), http.StatusInternalServerError, "failed", "NOT recorded", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := &fakeGate{pin: "432198", err: tt.gateErr}
			s, ts, _ := newTest(t, Options{OnOverride: g.override})
			code, resp := post(t, ts, s, tt.body, tt.opts)
			if code != tt.wantCode {
				t.Fatalf("got status %d (%+v), want %d", code, resp, tt.wantCode)
			}
			if resp.Code != tt.wantResp || !strings.Contains(resp.Message, tt.wantMsg) {
				t.Errorf("got %q %q, want code %q and a message with %q", resp.Code, resp.Message, tt.wantResp, tt.wantMsg)
			}
			if got := g.calls(); got != tt.wantCalls {
				t.Errorf("OnOverride called %d times, want %d", got, tt.wantCalls)
			}
			if tt.wantCode == http.StatusOK {
				want := Override{Lane: "in-1", PIN: "432198", Reason: "retake-normal"}
				g.mu.Lock()
				if len(g.got) != 1 || g.got[0] != want {
					t.Errorf("gate got %+v, want %+v", g.got, want)
				}
				g.mu.Unlock()
			}
		})
	}
}

func TestOverrideUnavailable(t *testing.T) {
	s, ts, _ := newTest(t, Options{})
	code, resp := post(t, ts, s, body("in-1", "432198", "emergency"), postOpts{})
	if code != http.StatusNotImplemented || resp.Code != "unavailable" {
		t.Errorf("got %d %+v, want 501 unavailable", code, resp)
	}
	if st := state(t, ts, ""); st.Override {
		t.Errorf("the snapshot offers overrides without OnOverride")
	}
}

// lockedErr is the gate's lockout, which says how long it lasts.
type lockedErr struct{ wait time.Duration }

func (e lockedErr) Error() string             { return "gate: locked" }
func (e lockedErr) Unwrap() error             { return ErrLocked }
func (e lockedErr) RetryAfter() time.Duration { return e.wait }

// TestOverrideLocked: the gate counts wrong PINs and locks (its tests
// show the escalation); the page says the gate's wait in words.
func TestOverrideLocked(t *testing.T) {
	tests := []struct {
		err    error
		secs   int
		en, zh string
	}{
		{lockedErr{30 * time.Second}, 30, "Wait 30 s.", "请等待 30 秒。"},
		{lockedErr{5 * time.Minute}, 300, "Wait 5 min.", "请等待 5 分钟。"},
		{lockedErr{8*time.Hour - time.Minute}, 28740, "Wait 8 h.", "请等待 8 小时。"},
		{fmt.Errorf("%w: no wait given", ErrLocked), 60, "Wait 60 s.", "请等待 60 秒。"},
	}
	for _, tt := range tests {
		g := &fakeGate{pin: "432198", err: tt.err}
		s, ts, _ := newTest(t, Options{OnOverride: g.override})
		for lang, want := range map[string]string{"en": tt.en, "zh": tt.zh} {
			code, resp := post(t, ts, s, body("in-1", "432198", "emergency"), postOpts{lang: lang})
			if code != http.StatusTooManyRequests || resp.RetryAfter != tt.secs || !strings.Contains(resp.Message, want) {
				t.Errorf("%v in %s: got %d %+v, want 429 after %d s saying %q", tt.err, lang, code, resp, tt.secs, want)
			}
		}
	}
}

func TestOverrideOneAtATime(t *testing.T) {
	release := make(chan struct{})
	entered := make(chan struct{})
	s, ts, _ := newTest(t, Options{OnOverride: func(ctx context.Context, o Override) error {
		close(entered)
		<-release
		return nil
	}})
	done := make(chan int)
	go func() {
		code, _ := post(t, ts, s, body("in-1", "432198", "emergency"), postOpts{})
		done <- code
	}()
	<-entered
	if code, resp := post(t, ts, s, body("in-2", "432198", "emergency"), postOpts{}); code != http.StatusConflict || resp.Code != "busy" {
		t.Errorf("second override meanwhile: got %d %+v, want 409 busy", code, resp)
	}
	close(release)
	if code := <-done; code != http.StatusOK {
		t.Errorf("first override: got %d, want 200", code)
	}
}

func TestDecodeOverride(t *testing.T) {
	tests := []struct {
		name, in string
		want     Override
		wantErr  error
	}{
		{"good", `{"lane":"in-1","pin":"123456","reason":"emergency"}`, Override{"in-1", "123456", "emergency"}, nil},
		{"twelve digits", `{"lane":"a","pin":"123456789012","reason":"r"}`, Override{"a", "123456789012", "r"}, nil},
		{"thirteen digits", `{"lane":"a","pin":"1234567890123","reason":"r"}`, Override{}, errPINFormat},
		{"unicode digits", `{"lane":"a","pin":"١٢٣٤٥٦","reason":"r"}`, Override{}, errPINFormat},
		{"four digits", `{"lane":"a","pin":"1234","reason":"r"}`, Override{}, errPINFormat},
		{"trailing object", `{"lane":"a","pin":"1234","reason":"r"}{}`, Override{}, errBadRequest},
		{"too big", `{"lane":"` + strings.Repeat("a", 2000) + `","pin":"1234","reason":"r"}`, Override{}, errBadRequest},
		{"array", `[]`, Override{}, errBadRequest},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeOverride(strings.NewReader(tt.in))
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil && err != nil) {
				t.Fatalf("got error %v, want %v", err, tt.wantErr)
			}
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func FuzzDecodeOverride(f *testing.F) {
	for _, s := range []string{
		`{"lane":"in-1","pin":"123456","reason":"emergency"}`,
		`{"lane":"in-1","pin":"12a4","reason":"emergency"}`,
		`{"lane":"","pin":"","reason":""}`,
		`{"lane":"a","pin":"1234","reason":"r"} `,
		`{"lane":"a","pin":"1234","reason":"r","x":1}`,
		`{"lane":"\u0000","pin":"0000","reason":"\ud800"}`,
		`null`, `[]`, `"`, ``,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		o, err := decodeOverride(bytes.NewReader(b))
		if err != nil {
			if o != (Override{}) {
				t.Fatalf("got %+v with error %v, want nothing", o, err)
			}
			return
		}
		if !validPIN(o.PIN) || o.Lane == "" || len(o.Lane) > maxLaneName || o.Reason == "" {
			t.Fatalf("accepted %+v from %q", o, b)
		}
	})
}
