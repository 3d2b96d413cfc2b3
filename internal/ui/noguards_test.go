package ui

import (
	"fmt"
	"net/http"
	"strings"
	"testing"
)

// TestOverrideNoGuards: a terminal whose site settings name no guard
// says so instead of "Wrong PIN", in the site's language.
func TestOverrideNoGuards(t *testing.T) {
	for _, tc := range []struct{ lang, want string }{
		{"en", "No guard PINs on this gate yet"},
		{"zh", "尚未设置保安密码"},
	} {
		g := &fakeGate{pin: "432198", err: fmt.Errorf("%w: gate: no guards", ErrNoGuards)}
		s, ts, _ := newTest(t, Options{OnOverride: g.override})
		code, resp := post(t, ts, s, body("in-1", "432198", "retake-normal"), postOpts{lang: tc.lang})
		if code != http.StatusConflict || resp.Code != "no-guards" || !strings.Contains(resp.Message, tc.want) {
			t.Errorf("%s: got %d %+v, want 409 no-guards saying %q", tc.lang, code, resp, tc.want)
		}
	}
}
