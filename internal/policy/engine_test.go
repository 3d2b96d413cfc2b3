package policy

import (
	"math/rand/v2"
	"slices"
	"sync"
	"testing"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/passage"
	"sentinel/internal/siteconfig"
)

var t0 = time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)

func celsius(c float64) physic.Temperature {
	return physic.ZeroCelsius + physic.Temperature(c*float64(physic.Celsius))
}

// green is a passage that every default policy admits (a compound only
// when the holder is a resident).
func green() Input {
	return Input{
		Credential: &credential.Credential{
			Format: credential.FormatNative, Issuer: "ZJ",
			Holder: credential.Holder{Kind: credential.HolderNative, Issuer: "ZJ", Index: 42},
			Colour: credential.ColourGreen, ColourSince: t0.Add(-72 * time.Hour),
			IssuedAt: t0.Add(-time.Hour), Expires: t0.Add(23 * time.Hour), Rolling: true,
		},
		Temperature:  passage.Temperature{State: passage.TempOK, Value: celsius(36.6), Confidence: 0.9},
		ClockTrusted: true,
		Bundles:      allBundles(trust.FreshnessFresh),
		Enrolled:     true,
		SiteID:       "HZ-0001",
		Now:          t0,
	}
}

func allBundles(f trust.Freshness) map[trust.Kind]trust.Freshness {
	m := map[trust.Kind]trust.Freshness{}
	for _, k := range trust.Kinds() {
		m[k] = f
	}
	return m
}

// dcc is a verified EU DCC for a complete vaccination a month old.
func dcc() Input {
	in := green()
	in.Credential = &credential.Credential{
		Format: credential.FormatDCC, Issuer: "DE",
		Holder:   credential.Holder{Kind: credential.HolderPseudonym, Pseudonym: [16]byte{1, 2, 3}},
		IssuedAt: t0.Add(-30 * 24 * time.Hour), Expires: t0.Add(300 * 24 * time.Hour),
		Facts: &credential.Facts{Kind: "vaccination", Dose: 2, TotalDoses: 2, Date: t0.Add(-30 * 24 * time.Hour)},
	}
	return in
}

type policyCase struct {
	name    string
	mutate  func(*Input)
	verdict passage.Verdict
	reasons []string
	rule    string
	colour  credential.Colour
}

