package ui

import (
	"cmp"
	"context"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/chromedp/chromedp"

	"sentinel/crypto/credential"
	"sentinel/internal/browsertest"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
)

// fit is what the page measures of a lane showing an instruction.
type fit struct {
	Found    bool     `json:"found"`
	Text     string   `json:"text"`
	FontPx   float64  `json:"font_px"`
	Problems []string `json:"problems"`
}

// measureFit checks, in the page, that lane LANE's message is shown whole:
// not clipped by its own box, inside its lane and inside the window, and
// that nothing of the lane runs outside it.
const measureFit = `(() => {
  const lane = document.querySelector('.lane[data-lane=' + JSON.stringify(LANE) + ']');
  const m = lane && lane.querySelector('.message');
  if (!m) return { found: false, text: '', font_px: 0, problems: [] };
  const bad = [];
  const L = lane.getBoundingClientRect(), R = m.getBoundingClientRect();
  if (m.scrollHeight > m.clientHeight + 1 || m.scrollWidth > m.clientWidth + 1)
    bad.push('message clipped in its box: ' + m.scrollWidth + 'x' + m.scrollHeight + ' in ' + m.clientWidth + 'x' + m.clientHeight);
  if (R.top < L.top - 1 || R.bottom > L.bottom + 1 || R.left < L.left - 1 || R.right > L.right + 1)
    bad.push('message outside its lane: ' + JSON.stringify(R) + ' in ' + JSON.stringify(L));
  if (R.bottom > innerHeight + 1 || R.right > innerWidth + 1) bad.push('message off the screen');
  if (lane.scrollHeight > lane.clientHeight + 1 || lane.scrollWidth > lane.clientWidth + 1)
    bad.push('lane content does not fit: ' + lane.scrollWidth + 'x' + lane.scrollHeight + ' in ' + lane.clientWidth + 'x' + lane.clientHeight);
  for (const e of lane.querySelectorAll('.foot, .override, .overridenote, .name, .temp, .word')) {
    const r = e.getBoundingClientRect();
    if (r.bottom > L.bottom + 1 || r.right > L.right + 1) bad.push((e.className || e.tagName) + ' outside its lane: ' + JSON.stringify(r) + ' in ' + JSON.stringify(L) + ' fit ' + lane.style.cssText + ' scroll ' + lane.scrollHeight + '/' + lane.clientHeight);
  }
  if (getComputedStyle(m).webkitLineClamp !== 'none' && getComputedStyle(m).webkitLineClamp !== '') bad.push('message line-clamped');
  return { found: true, text: m.textContent, font_px: parseFloat(getComputedStyle(m).fontSize), problems: bad };
})()`

// longest returns the n longest instructions the gate can show in lang:
// every policy reason's and every verification reason's sentence.
func longest(lang string, n int) []string {
	var all []string
	for _, code := range policy.Reasons() {
		all = append(all, policy.Message(code, lang))
	}
	for _, r := range credential.Reasons() {
		all = append(all, r.Message(lang))
	}
	slices.SortFunc(all, func(a, b string) int { return cmp.Compare(utf8.RuneCountInString(b), utf8.RuneCountInString(a)) })
	return slices.Compact(all)[:n]
}

// TestInstructionNeverCut shows the longest instructions, in English and
// Chinese, on a refused lane with everything else the lane can hold (a
// name, a high temperature, the code's colour, the override note and
// button), at the display's sizes with one lane and with two side by side,
// and measures in Chromium that the sentence is whole on screen (issue 8:
// the display cut "Refuse…").
func TestInstructionNeverCut(t *testing.T) {
	exe := browsertest.Exec(t, "the guard display's instruction test")
	chrome := browsertest.Start(t, exe, 1280, 800)
	ctx := chrome.Ctx
	clk := &fakeClock{t: time.Date(2026, 11, 29, 1, 42, 0, 0, time.UTC)}
	sizes := [][2]int{{800, 480}, {1024, 600}, {1280, 800}}

	for _, lanes := range [][]string{{"in-1"}, {"in-1", "out-1"}} {
		s := New(Options{Lang: "en", Site: "Huaxin supermarket · east gate", Lanes: lanes, Now: clk.Now,
			RefuseHold: time.Hour, AdmitHold: time.Hour,
			OnOverride: func(context.Context, Override) error { return nil }})
		ts := httptest.NewServer(s.Handler())
		if len(lanes) == 2 {
			s.Show(Shown{Lane: "out-1", Verdict: passage.Admit, Colour: credential.ColourGreen, MaskedName: "Ouyang *",
				Temperature: passage.Temperature{State: passage.TempOK, Value: celsius(36.6)}})
		}
		for _, lang := range []string{LangEN, LangZH} {
			for _, size := range sizes {
				name := fmt.Sprintf("%d lanes %s %dx%d", len(lanes), lang, size[0], size[1])
				run := func(actions ...chromedp.Action[chromedp.Void]) {
					t.Helper()
					sctx, cancel := context.WithTimeout(ctx, 20*time.Second)
					defer cancel()
					if err := chromedp.Do(sctx, actions...); err != nil {
						t.Fatalf("%s: browser: %v", name, err)
					}
				}
				run(chromedp.EmulateViewport(int64(size[0]), int64(size[1])), chromedp.Navigate(ts.URL+"/?lang="+lang))
				for i, msg := range longest(lang, 3) {
					// A new name each time, so that the page's update is seen.
					who := fmt.Sprintf("Wang %d *", i)
					s.Show(Shown{Lane: "in-1", Verdict: passage.Deny, Colour: credential.ColourRed, MaskedName: who,
						Temperature: passage.Temperature{State: passage.TempOK, Value: celsius(38.4)}, Fever: true,
						Reasons: []string{"colour-red"}, Message: map[string]string{lang: msg},
						OverrideReasons: []string{"emergency"}})
					wait := fmt.Sprintf(`(() => { const l = document.querySelector('.lane[data-lane="in-1"]'); return !!l && l.textContent.includes(%q); })()`, who)
					sctx, cancel := context.WithTimeout(ctx, 10*time.Second)
					_, err := chromedp.Run(sctx, chromedp.Poll[bool](wait, chromedp.WithPollingInterval(20*time.Millisecond)))
					cancel()
					if err != nil {
						t.Fatalf("%s: the lane did not show %q: %v", name, who, err)
					}
					got, err := chromedp.Run(ctx, chromedp.Evaluate[fit](strings.Replace(measureFit, "LANE", `"in-1"`, 1)))
					if err != nil {
						t.Fatalf("%s: measure: %v", name, err)
					}
					if !got.Found || got.Text != msg {
						t.Errorf("%s: the lane shows %q, want %q whole", name, got.Text, msg)
					}
					if len(got.Problems) > 0 {
						t.Errorf("%s: %q: %s", name, msg, strings.Join(got.Problems, "; "))
					}
					// Shrunk, still readable from a step away on a 7" panel.
					if got.FontPx < 11 {
						t.Errorf("%s: %q shown at %.1f px, want at least 11", name, msg, got.FontPx)
					}
				}
			}
		}
		s.Close() // ends the event streams, which ts.Close would wait for
		ts.Close()
	}
	for _, m := range chrome.Console() {
		if m.IsException() || m.Type == chromedp.ConsoleError {
			if !strings.HasSuffix(m.URL, "/events") {
				t.Errorf("the page logged %s (%s)", m, m.URL)
			}
		}
	}
}
