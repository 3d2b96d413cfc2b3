package gate

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/passage"
)

const pin = "246810" // guard-1's PIN in newRig

func TestOverride(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	if _, err := r.g.Override(ctx, "in-1", pin, OverrideRetakeNormal); !errors.Is(err, ErrNothingToOverride) {
		t.Fatalf("override before any passage: got %v, want ErrNothingToOverride", err)
	}
	r.thermo.temps = []float64{37.8}
	res, _ := r.g.Process(ctx, "in-1", green(t))
	if res.Passage.Decision != passage.Refer {
		t.Fatalf("got %s, want refer", res.Passage.Decision)
	}
	if got := r.display.last().OverrideReasons; !slices.Equal(got, OverrideReasons()) {
		t.Errorf("a fever shows override reasons %v, want every reason", got)
	}
	if _, err := r.g.Override(ctx, "in-1", pin, "because"); !errors.Is(err, ErrOverrideReason) {
		t.Errorf("unknown reason: got %v, want ErrOverrideReason", err)
	}
	if _, err := r.g.Override(ctx, "in-1", "111111", OverrideRetakeNormal); !errors.Is(err, ErrBadPIN) {
		t.Errorf("wrong PIN: got %v, want ErrBadPIN", err)
	}
	if _, err := r.g.Override(ctx, "out-9", pin, OverrideRetakeNormal); !errors.Is(err, ErrUnknownLane) {
		t.Errorf("unknown lane: got %v, want ErrUnknownLane", err)
	}
	r.clock.advance(DefaultOverrideWindow)
	ov, err := r.g.Override(ctx, "in-1", pin, OverrideRetakeNormal)
	if err != nil {
		t.Fatalf("override at the end of the display's hold: %v", err)
	}
	p := ov.Passage
	if p.Decision != passage.Admit || p.Override == nil || p.Override.Who != "guard-1" || p.Override.Why != OverrideRetakeNormal || p.Override.Of != res.Seq {
		t.Errorf("got %s %+v, want admit by guard-1 for retake-normal of seq %d", p.Decision, p.Override, res.Seq)
	}
	if p.Holder != res.Passage.Holder || !p.Time.Equal(t0.Add(time.Hour+DefaultOverrideWindow)) {
		t.Errorf("override passage holder %v at %v, want the referred holder now", p.Holder, p.Time)
	}
	// The wrong PIN above is a record of its own: journal, refuse,
	// wrong PIN, journal, admit.
	if got, want := r.rec.events(), []string{"journal", "refuse", "journal", "journal", "admit"}; !slices.Equal(got, want) {
		t.Errorf("got calls %v, want %v", got, want)
	}
	if _, err := r.g.Override(ctx, "in-1", pin, OverrideRetakeNormal); !errors.Is(err, ErrNothingToOverride) {
		t.Errorf("second override: got %v, want ErrNothingToOverride", err)
	}
	c := r.g.Metrics().Counts()
	if c.Overrides != 1 || c.OverridesRefused != 3 || c.PINFailures != 1 {
		t.Errorf("got %d overrides, %d refused, %d wrong PINs; want 1, 3 and 1", c.Overrides, c.OverridesRefused, c.PINFailures)
	}
}

// TestOverrideOnlyWhileShown: the finding, an override accepted
// 40 s after the passage and after other people had passed.
func TestOverrideOnlyWhileShown(t *testing.T) {
	ctx := context.Background()
	t.Run("after the display's hold", func(t *testing.T) {
		r := newRig(t, nil)
		r.thermo.temps = []float64{38.2}
		r.g.Process(ctx, "in-1", green(t))
		r.clock.advance(40 * time.Second)
		if _, err := r.g.Override(ctx, "in-1", pin, OverrideRetakeNormal); !errors.Is(err, ErrNothingToOverride) {
			t.Errorf("override 40 s later: got %v, want ErrNothingToOverride", err)
		}
	})
	t.Run("after someone else passed", func(t *testing.T) {
		r := newRig(t, nil)
		r.thermo.temps = []float64{38.2, 36.6}
		r.g.Process(ctx, "in-1", green(t))
		r.clock.advance(5 * time.Second)
		if res, _ := r.g.Process(ctx, "in-1", green(t)); res.Passage.Decision != passage.Admit {
			t.Fatalf("second person: got %s, want admit", res.Passage.Decision)
		}
		if _, err := r.g.Override(ctx, "in-1", pin, OverrideRetakeNormal); !errors.Is(err, ErrNothingToOverride) {
			t.Errorf("override after an admission: got %v, want ErrNothingToOverride", err)
		}
	})
	t.Run("after a scan error replaced it on screen", func(t *testing.T) {
		r := newRig(t, nil)
		r.thermo.temps = []float64{38.2}
		r.g.Process(ctx, "in-1", green(t))
		timer := time.NewTimer(time.Hour)
		defer timer.Stop()
		r.g.handle(ctx, r.g.byName["in-1"], event{err: errors.New("frame error")}, timer)
		if _, err := r.g.Override(ctx, "in-1", pin, OverrideRetakeNormal); !errors.Is(err, ErrNothingToOverride) {
			t.Errorf("override after a scan error: got %v, want ErrNothingToOverride", err)
		}
	})
	t.Run("a journal failure", func(t *testing.T) {
		r := newRig(t, nil)
		r.thermo.temps = []float64{38.2}
		r.g.Process(ctx, "in-1", green(t))
		r.journal.fail = errDiskFull
		if _, err := r.g.Override(ctx, "in-1", pin, OverrideRetakeNormal); !errors.Is(err, ErrJournal) {
			t.Errorf("override without journal: got %v, want ErrJournal", err)
		}
		if got := r.rec.events(); slices.Contains(got, "admit") {
			t.Errorf("got calls %v: the gate opened without a journal", got)
		}
	})
}

