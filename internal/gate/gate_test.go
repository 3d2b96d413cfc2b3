package gate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
	"sentinel/internal/passage"
)

// TestPipelineRules runs each default rule through the whole pipeline:
// verification, status, temperature, policy, journal and outputs. The
// policy is the hand-written seedPolicy (see fakes_test.go).
func TestPipelineRules(t *testing.T) {
	tests := []struct {
		name    string
		payload func(t testing.TB) []byte
		mutate  func(*State)
		clock   func(*fakeClock)
		temps   []float64
		therr   *passage.Temperature
		want    passage.Verdict
		reason  string
		outputs []string
		temp    passage.TempState
	}{
		{name: "green admits", payload: green, want: passage.Admit, outputs: []string{"journal", "admit"}, temp: passage.TempOK},
		{name: "yellow denied at a supermarket", payload: yellow, want: passage.Deny, reason: "status-yellow", outputs: []string{"journal", "refuse"}, temp: passage.TempOK},
		{name: "yellow referred at a pharmacy", payload: yellow, mutate: func(s *State) { s.Policy = seedPolicy{yellow: passage.Refer} }, want: passage.Refer, reason: "status-yellow", outputs: []string{"journal", "refuse"}, temp: passage.TempOK},
		{name: "red denied", payload: red, want: passage.Deny, reason: "status-red", outputs: []string{"journal", "refuse"}, temp: passage.TempOK},
		{name: "green turned red by the status list", payload: green,
			mutate: func(s *State) {
				s.Status = fakeStatus{1: {Overridden: true, Status: "red", Effective: t0.Add(time.Minute)}}
			}, want: passage.Deny, reason: "status-red", outputs: []string{"journal", "refuse"}, temp: passage.TempOK},
		{name: "fever at 37.3 refers", payload: green, temps: []float64{37.3}, want: passage.Refer, reason: "fever", outputs: []string{"journal", "refuse"}, temp: passage.TempOK},
		{name: "37.2 admits", payload: green, temps: []float64{37.2}, want: passage.Admit, outputs: []string{"journal", "admit"}, temp: passage.TempOK},
		{name: "thermometer fault refers", payload: green, therr: &passage.Temperature{State: passage.TempUnavailable, Fault: "no-answer"}, want: passage.Refer, reason: "thermometer", outputs: []string{"journal", "refuse"}, temp: passage.TempUnavailable},
		{name: "no forehead refers for a retake", payload: green, therr: &passage.Temperature{State: passage.TempRetake, Fault: passage.FaultNoPerson}, want: passage.Refer, reason: "temp-retake", outputs: []string{"journal", "refuse"}, temp: passage.TempRetake},
		{name: "thermometer in no known state refers", payload: green, therr: &passage.Temperature{State: "warm"}, want: passage.Refer, reason: "thermometer", outputs: []string{"journal", "refuse"}, temp: passage.TempUnavailable},
		{name: "stale trust bundle refers", payload: green, clock: func(c *fakeClock) { c.t = t0.Add(23 * time.Hour) },
			mutate: func(s *State) {
				s.Bundles[trust.KindTrust] = BundleState{Version: 3, FreshUntil: t0, GraceUntil: t0.Add(time.Minute)}
			},
			want: passage.Refer, reason: "bundle-stale", outputs: []string{"journal", "refuse"}, temp: passage.TempOK},
		// The status list is judged on base and chain together: a delta
		// signed after the base covers the whole list, so a fresh chain
		// on a base past its grace does not refer anyone.
		{name: "fresh deltas on a stale base admit", payload: green,
			mutate: func(s *State) {
				s.Bundles[trust.KindStatusBase] = BundleState{Version: 10, IssuedAt: t0.Add(-96 * time.Hour), FreshUntil: t0.Add(-72 * time.Hour), GraceUntil: t0}
				s.Bundles[trust.KindStatusDelta] = BundleState{Version: 14, IssuedAt: t0.Add(30 * time.Minute), FreshUntil: t0.Add(24 * time.Hour), GraceUntil: t0.Add(72 * time.Hour)}
			},
			want: passage.Admit, outputs: []string{"journal", "admit"}, temp: passage.TempOK},
		{name: "stale deltas on a stale base refer", payload: green,
			mutate: func(s *State) {
				s.Bundles[trust.KindStatusBase] = BundleState{Version: 10, IssuedAt: t0.Add(-96 * time.Hour), FreshUntil: t0.Add(-72 * time.Hour), GraceUntil: t0}
				s.Bundles[trust.KindStatusDelta] = BundleState{Version: 14, IssuedAt: t0.Add(-95 * time.Hour), FreshUntil: t0.Add(-71 * time.Hour), GraceUntil: t0.Add(-23 * time.Hour)}
			},
			want: passage.Refer, reason: "bundle-stale", outputs: []string{"journal", "refuse"}, temp: passage.TempOK},
		{name: "a delta without a base is no list", payload: green,
			mutate: func(s *State) {
				delete(s.Bundles, trust.KindStatusBase)
				s.Bundles[trust.KindStatusDelta] = BundleState{Version: 14, IssuedAt: t0, FreshUntil: t0.Add(24 * time.Hour), GraceUntil: t0.Add(72 * time.Hour)}
			},
			want: passage.Refer, reason: "bundle-stale", outputs: []string{"journal", "refuse"}, temp: passage.TempOK},
		{name: "untrusted clock refers", payload: green, clock: func(c *fakeClock) { c.trusted = false }, want: passage.Refer, reason: "clock-untrusted", outputs: []string{"journal", "refuse"}, temp: passage.TempOK},
		{name: "not enrolled refers", payload: green, mutate: func(s *State) { s.Verifier, s.Enrolled = nil, false }, want: passage.Refer, reason: "not-enrolled", outputs: []string{"journal", "refuse"}, temp: passage.TempNotTaken},
		{name: "forged code denied", payload: forged, want: passage.Deny, reason: string(credential.ReasonUnknownKey), outputs: []string{"journal", "refuse"}, temp: passage.TempNotTaken},
		{name: "expired code denied", payload: green, clock: func(c *fakeClock) { c.t = t0.Add(25 * time.Hour) }, want: passage.Deny, reason: string(credential.ReasonExpired), outputs: []string{"journal", "refuse"}, temp: passage.TempNotTaken},
		{name: "garbage denied", payload: func(testing.TB) []byte { return []byte("hello") }, want: passage.Deny, reason: string(credential.ReasonUnknownFormat), outputs: []string{"journal", "refuse"}, temp: passage.TempNotTaken},
		{name: "no policy refers", payload: green, mutate: func(s *State) { s.Policy = nil }, want: passage.Refer, reason: ReasonNoPolicy, outputs: []string{"journal", "refuse"}, temp: passage.TempOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, tt.mutate)
			if tt.clock != nil {
				tt.clock(r.clock)
			}
			r.thermo.temps, r.thermo.fail = tt.temps, tt.therr
			res, err := r.g.Process(context.Background(), "in-1", tt.payload(t))
			if err != nil {
				t.Fatalf("Process: %v", err)
			}
			p := res.Passage
			if p.Decision != tt.want {
				t.Errorf("got verdict %s %v, want %s", p.Decision, p.Reasons, tt.want)
			}
			if tt.reason != "" && (len(p.Reasons) == 0 || p.Reasons[0] != tt.reason) {
				t.Errorf("got reasons %v, want %s first", p.Reasons, tt.reason)
			}
			if got := r.rec.events(); !slices.Equal(got, tt.outputs) {
				t.Errorf("got calls %v, want %v", got, tt.outputs)
			}
			if p.Temperature.State != tt.temp {
				t.Errorf("got temperature %s, want %s", p.Temperature.State, tt.temp)
			}
			if j := r.journal.all(); len(j) != 1 || !reflect.DeepEqual(j[0], p) || !res.Committed || res.Seq != 1 {
				t.Errorf("got %d journal records (committed %v, seq %d), want this passage as 1", len(j), res.Committed, res.Seq)
			}
			if s := r.display.last(); s.Verdict != tt.want || s.Lane != "in-1" || s.Seq != 1 || !s.At.Equal(p.Time) {
				t.Errorf("display shows %s at %q (record %d at %v), want %s at in-1, record 1 at %v (its passage reference)", s.Verdict, s.Lane, s.Seq, s.At, tt.want, p.Time)
			}
		})
	}
}