// commonCases hold at every site type (a compound's holder is a resident).
func commonCases(yellow passage.Verdict) []policyCase {
	refused := func(r credential.Reason) func(*Input) {
		return func(in *Input) { in.Credential, in.Rejection = nil, r }
	}
	return []policyCase{
		{name: "green admits", mutate: func(*Input) {}, verdict: passage.Admit, rule: "green", colour: credential.ColourGreen},
		{name: "not enrolled refers", mutate: func(in *Input) { in.Enrolled = false; in.Bundles = nil }, verdict: passage.Refer, reasons: []string{ReasonNotEnrolled}, rule: "not-enrolled", colour: credential.ColourGreen},
		{name: "not enrolled refers a red code too", mutate: func(in *Input) { in.Enrolled = false; in.Credential.Colour = credential.ColourRed }, verdict: passage.Refer, reasons: []string{ReasonNotEnrolled}, rule: "not-enrolled", colour: credential.ColourRed},
		{name: "untrusted clock refers", mutate: func(in *Input) { in.ClockTrusted = false }, verdict: passage.Refer, reasons: []string{ReasonClock}, rule: "clock-untrusted", colour: credential.ColourGreen},
		{name: "untrusted clock refers a refused code", mutate: func(in *Input) { in.ClockTrusted = false; refused(credential.ReasonExpired)(in) }, verdict: passage.Refer, reasons: []string{ReasonClock}, rule: "clock-untrusted"},
		{name: "trust bundle in grace still decides", mutate: func(in *Input) { in.Bundles = allBundles(trust.FreshnessGrace) }, verdict: passage.Admit, rule: "green", colour: credential.ColourGreen},
		{name: "stale trust bundle refers", mutate: func(in *Input) { in.Bundles[trust.KindTrust] = trust.FreshnessStale }, verdict: passage.Refer, reasons: []string{ReasonBundleStale}, rule: "bundle-stale", colour: credential.ColourGreen},
		{name: "stale status bundle refers", mutate: func(in *Input) { in.Bundles[trust.KindStatusBase] = trust.FreshnessStale }, verdict: passage.Refer, reasons: []string{ReasonBundleStale}, rule: "bundle-stale", colour: credential.ColourGreen},
		{name: "blocked status bundle refers", mutate: func(in *Input) { in.Bundles[trust.KindStatusBase] = trust.FreshnessBlocked }, verdict: passage.Refer, reasons: []string{ReasonBundleBlocked}, rule: "bundle-blocked", colour: credential.ColourGreen},
		{name: "missing trust bundle is blocked", mutate: func(in *Input) { delete(in.Bundles, trust.KindTrust) }, verdict: passage.Refer, reasons: []string{ReasonBundleBlocked}, rule: "bundle-blocked", colour: credential.ColourGreen},
		{name: "stale config bundle does not decide", mutate: func(in *Input) { in.Bundles[trust.KindConfig] = trust.FreshnessStale }, verdict: passage.Admit, rule: "green", colour: credential.ColourGreen},
		{name: "forged code denies with the verifier's reason", mutate: refused(credential.ReasonBadSignature), verdict: passage.Deny, reasons: []string{"verification:bad-signature"}, rule: "refused"},
		{name: "expired code denies", mutate: refused(credential.ReasonExpired), verdict: passage.Deny, reasons: []string{"verification:expired"}, rule: "refused"},
		{name: "not yet valid refers (clock)", mutate: refused(credential.ReasonNotYetValid), verdict: passage.Refer, reasons: []string{"verification:not-yet-valid"}, rule: "refused-clock"},
		{name: "verifier's untrusted clock refers", mutate: refused(credential.ReasonClockUntrusted), verdict: passage.Refer, reasons: []string{"verification:clock-untrusted"}, rule: "refused-clock"},
		{name: "no trusted keys refers", mutate: refused(credential.ReasonNoTrust), verdict: passage.Refer, reasons: []string{"verification:no-trust"}, rule: "refused-clock"},
		{name: "red code denies", mutate: func(in *Input) { in.Credential.Colour = credential.ColourRed }, verdict: passage.Deny, reasons: []string{ReasonColourRed}, rule: "colour-red", colour: credential.ColourRed},
		{name: "red code with a fever denies", mutate: func(in *Input) {
			in.Credential.Colour = credential.ColourRed
			in.Temperature.Value = celsius(38.5)
		}, verdict: passage.Deny, reasons: []string{ReasonColourRed}, rule: "colour-red", colour: credential.ColourRed},
		{name: "yellow code", mutate: func(in *Input) { in.Credential.Colour = credential.ColourYellow }, verdict: yellow, reasons: []string{ReasonColourYellow}, rule: "colour-yellow", colour: credential.ColourYellow},
		{name: "status red overrides a green code", mutate: func(in *Input) {
			in.Status = Status{Overridden: true, Status: "red", Effective: t0.Add(-30 * time.Minute), Until: t0.Add(14 * 24 * time.Hour)}
		}, verdict: passage.Deny, reasons: []string{ReasonStatusRed}, rule: "status-red", colour: credential.ColourRed},
		{name: "status yellow overrides a green code", mutate: func(in *Input) {
			in.Status = Status{Overridden: true, Status: "yellow", Effective: t0.Add(-30 * time.Minute)}
		}, verdict: yellow, reasons: []string{ReasonStatusYellow}, rule: "status-yellow", colour: credential.ColourYellow},
		{name: "status green overrides a red code", mutate: func(in *Input) {
			in.Credential.Colour = credential.ColourRed
			in.Status = Status{Overridden: true, Status: "green", Effective: t0.Add(-30 * time.Minute)}
		}, verdict: passage.Admit, rule: "green", colour: credential.ColourGreen},
		{name: "status entry older than the code does not override", mutate: func(in *Input) {
			in.Status = Status{Overridden: true, Status: "red", Effective: t0.Add(-2 * time.Hour)}
		}, verdict: passage.Admit, rule: "green", colour: credential.ColourGreen},
		{name: "lapsed status entry does not override", mutate: func(in *Input) {
			in.Credential.IssuedAt = t0.Add(-20 * 24 * time.Hour)
			in.Status = Status{Overridden: true, Status: "red", Effective: t0.Add(-15 * 24 * time.Hour), Until: t0.Add(-24 * time.Hour)}
		}, verdict: passage.Admit, rule: "green", colour: credential.ColourGreen},
		{name: "status withheld denies", mutate: func(in *Input) {
			in.Status = Status{Overridden: true, Status: "withheld", Effective: t0.Add(-time.Minute)}
		}, verdict: passage.Deny, reasons: []string{ReasonWithheld}, rule: "status-withheld"},
		{name: "revoked certificate denies", mutate: func(in *Input) { in.Status = Status{Revoked: true} }, verdict: passage.Deny, reasons: []string{ReasonRevoked}, rule: "status-revoked", colour: credential.ColourGreen},
		{name: "paper code accepted by default", mutate: func(in *Input) { in.Credential.Paper, in.Credential.Rolling = true, false }, verdict: passage.Admit, rule: "green", colour: credential.ColourGreen},
		{name: "fever refers for a retake", mutate: func(in *Input) { in.Temperature.Value = celsius(38.0) }, verdict: passage.Refer, reasons: []string{ReasonFever}, rule: "fever", colour: credential.ColourGreen},
		{name: "exactly 37.3 refers", mutate: func(in *Input) { in.Temperature.Value = DefaultFever }, verdict: passage.Refer, reasons: []string{ReasonFever}, rule: "fever", colour: credential.ColourGreen},
		{name: "37.29 admits", mutate: func(in *Input) { in.Temperature.Value = DefaultFever - centiCelsius }, verdict: passage.Admit, rule: "green", colour: credential.ColourGreen},
		{name: "thermometer unavailable refers", mutate: func(in *Input) {
			in.Temperature = passage.Temperature{State: passage.TempUnavailable, Fault: "i2c-nack"}
		}, verdict: passage.Refer, reasons: []string{ReasonThermometer}, rule: "thermometer", colour: credential.ColourGreen},
		{name: "unstable reading refers for a retake", mutate: func(in *Input) { in.Temperature = passage.Temperature{State: passage.TempRetake, Fault: "unstable"} }, verdict: passage.Refer, reasons: []string{ReasonRetake}, rule: "temperature-retake", colour: credential.ColourGreen},
		{name: "lane without a thermometer admits", mutate: func(in *Input) { in.Temperature = passage.Temperature{State: passage.TempNotTaken} }, verdict: passage.Admit, rule: "green", colour: credential.ColourGreen},
		{name: "zero temperature is not taken", mutate: func(in *Input) { in.Temperature = passage.Temperature{} }, verdict: passage.Admit, rule: "green", colour: credential.ColourGreen},
		{name: "complete vaccination DCC admits and shows green", mutate: func(in *Input) { *in = dcc() }, verdict: passage.Admit, rule: "certificate", colour: credential.ColourGreen},
		{name: "incomplete vaccination DCC denies", mutate: func(in *Input) {
			*in = dcc()
			in.Credential.Facts.Dose = 1
		}, verdict: passage.Deny, reasons: []string{ReasonCertificate}, rule: "certificate-not-accepted"},
		{name: "fresh vaccination DCC denies", mutate: func(in *Input) {
			*in = dcc()
			in.Credential.Facts.Date = t0.Add(-24 * time.Hour)
		}, verdict: passage.Deny, reasons: []string{ReasonCertificate}, rule: "certificate-not-accepted"},
		{name: "negative test of yesterday admits", mutate: func(in *Input) {
			*in = dcc()
			in.Credential.Facts = &credential.Facts{Kind: "test", TestResult: "not-detected", Date: t0.Add(-24 * time.Hour)}
		}, verdict: passage.Admit, rule: "certificate", colour: credential.ColourGreen},
		{name: "positive test denies", mutate: func(in *Input) {
			*in = dcc()
			in.Credential.Facts = &credential.Facts{Kind: "test", TestResult: "detected", Date: t0.Add(-24 * time.Hour)}
		}, verdict: passage.Deny, reasons: []string{ReasonCertificate}, rule: "certificate-not-accepted"},
		{name: "valid recovery admits", mutate: func(in *Input) {
			*in = dcc()
			in.Credential.Facts = &credential.Facts{Kind: "recovery", ValidFrom: t0.Add(-10 * 24 * time.Hour), ValidUntil: t0.Add(100 * 24 * time.Hour)}
		}, verdict: passage.Admit, rule: "certificate", colour: credential.ColourGreen},
		{name: "DCC with a fever refers", mutate: func(in *Input) {
			*in = dcc()
			in.Temperature.Value = celsius(37.8)
		}, verdict: passage.Refer, reasons: []string{ReasonFever}, rule: "fever"},
		{name: "DCC holder turned red by the status list denies", mutate: func(in *Input) {
			*in = dcc()
			in.Status = Status{Overridden: true, Status: "red", Effective: t0.Add(-time.Hour)}
		}, verdict: passage.Deny, reasons: []string{ReasonStatusRed}, rule: "status-red", colour: credential.ColourRed},
	}
}

