package camera

import (
	"math/rand/v2"
	"testing"

	"sentinel/device/camera/foreign"
)

// TestTimingScoreTellsSize fits, as decodeCorners does, a grid to the
// outer corners and centres of a code's three finder patterns for its
// own size and for the sizes one and two versions off, which fit the
// corners just as well. The timing patterns must score the code's own
// size well above zero and above every other; a grid read through three
// places in random modules must score near zero.
func TestTimingScoreTellsSize(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, c := range []struct {
		chars int
		scale float64
	}{{60, 4.3}, {200, 3.6}, {400, 3.1}} {
		mods, _ := dccModules(t, rng, c.chars, "M")
		n := len(mods)
		const quiet = 4
		pl := mustPlane(renderModules(mods, c.scale, quiet))
		// Where module-space point (u, v) of the code lies in the image.
		at := func(u, v float64) (float64, float64) {
			return (quiet + u) * c.scale, (quiet + v) * c.scale
		}
		fit := func(dim int) homography {
			var cs []correspondence
			for i, o := range [3][2]float64{{0, 0}, {float64(n - 7), 0}, {0, float64(n - 7)}} {
				o2 := [3][2]float64{{0, 0}, {float64(dim - 7), 0}, {0, float64(dim - 7)}}[i]
				for _, q := range [5][2]float64{{0, 0}, {7, 0}, {0, 7}, {7, 7}, {3.5, 3.5}} {
					x, y := at(o[0]+q[0], o[1]+q[1])
					cs = append(cs, correspondence{o2[0] + q[0], o2[1] + q[1], x, y})
				}
			}
			h, ok := fitHomography(cs)
			if !ok {
				t.Fatalf("no fit for size %d", dim)
			}
			return h
		}
		own, ok := timingScore(pl, fit(n), n, false)
		if !ok || own < 0.3 {
			t.Errorf("version %d: its own size scores %.2f (ok %v), want 0.3 and more", (n-17)/4, own, ok)
		}
		for _, dim := range []int{n - 8, n - 4, n + 4, n + 8} {
			if dim < 21 {
				continue
			}
			if sc, _ := timingScore(pl, fit(dim), dim, false); sc >= own/2 {
				t.Errorf("version %d: size %d scores %.2f, its own %.2f", (n-17)/4, dim, sc, own)
			}
		}
	}
	// A random module grid: no timing pattern anywhere.
	const n = 45
	var mods [][]bool
	for range n {
		row := make([]bool, n)
		for x := range row {
			row[x] = rng.IntN(2) == 0
		}
		mods = append(mods, row)
	}
	pl := mustPlane(renderModules(mods, 4, 4))
	high := 0
	for trial := range 40 {
		var cs []correspondence
		for _, q := range [4][2]float64{{0, 0}, {n, 0}, {0, n}, {n, n}} {
			jx, jy := rng.Float64()*8-4, rng.Float64()*8-4
			cs = append(cs, correspondence{q[0], q[1], (4+q[0])*4 + jx, (4+q[1])*4 + jy})
		}
		h, ok := fitHomography(cs)
		if !ok {
			t.Fatalf("trial %d: no fit", trial)
		}
		if sc, _ := timingScore(pl, h, n, false); sc > 0.3 {
			high++
		}
	}
	if high > 2 {
		t.Errorf("%d of 40 grids over random modules score above 0.3", high)
	}
}

// TestTimingChoosesTriplesAndSizes reads frames of the independent
// generator (device/camera/foreign, fixed seeds) that the decoder missed
// for want of work units, not of finders: it read the grids of three
// sizes per finder triple, chosen by how well they fit the finders'
// corners (which every size does about as well), through wrong triples
// as well as the code's own, each with its alignment search, and spent
// the frame's work before it came to the code's size. The timing
// patterns now choose the sizes and turn away the wrong triples.
func TestTimingChoosesTriplesAndSizes(t *testing.T) {
	specs := []foreign.Spec{
		{Width: 1280, Height: 720, Variant: foreign.Defocus, Seed: 185},
		{Width: 640, Height: 480, Variant: foreign.Defocus, Seed: 44},
		{Width: 640, Height: 480, Variant: foreign.Dense, Seed: 120},
		{Width: 1280, Height: 720, Variant: foreign.Gauss, Seed: 166},
		{Width: 640, Height: 480, Variant: foreign.Dense, Seed: 3000104},
		{Width: 1280, Height: 720, Variant: foreign.Perspective, Seed: 3000144},
		{Width: 1280, Height: 720, Variant: foreign.JPEG, Seed: 3000188},
	}
	checkReadsForeign(t, specs)
}