func green(t testing.TB) []byte  { return issue(t, issuerKey, 1, credential.ColourGreen) }
func yellow(t testing.TB) []byte { return issue(t, issuerKey, 2, credential.ColourYellow) }
func red(t testing.TB) []byte    { return issue(t, issuerKey, 3, credential.ColourRed) }
func forged(t testing.TB) []byte { return issue(t, forgerKey, 1, credential.ColourGreen) }

func TestPassageFields(t *testing.T) {
	r := newRig(t, nil)
	res, err := r.g.Process(context.Background(), "in-1", green(t))
	if err != nil {
		t.Fatal(err)
	}
	p := res.Passage
	if p.Format != credential.FormatNative || p.Issuer != "ZJ" || p.Holder.Index != 1 || p.CodeColour != credential.ColourGreen {
		t.Errorf("got %s %s %v %s, want native ZJ ZJ:1 green", p.Format, p.Issuer, p.Holder, p.CodeColour)
	}
	if !p.ClockTrusted || !p.Time.Equal(t0.Add(time.Hour)) || p.Bundles["trust"] != 1 {
		t.Errorf("got time %v trusted %v versions %v", p.Time, p.ClockTrusted, p.Bundles)
	}
	if res.MaskedName != "Zhang *" || r.display.last().MaskedName != "Zhang *" {
		t.Errorf("got masked name %q, want Zhang *", res.MaskedName)
	}
	if p.Temperature.Celsius() < 36.5 || p.Temperature.Celsius() > 36.7 {
		t.Errorf("got %.2f °C, want 36.6", p.Temperature.Celsius())
	}
}

