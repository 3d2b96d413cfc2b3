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
	checkReadsForeign(t, specs)
}

// TestSplitRunsKeepsASharpenedCore splits a row through a finder whose
// core, three modules wide, begins with a phone's sharpening undershoot
// and drifts lighter by more than the frame's edge step across it. A run
// longer than twice the one before ended on the edge step alone, so the
// core, three times its light ring, split into three runs and no row
// through the finder showed 1:1:3:1:1: a clean version 2 code of
// 6.85-pixel modules, turned by 41° and sharpened, was rejected by the
// screen (TestDecodeSharpenedFinders).
func TestSplitRunsKeepsASharpenedCore(t *testing.T) {
	var line testLine
	line.add(20, 230)
	line.add(10, 60)
	line.add(10, 245)
	// The core: sharpening's undershoot at both edges, and the level
	// between drifting by 12, more than the edge step of 9.
	line.add(3, 45)
	for i := range 24 {
		line = append(line, byte(56+i/2))
	}
	line.add(3, 45)
	line.add(10, 245)
	line.add(10, 60)
	line.add(20, 230)
	edges, _, _ := splitRuns(nil, nil, line, 9)
	checkFinderRuns(t, edges)
}

// TestDecodeSharpenedFinders reads a clean frame of the independent
// generator that the screen rejected: see
// TestSplitRunsKeepsASharpenedCore.
func TestDecodeSharpenedFinders(t *testing.T) {
	specs := []foreign.Spec{{Width: 640, Height: 480, Variant: foreign.Clean, Seed: 1900000004}}
	checkReadsForeign(t, specs)
}