func runCases(t *testing.T, e *Engine, cases []policyCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := green()
			tc.mutate(&in)
			got := e.Decide(in)
			if got.Err != nil {
				t.Errorf("got error %v, want none", got.Err)
			}
			if got.Verdict != tc.verdict || !slices.Equal(got.Reasons, tc.reasons) || got.Rule != tc.rule || got.Colour != tc.colour {
				t.Errorf("got %s %q by rule %q colour %s, want %s %q by rule %q colour %s",
					got.Verdict, got.Reasons, got.Rule, got.Colour, tc.verdict, tc.reasons, tc.rule, tc.colour)
			}
		})
	}
}

// residentBundle is the default compound bundle with the test holders on
// its access list.
func residentBundle(t *testing.T) *Bundle {
	t.Helper()
	b, err := DefaultBundle(siteconfig.Compound)
	if err != nil {
		t.Fatal(err)
	}
	b.Residents = []string{"ZJ:42", dcc().Credential.Holder.String()}
	return b
}

func TestDefaultPolicies(t *testing.T) {
	for _, site := range siteconfig.SiteTypes() {
		t.Run(string(site), func(t *testing.T) {
			var b *Bundle
			if site == siteconfig.Compound {
				b = residentBundle(t)
			}
			e, err := New(b, site)
			if err != nil {
				t.Fatal(err)
			}
			yellow := passage.Deny
			if site == siteconfig.Pharmacy {
				yellow = passage.Refer
			}
			runCases(t, e, commonCases(yellow))
		})
	}
}

