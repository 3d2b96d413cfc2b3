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

// TestSplitRunsKeepsASharpenedCore splits a row through a finder whose
// core, three modules wide, begins with a phone's sharpening undershoot
// and drifts lighter by more than the frame's edge step across it. A run
// longer than twice the one before ended on the edge step alone, so the
// core, three times its light ring, split into three runs and no row
// through the finder showed 1:1:3:1:1: a clean version 2 code of
// 6.85-pixel modules, turned by 41° and sharpened, was rejected by the
// screen (TestDecodeSharpenedFinders).
func TestSplitRunsKeepsASharpenedCore(t *testing.T) {
	var line []byte
	add := func(n int, v byte) {
		for range n {
			line = append(line, v)
		}
	}
	add(20, 230)
	add(10, 60)
	add(10, 245)
	// The core: sharpening's undershoot at both edges, and the level
	// between drifting by 12, more than the edge step of 9.
	add(3, 45)
	for i := range 24 {
		line = append(line, byte(56+i/2))
	}
	add(3, 45)
	add(10, 245)
	add(10, 60)
	add(20, 230)
	edges, _, _ := splitRuns(nil, nil, line, 9)
	var runs []int
	for k := 1; k < len(edges); k++ {
		runs = append(runs, int(edges[k]-edges[k-1]))
	}
	if len(runs) != 7 {
		t.Fatalf("runs %v, want 7: the quiet zone, the five of the finder, the quiet zone", runs)
	}
	if _, ok := finderRatio([5]int(runs[1:6])); !ok {
		t.Errorf("runs %v: the finder's five are not 1:1:3:1:1", runs)
	}
}

// TestDecodeSharpenedFinders reads a clean frame of the independent
// generator that the screen rejected: see
// TestSplitRunsKeepsASharpenedCore.
func TestDecodeSharpenedFinders(t *testing.T) {
	specs := []foreign.Spec{{Width: 640, Height: 480, Variant: foreign.Clean, Seed: 1900000004}}
	if missed := decodeForeign(t, specs); len(missed) > 0 {
		t.Errorf("missed %v", missed)
	}
}
