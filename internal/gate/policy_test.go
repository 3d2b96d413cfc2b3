package gate

import (
	"context"
	"slices"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/internal/siteconfig"
)

// TestDefaultPolicies runs every default rule of the real site policies
// (internal/policy's defaults) end to end through the pipeline.
func TestDefaultPolicies(t *testing.T) {
	type tc struct {
		name    string
		site    siteconfig.SiteType
		bundle  *policy.Bundle
		payload func(t testing.TB) []byte
		mutate  func(*State)
		clock   func(*fakeClock)
		temps   []float64
		therr   *passage.Temperature
		want    passage.Verdict
		reason  string
	}
	stale := func(k trust.Kind) func(*State) {
		return func(s *State) {
			s.Bundles[k] = BundleState{Version: 3, FreshUntil: t0, GraceUntil: t0.Add(time.Minute)}
		}
	}
	var tests []tc
	residents, err := policy.DefaultBundle(siteconfig.Compound)
	if err != nil {
		t.Fatal(err)
	}
	residents.Residents = []string{"ZJ:1", "ZJ:2", "ZJ:3"}
	for _, site := range []siteconfig.SiteType{siteconfig.Supermarket, siteconfig.Pharmacy, siteconfig.Intersection, siteconfig.Compound} {
		var b *policy.Bundle
		if site == siteconfig.Compound {
			b = residents
		}
		add := func(cases ...tc) {
			for _, c := range cases {
				c.bundle = b
				tests = append(tests, c)
			}
		}
		add(
			tc{name: "green", site: site, payload: green, want: passage.Admit},
			tc{name: "red", site: site, payload: red, want: passage.Deny},
			tc{name: "fever", site: site, payload: green, temps: []float64{37.3}, want: passage.Refer, reason: "fever"},
			tc{name: "thermometer fault", site: site, payload: green, therr: &passage.Temperature{State: passage.TempUnavailable, Fault: "no-answer"}, want: passage.Refer},
			tc{name: "stale trust", site: site, payload: green, mutate: stale(trust.KindTrust), want: passage.Refer},
			tc{name: "stale status", site: site, payload: green, mutate: stale(trust.KindStatusBase), want: passage.Refer},
			tc{name: "untrusted clock", site: site, payload: green, clock: func(c *fakeClock) { c.trusted = false }, want: passage.Refer, reason: "clock-untrusted"},
			tc{name: "not enrolled", site: site, payload: green, mutate: func(s *State) { s.Verifier, s.Enrolled = nil, false }, want: passage.Refer, reason: policy.ReasonNotEnrolled},
			tc{name: "forged", site: site, payload: forged, want: passage.Deny, reason: policy.VerificationPrefix + string(credential.ReasonUnknownKey)},
			tc{name: "expired", site: site, payload: green, clock: func(c *fakeClock) { c.t = t0.Add(25 * time.Hour) }, want: passage.Deny, reason: policy.VerificationPrefix + string(credential.ReasonExpired)},
			tc{name: "turned red after issue", site: site, payload: green, mutate: func(s *State) {
				s.Status = fakeStatus{1: {Overridden: true, Status: "red", Effective: t0.Add(time.Minute)}}
			}, want: passage.Deny},
		)
	}
	stranger := func(t testing.TB) []byte { return issue(t, issuerKey, 99, credential.ColourGreen) }
	tests = append(tests,
		tc{name: "yellow", site: siteconfig.Supermarket, payload: yellow, want: passage.Deny},
		tc{name: "yellow", site: siteconfig.Pharmacy, payload: yellow, want: passage.Refer},
		tc{name: "not a resident", site: siteconfig.Compound, bundle: residents, payload: stranger, want: passage.Refer, reason: "not-resident"},
		tc{name: "no access list", site: siteconfig.Compound, payload: green, want: passage.Refer, reason: "not-resident"},
	)
	for _, tt := range tests {
		t.Run(string(tt.site)+"/"+tt.name, func(t *testing.T) {
			e, err := policy.New(tt.bundle, tt.site)
			if err != nil {
				t.Fatal(err)
			}
			r := newRig(t, func(s *State) {
				s.Policy = PolicyEngine(e, 0, "SM-0042")
				if tt.mutate != nil {
					tt.mutate(s)
				}
			})
			if tt.clock != nil {
				tt.clock(r.clock)
			}
			r.thermo.temps, r.thermo.fail = tt.temps, tt.therr
			res, err := r.g.Process(context.Background(), "in-1", tt.payload(t))
			if err != nil {
				t.Fatal(err)
			}
			p := res.Passage
			if p.Decision != tt.want {
				t.Errorf("got %s %v, want %s", p.Decision, p.Reasons, tt.want)
			}
			if tt.reason != "" && !slices.Contains(p.Reasons, tt.reason) {
				t.Errorf("got reasons %v, want %s among them", p.Reasons, tt.reason)
			}
			wantOut := "refuse"
			if tt.want == passage.Admit {
				wantOut = "admit"
			}
			if got := r.rec.events(); !slices.Equal(got, []string{"journal", wantOut}) {
				t.Errorf("got calls %v, want journal then %s", got, wantOut)
			}
		})
	}
}