func TestOverrideScope(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name    string
		payload func(testing.TB) []byte
		reasons []string
		tries   map[string]error // reason → the answer; nil: admitted
	}{
		{"forged code", forged, nil, map[string]error{
			OverrideEmergency: ErrNotOverridable, OverrideDocumentCheck: ErrNotOverridable}},
		{"red code", red, []string{OverrideEmergency}, map[string]error{
			OverrideDocumentCheck: ErrEmergencyOnly, OverrideKnownResident: ErrEmergencyOnly, OverrideEmergency: nil}},
		{"not a health code", func(testing.TB) []byte { return []byte("hello") }, []string{OverrideEmergency}, map[string]error{
			OverrideTerminalFault: ErrEmergencyOnly, OverrideEmergency: nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			res, _ := r.g.Process(ctx, "in-1", tt.payload(t))
			if res.Passage.Decision != passage.Deny {
				t.Fatalf("got %s, want deny", res.Passage.Decision)
			}
			if got := r.display.last().OverrideReasons; !slices.Equal(got, tt.reasons) {
				t.Errorf("display offers %v, want %v", got, tt.reasons)
			}
			// Refused reasons first, so that the admitted one comes last.
			keys := make([]string, 0, len(tt.tries))
			for k, want := range tt.tries {
				if want != nil {
					keys = append([]string{k}, keys...)
				} else {
					keys = append(keys, k)
				}
			}
			for _, reason := range keys {
				_, err := r.g.Override(ctx, "in-1", pin, reason)
				if want := tt.tries[reason]; !errors.Is(err, want) || (want == nil && err != nil) {
					t.Errorf("override for %s: got %v, want %v", reason, err, want)
				}
			}
			if c := r.g.Metrics().Counts(); c.PINFailures != 0 {
				t.Errorf("refused by scope, yet %d PIN failures counted", c.PINFailures)
			}
		})
	}
}

func TestWrongPINJournalled(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	r.thermo.temps = []float64{38.2}
	res, _ := r.g.Process(ctx, "in-1", green(t))
	for _, wrong := range []string{"135790", "1234"} { // a short PIN is wrong without a check
		if _, err := r.g.Override(ctx, "in-1", wrong, OverrideRetakeNormal); !errors.Is(err, ErrBadPIN) {
			t.Fatalf("PIN %s: got %v, want ErrBadPIN", wrong, err)
		}
	}
	all := r.journal.all()
	if len(all) != 3 {
		t.Fatalf("got %d journal records, want the passage and 2 wrong PINs", len(all))
	}
	for _, p := range all[1:] {
		if p.Decision != passage.Deny || !slices.Equal(p.Reasons, []string{ReasonWrongPIN}) || p.Override == nil ||
			p.Override.Who != "" || p.Override.Of != res.Seq || p.Override.Why != OverrideRetakeNormal ||
			p.Holder != (credential.Holder{}) || p.Lane != "in-1" {
			t.Errorf("wrong PIN recorded as %+v (override %+v), want a refusal naming passage %d and no holder", p, p.Override, res.Seq)
		}
	}
	if c := r.g.Metrics().Counts(); c.PINFailures != 2 {
		t.Errorf("got %d PIN failures counted, want 2", c.PINFailures)
	}
	// The person is still on screen: the right PIN overrides.
	if _, err := r.g.Override(ctx, "in-1", pin, OverrideRetakeNormal); err != nil {
		t.Errorf("right PIN after wrong ones: %v", err)
	}
}

