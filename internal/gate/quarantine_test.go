package gate

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
)

// TestQuarantineAtExit runs residents and visitors of a compound through
// its entry and its exit lanes under the real compound policy: at the exit
// a resident whose status (or code) is yellow or red is refused with
// ReasonQuarantine and the guard reads until when, in the site's time
// zone and language; a visitor whose status or code is yellow or red is
// referred to the guard with ReasonVisitorAtExit (not kept in, as policy's
// refusal did: their quarantine is at their own home; the guard notes
// them and lets them out); at the entry the policy decides as before.
func TestQuarantineAtExit(t *testing.T) {
	until := time.Date(2026, 11, 14, 1, 0, 0, 0, time.UTC) // 09:00 in Shanghai
	b, err := policy.DefaultBundle(siteconfig.Compound)
	if err != nil {
		t.Fatal(err)
	}
	b.Residents = []string{"ZJ:1", "ZJ:2", "ZJ:3", "ZJ:4"}
	admitYellow := *b
	admitYellow.Yellow = passage.Admit
	red := policy.Status{Overridden: true, Status: "red", Effective: t0.Add(time.Minute), Until: until}
	yellowEntry := policy.Status{Overridden: true, Status: "yellow", Effective: t0.Add(time.Minute), Until: until}
	statuses := fakeStatus{1: red, 2: yellowEntry, 99: red, 98: yellowEntry}
	code := func(index uint32, c credential.Colour) func(testing.TB) []byte {
		return func(t testing.TB) []byte { return issue(t, issuerKey, index, c) }
	}
	tests := []struct {
		name    string
		lane    string
		bundle  *policy.Bundle
		payload func(testing.TB) []byte
		temps   []float64
		clock   func(*fakeClock)
		want    passage.Verdict
		reason  string
		en, zh  string // in the guard's message
	}{
		{name: "red status, exit", lane: "out", payload: code(1, credential.ColourGreen), want: passage.Deny, reason: ReasonQuarantine,
			en: "Home quarantine (red) until Sat 14 Nov 2026 09:00: may not leave the compound.", zh: "居家隔离（红码）至2026年11月14日 09:00"},
		{name: "yellow status, exit", lane: "out", payload: code(2, credential.ColourGreen), want: passage.Deny, reason: ReasonQuarantine,
			en: "Home quarantine (yellow) until Sat 14 Nov 2026 09:00"},
		{name: "yellow status where yellow is admitted, exit", lane: "out", bundle: &admitYellow, payload: code(2, credential.ColourGreen), want: passage.Deny, reason: ReasonQuarantine},
		{name: "yellow code, no entry, exit", lane: "out", payload: code(3, credential.ColourYellow), want: passage.Deny, reason: ReasonQuarantine,
			en: "Home quarantine (yellow code): may not leave the compound until the code is green.", zh: "健康码转绿前不得离开小区"},
		{name: "red status with a fever, exit", lane: "out", payload: code(1, credential.ColourGreen), temps: []float64{38.2}, want: passage.Deny, reason: ReasonQuarantine},
		{name: "green, exit", lane: "out", payload: code(4, credential.ColourGreen), want: passage.Admit},
		{name: "red visitor, exit", lane: "out", payload: code(99, credential.ColourGreen), want: passage.Refer, reason: ReasonVisitorAtExit,
			en: "Visitor with a red code until Sat 14 Nov 2026 09:00 leaving: not a resident, so not kept in.", zh: "访客离开（红码，至2026年11月14日 09:00）"},
		{name: "yellow visitor, exit", lane: "out", payload: code(98, credential.ColourGreen), want: passage.Refer, reason: ReasonVisitorAtExit,
			en: "Visitor with a yellow code until Sat 14 Nov 2026 09:00 leaving"},
		{name: "visitor with a red code, no entry, exit", lane: "out", payload: code(97, credential.ColourRed), want: passage.Refer, reason: ReasonVisitorAtExit,
			en: "Visitor with a red code leaving: not a resident", zh: "访客离开（红码）"},
		{name: "green visitor, exit", lane: "out", payload: code(96, credential.ColourGreen), want: passage.Refer, reason: "not-resident"},
		{name: "red visitor, untrusted clock, exit", lane: "out", payload: code(99, credential.ColourGreen), clock: func(c *fakeClock) { c.trusted = false }, want: passage.Refer, reason: policy.ReasonClock},
		{name: "red visitor, entry", lane: "in", payload: code(99, credential.ColourGreen), want: passage.Deny, reason: policy.ReasonStatusRed},
		{name: "red status, untrusted clock, exit", lane: "out", payload: code(1, credential.ColourGreen), clock: func(c *fakeClock) { c.trusted = false }, want: passage.Refer, reason: policy.ReasonClock},
		// The entry as before.
		{name: "red status, entry", lane: "in", payload: code(1, credential.ColourGreen), want: passage.Deny, reason: policy.ReasonStatusRed},
		{name: "yellow status where yellow is admitted, entry", lane: "in", bundle: &admitYellow, payload: code(2, credential.ColourGreen), want: passage.Admit},
		{name: "green, entry", lane: "in", payload: code(4, credential.ColourGreen), want: passage.Admit},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bundle := b
			if tt.bundle != nil {
				bundle = tt.bundle
			}
			e, err := policy.New(bundle, siteconfig.Compound)
			if err != nil {
				t.Fatal(err)
			}
			r := newRigOpts(t, func(s *State) {
				s.Policy = PolicyEngine(e, 7, "CP-0023")
				s.Status = statuses
				s.Site = DefaultSiteSettings(Compound)
				s.Site.Guards = []Guard{{ID: "guard-1", PINHash: mustPIN(t)}}
			}, func(o *Options) {
				in := o.Lanes[0] // the rig's thermometer and outputs
				in.Name = "in"
				out := in
				out.Name, out.Exit = "out", true
				o.Lanes = []LaneConfig{in, out}
			})
			if tt.clock != nil {
				tt.clock(r.clock)
			}
			r.thermo.temps = tt.temps
			res, err := r.g.Process(context.Background(), tt.lane, tt.payload(t))
			if err != nil {
				t.Fatal(err)
			}
			p := res.Passage
			if p.Decision != tt.want || (tt.reason != "" && (len(p.Reasons) == 0 || p.Reasons[0] != tt.reason)) {
				t.Fatalf("got %s %v, want %s with %q first", p.Decision, p.Reasons, tt.want, tt.reason)
			}
			if p.PolicyVersion != 7 {
				t.Errorf("journalled policy version %d, want 7", p.PolicyVersion)
			}
			wantOut := "refuse"
			if tt.want == passage.Admit {
				wantOut = "admit"
			}
			if got := r.rec.events(); !slices.Equal(got, []string{"journal", wantOut}) {
				t.Errorf("got calls %v, want journal then %s", got, wantOut)
			}
			s := r.display.last()
			if !strings.Contains(s.Message["en"], tt.en) || !strings.Contains(s.Message["zh"], tt.zh) {
				t.Errorf("the guard reads %q / %q, want %q / %q in them", s.Message["en"], s.Message["zh"], tt.en, tt.zh)
			}
			if tt.reason == ReasonQuarantine && !slices.Equal(s.OverrideReasons, []string{OverrideEmergency}) {
				t.Errorf("a quarantine may be overridden for %v, want emergencies only", s.OverrideReasons)
			}
			if tt.reason == ReasonVisitorAtExit && !slices.Equal(s.OverrideReasons, OverrideReasons()) {
				t.Errorf("a visitor at the exit may be let out for %v, want any reason", s.OverrideReasons)
			}
		})
	}
}

func mustPIN(t testing.TB) string {
	t.Helper()
	pin, err := HashPIN("246810", minPINIterations)
	if err != nil {
		t.Fatal(err)
	}
	return pin
}