// Every passage gives ops one log line with its lane, verdict, reasons,
// format and journal seq, and nothing of the holder.
func TestPassageLogLine(t *testing.T) {
	var buf bytes.Buffer
	r := newRigOpts(t, nil, func(o *Options) { o.Logger = slog.New(slog.NewJSONHandler(&buf, nil)) })
	res, err := r.g.Process(context.Background(), "in-1", green(t))
	if err != nil {
		t.Fatal(err)
	}
	var line map[string]any
	for l := range strings.Lines(buf.String()) {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatalf("log line %q: %v", l, err)
		}
		if m["msg"] == "passage" {
			line = m
		}
	}
	want := map[string]any{
		"level": "INFO", "msg": "passage", "lane": "in-1", "verdict": "admit", "reasons": nil,
		"format": string(credential.FormatNative), "committed": true, "seq": float64(res.Seq),
	}
	delete(line, "time")
	if !reflect.DeepEqual(line, want) {
		t.Errorf("passage line %v, want %v", line, want)
	}
}

func TestJournalFailureKeepsGateShut(t *testing.T) {
	r := newRig(t, nil)
	r.journal.fail = errDiskFull
	res, err := r.g.Process(context.Background(), "in-1", green(t))
	if !errors.Is(err, ErrJournal) || !errors.Is(err, errDiskFull) {
		t.Fatalf("got %v, want ErrJournal wrapping the disk error", err)
	}
	if res.Committed {
		t.Error("got committed, want not")
	}
	if got, want := r.rec.events(), []string{"journal-fail", "fault"}; !slices.Equal(got, want) {
		t.Errorf("got calls %v, want %v (never admit)", got, want)
	}
	s := r.display.last()
	if !s.Manual || s.Reasons[0] != ReasonJournal || !strings.Contains(s.Message["en"], "manual procedure") || s.Seq != 0 {
		t.Errorf("display shows %+v, want the manual procedure and no record", s)
	}
	if n := r.g.Metrics().Counts().JournalFailures; n != 1 {
		t.Errorf("got %d journal failures counted, want 1", n)
	}
	// The journal recovers: the next person passes.
	r.journal.fail = nil
	if res, err := r.g.Process(context.Background(), "in-1", green(t)); err != nil || res.Passage.Decision != passage.Admit {
		t.Errorf("after recovery got %v %v, want admit", res.Passage.Decision, err)
	}
}

func TestNewRefusesMissingParts(t *testing.T) {
	if _, err := New(Options{}); err == nil {
		t.Error("New with nothing: got nil error")
	}
	_, err := New(Options{Journal: &fakeJournal{}, Clock: &fakeClock{}, State: &State{}, Lanes: []LaneConfig{{Name: "a"}, {Name: "a"}}})
	if err == nil {
		t.Error("New with two lanes named a: got nil error")
	}
}