func TestCompoundResidents(t *testing.T) {
	e, err := New(residentBundle(t), siteconfig.Compound)
	if err != nil {
		t.Fatal(err)
	}
	runCases(t, e, []policyCase{
		{name: "resident admits", mutate: func(*Input) {}, verdict: passage.Admit, rule: "green", colour: credential.ColourGreen},
		{name: "visitor refers", mutate: func(in *Input) { in.Credential.Holder.Index = 43 }, verdict: passage.Refer, reasons: []string{ReasonNotResident}, rule: "not-resident", colour: credential.ColourGreen},
		{name: "same index of another issuer is not a resident", mutate: func(in *Input) { in.Credential.Holder.Issuer = "HB" }, verdict: passage.Refer, reasons: []string{ReasonNotResident}, rule: "not-resident", colour: credential.ColourGreen},
		{name: "red visitor denies as red", mutate: func(in *Input) {
			in.Credential.Holder.Index = 43
			in.Credential.Colour = credential.ColourRed
		}, verdict: passage.Deny, reasons: []string{ReasonColourRed}, rule: "colour-red", colour: credential.ColourRed},
		{name: "resident DCC holder admits", mutate: func(in *Input) { *in = dcc() }, verdict: passage.Admit, rule: "certificate", colour: credential.ColourGreen},
	})
	def, err := New(nil, siteconfig.Compound)
	if err != nil {
		t.Fatal(err)
	}
	runCases(t, def, []policyCase{
		{name: "empty access list refers everyone", mutate: func(*Input) {}, verdict: passage.Refer, reasons: []string{ReasonNotResident}, rule: "not-resident", colour: credential.ColourGreen},
	})
}

