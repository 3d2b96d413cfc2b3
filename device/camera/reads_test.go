package camera

import (
	"testing"

	"sentinel/device/camera/foreign"
)

// TestDecodeSparesWorkOnUnlikelyGrids reads frames of the independent
// generator that ran out of work before the pass that finds their code:
// the passes before it read the grids of wrong triples whose timing
// patterns scored 0.03-0.12 of the finders' contrast, at tens of
// thousands of work units each (grey samples, alignment searches,
// deblurring). A clean version 12 code's own grid scored 0.85 in the
// full-scale pass and was left too little work to be read. Grids scoring
// under minTimingScore are no longer read.
func TestDecodeSparesWorkOnUnlikelyGrids(t *testing.T) {
	specs := []foreign.Spec{
		{Width: 1280, Height: 720, Variant: foreign.Clean, Seed: 3100000139},
		{Width: 1280, Height: 720, Variant: foreign.Defocus, Seed: 3100000169},
		{Width: 640, Height: 480, Variant: foreign.Defocus, Seed: 1900000033},
	}
	if missed := decodeForeign(t, specs); len(missed) > 0 {
		t.Errorf("missed %d of %d:", len(missed), len(specs))
		for _, m := range missed {
			t.Log(m)
		}
	}
}
