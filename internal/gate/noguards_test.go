package gate

import (
	"context"
	"errors"
	"testing"

	"sentinel/internal/passage"
)

// TestOverrideNoGuards: a terminal without guards in its site settings
// (no config bundle yet, or one without [[guard]] blocks) answered "wrong
// PIN" to every override and counted it towards the lockout. It says that
// it has no guard PINs, and no attempt locks the pad.
func TestOverrideNoGuards(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, func(st *State) { st.Site = DefaultSiteSettings(Supermarket) })
	r.thermo.temps = []float64{37.8}
	if res, _ := r.g.Process(ctx, "in-1", green(t)); res.Passage.Decision != passage.Refer {
		t.Fatalf("got %s, want refer", res.Passage.Decision)
	}
	for i := range 10 {
		if _, err := r.g.Override(ctx, "in-1", pin, OverrideRetakeNormal); !errors.Is(err, ErrNoGuards) {
			t.Fatalf("attempt %d: got %v, want ErrNoGuards", i+1, err)
		}
	}
	if c := r.g.Metrics().Counts(); c.Overrides != 0 || c.PINFailures != 0 || c.OverridesRefused != 10 {
		t.Errorf("got %d overrides, %d wrong PINs, %d refused; want 0, 0 and 10", c.Overrides, c.PINFailures, c.OverridesRefused)
	}
}