func TestPINLockoutEscalatesAndPersists(t *testing.T) {
	ctx := context.Background()
	var saved PINState
	saves := 0
	save := func(s PINState) error { saved, saves = s, saves+1; return nil }
	// Not enrolled: every passage is referred, whatever the clock says.
	notEnrolled := func(s *State) { s.Enrolled = false }
	r := newRigOpts(t, notEnrolled, func(o *Options) { o.SavePINState = save })
	referred := func(r *rig) {
		t.Helper()
		if res, _ := r.g.Process(ctx, "in-1", green(t)); res.Passage.Decision != passage.Refer {
			t.Fatalf("got %s, want refer", res.Passage.Decision)
		}
	}
	fail := func(r *rig) error {
		t.Helper()
		var err error
		for i := range MaxPINFailures {
			_, err = r.g.Override(ctx, "in-1", "999999", OverrideRetakeNormal)
			if i < MaxPINFailures-1 && !errors.Is(err, ErrBadPIN) {
				t.Fatalf("wrong PIN %d: got %v, want ErrBadPIN", i+1, err)
			}
		}
		return err
	}

	for i, want := range []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute} {
		referred(r)
		err := fail(r)
		var le *LockedError
		if !errors.As(err, &le) || !errors.Is(err, ErrOverrideLocked) || le.For != want {
			t.Fatalf("lockout %d: got %v, want a lockout of %s", i+1, err, want)
		}
		if _, err := r.g.Override(ctx, "in-1", pin, OverrideRetakeNormal); !errors.As(err, &le) || le.Wait != want {
			t.Fatalf("right PIN while locked: got %v, want locked for %s", err, want)
		}
		if now, _ := r.clock.Now(); !r.g.OverridesLockedUntil(now).Equal(now.Add(want)) {
			t.Errorf("OverridesLockedUntil: got %v, want %v", r.g.OverridesLockedUntil(now), now.Add(want))
		}
		r.clock.advance(want - time.Second)
		if _, err := r.g.Override(ctx, "in-1", pin, OverrideRetakeNormal); !errors.Is(err, ErrOverrideLocked) {
			t.Fatalf("a second before the end: got %v, want locked", err)
		}
		r.clock.advance(time.Second)
		if now, _ := r.clock.Now(); !r.g.OverridesLockedUntil(now).IsZero() {
			t.Errorf("after the lockout: OverridesLockedUntil %v, want zero", r.g.OverridesLockedUntil(now))
		}
	}
	if c := r.g.Metrics().Counts(); c.PINLockouts != 3 || c.PINFailures != 15 {
		t.Errorf("got %d lockouts and %d wrong PINs counted, want 3 and 15", c.PINLockouts, c.PINFailures)
	}

	// A restart keeps the lockout: the daemon passes the saved state.
	referred(r)
	fail(r)
	if saved.Level != 4 || saved.LockedFor != 2*time.Hour || saves == 0 {
		t.Fatalf("saved %+v after 4 lockouts, want level 4 locked for 2h", saved)
	}
	r2 := newRigOpts(t, notEnrolled, func(o *Options) { o.PINState, o.SavePINState = saved, save })
	r2.clock.t = r.clock.t.Add(time.Hour)
	referred(r2)
	if _, err := r2.g.Override(ctx, "in-1", pin, OverrideRetakeNormal); !errors.Is(err, ErrOverrideLocked) {
		t.Fatalf("after a restart an hour into a 2 h lockout: got %v, want locked", err)
	}
	// A clock set back a year does not lock overrides for a year.
	r2.clock.t = r.clock.t.AddDate(-1, 0, 0)
	var le *LockedError
	if _, err := r2.g.Override(ctx, "in-1", pin, OverrideRetakeNormal); !errors.As(err, &le) || le.Wait > 2*time.Hour {
		t.Fatalf("clock set back: got %v, want at most the 2 h lockout", err)
	}
	// The lockout ends; a right PIN forgets everything.
	r2.clock.advance(2 * time.Hour)
	referred(r2)
	if _, err := r2.g.Override(ctx, "in-1", pin, OverrideRetakeNormal); err != nil {
		t.Fatalf("after the lockout: %v", err)
	}
	if saved != (PINState{}) {
		t.Errorf("after a right PIN saved %+v, want nothing", saved)
	}
}

// TestPINLockoutForgets: a wrong PIN now and then over days never locks.
func TestPINLockoutForgets(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, func(s *State) { s.Enrolled = false })
	for day := range 10 {
		r.g.Process(ctx, "in-1", green(t))
		if _, err := r.g.Override(ctx, "in-1", "999999", OverrideRetakeNormal); !errors.Is(err, ErrBadPIN) {
			t.Fatalf("day %d: got %v, want ErrBadPIN", day, err)
		}
		r.clock.advance(pinForget)
	}
}