func TestSiteSettings(t *testing.T) {
	tests := []struct {
		name   string
		change func(*Bundle)
		cases  []policyCase
	}{
		{"thermometer fault admitted", func(b *Bundle) { b.ThermometerUnavailable = passage.Admit }, []policyCase{
			{name: "fault ignored", mutate: func(in *Input) { in.Temperature = passage.Temperature{State: passage.TempUnavailable} }, verdict: passage.Admit, rule: "green", colour: credential.ColourGreen},
			{name: "red still denied", mutate: func(in *Input) {
				in.Temperature = passage.Temperature{State: passage.TempUnavailable}
				in.Credential.Colour = credential.ColourRed
			}, verdict: passage.Deny, reasons: []string{ReasonColourRed}, rule: "colour-red", colour: credential.ColourRed},
		}},
		{"thermometer fault denied", func(b *Bundle) { b.ThermometerUnavailable = passage.Deny }, []policyCase{
			{name: "fault denies", mutate: func(in *Input) { in.Temperature = passage.Temperature{State: passage.TempUnavailable} }, verdict: passage.Deny, reasons: []string{ReasonThermometer}, rule: "thermometer", colour: credential.ColourGreen},
		}},
		{"fever at 37.8", func(b *Bundle) { b.Fever = celsius(37.8) }, []policyCase{
			{name: "37.5 admits", mutate: func(in *Input) { in.Temperature.Value = celsius(37.5) }, verdict: passage.Admit, rule: "green", colour: credential.ColourGreen},
			{name: "37.8 refers", mutate: func(in *Input) { in.Temperature.Value = celsius(37.8) }, verdict: passage.Refer, reasons: []string{ReasonFever}, rule: "fever", colour: credential.ColourGreen},
		}},
		{"yellow admitted", func(b *Bundle) { b.Yellow = passage.Admit }, []policyCase{
			{name: "yellow admits", mutate: func(in *Input) { in.Credential.Colour = credential.ColourYellow }, verdict: passage.Admit, rule: "yellow-admitted", colour: credential.ColourYellow},
			{name: "status yellow admits", mutate: func(in *Input) {
				in.Status = Status{Overridden: true, Status: "yellow", Effective: t0.Add(-time.Minute)}
			}, verdict: passage.Admit, rule: "yellow-admitted", colour: credential.ColourYellow},
			{name: "yellow with a fever refers", mutate: func(in *Input) {
				in.Credential.Colour = credential.ColourYellow
				in.Temperature.Value = celsius(38)
			}, verdict: passage.Refer, reasons: []string{ReasonFever}, rule: "fever", colour: credential.ColourYellow},
			{name: "red still denies", mutate: func(in *Input) { in.Credential.Colour = credential.ColourRed }, verdict: passage.Deny, reasons: []string{ReasonColourRed}, rule: "colour-red", colour: credential.ColourRed},
		}},
		{"yellow referred", func(b *Bundle) { b.Yellow = passage.Refer }, []policyCase{
			{name: "yellow refers", mutate: func(in *Input) { in.Credential.Colour = credential.ColourYellow }, verdict: passage.Refer, reasons: []string{ReasonColourYellow}, rule: "colour-yellow", colour: credential.ColourYellow},
		}},
		{"paper refused", func(b *Bundle) { b.PaperAccepted = false }, []policyCase{
			{name: "paper denies", mutate: func(in *Input) { in.Credential.Paper = true }, verdict: passage.Deny, reasons: []string{ReasonPaper}, rule: "paper", colour: credential.ColourGreen},
			{name: "rolling admits", mutate: func(*Input) {}, verdict: passage.Admit, rule: "green", colour: credential.ColourGreen},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := DefaultBundle(siteconfig.Supermarket)
			if err != nil {
				t.Fatal(err)
			}
			tt.change(b)
			e, err := New(b, siteconfig.Supermarket)
			if err != nil {
				t.Fatal(err)
			}
			runCases(t, e, tt.cases)
		})
	}
}

// TestDecideConcurrent runs lanes at once on one engine (run with -race).
func TestDecideConcurrent(t *testing.T) {
	e, err := New(nil, siteconfig.Supermarket)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for lane := range 8 {
		wg.Go(func() {
			for i := range 50 {
				in := green()
				in.Temperature.Value = celsius(36 + float64((lane+i)%3))
				want := passage.Admit
				if in.Temperature.Value >= DefaultFever {
					want = passage.Refer
				}
				if d := e.Decide(in); d.Verdict != want {
					t.Errorf("lane %d: got %s %q, want %s", lane, d.Verdict, d.Reasons, want)
					return
				}
			}
		})
	}
	wg.Wait()
}

// TestReasonsNotShared checks that changing a decision's reasons does not
// change the engine's rules.
func TestReasonsNotShared(t *testing.T) {
	e, err := New(nil, siteconfig.Supermarket)
	if err != nil {
		t.Fatal(err)
	}
	in := green()
	in.Enrolled = false
	d := e.Decide(in)
	d.Reasons[0] = "changed"
	if got := e.Decide(in).Reasons; !slices.Equal(got, []string{ReasonNotEnrolled}) {
		t.Errorf("got %q after changing an earlier decision, want [not-enrolled]", got)
	}
}

// TestDecideReusesVariables: Decide reuses a finished passage's
// variables and their bound CEL values; no passage sees another's. Every common case is decided
// after every other, from four lanes at once (run with -race), and must
// give its own decision.
func TestDecideReusesVariables(t *testing.T) {
	e, err := New(nil, siteconfig.Supermarket)
	if err != nil {
		t.Fatal(err)
	}
	cases := commonCases(passage.Deny) // a supermarket denies yellow
	var wg sync.WaitGroup
	for lane := range 4 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(lane), 14))
			for range 20 * len(cases) {
				tc := cases[r.IntN(len(cases))]
				in := green()
				tc.mutate(&in)
				got := e.Decide(in)
				if got.Err != nil || got.Verdict != tc.verdict || !slices.Equal(got.Reasons, tc.reasons) || got.Rule != tc.rule || got.Colour != tc.colour {
					t.Errorf("%s: got %s %q by rule %q colour %s (%v), want %s %q by rule %q colour %s",
						tc.name, got.Verdict, got.Reasons, got.Rule, got.Colour, got.Err, tc.verdict, tc.reasons, tc.rule, tc.colour)
					return
				}
			}
		})
	}
	wg.Wait()

	// A rule that reads the credential of a passage without one sees an
	// empty credential, not the last passage's.
	b, err := DefaultBundle(siteconfig.Custom)
	if err != nil {
		t.Fatal(err)
	}
	b.Rules = `rule issuer
  when credential.issuer != "" || credential.holder != ""
  admit

default deny no-credential
`
	ce, err := New(b, siteconfig.Custom)
	if err != nil {
		t.Fatal(err)
	}
	none := green()
	none.Credential, none.Rejection = nil, credential.ReasonBadSignature
	for range 20 {
		if d := ce.Decide(green()); d.Verdict != passage.Admit {
			t.Fatalf("green code: got %s %q (%v), want admit", d.Verdict, d.Reasons, d.Err)
		}
		if d := ce.Decide(none); d.Verdict != passage.Deny {
			t.Fatalf("no credential after a green code: got %s %q by %q, want deny: the variables kept the last passage's", d.Verdict, d.Reasons, d.Rule)
		}
	}

	in := green()
	pooled := testing.AllocsPerRun(100, func() { e.Decide(in) })
	fresh := testing.AllocsPerRun(100, func() { e.decideOn(new(activation), &in) })
	// Reused: the activation and the CEL values of its seven structs, 8
	// objects (under -race a sync.Pool drops a quarter of what it is
	// given, so 6 on average).
	if pooled > fresh-4 {
		t.Errorf("Decide: %v allocations, with new variables %v: the variables are not reused", pooled, fresh)
	}
}
