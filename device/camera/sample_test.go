package camera

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestSharpenReadsBlurredModules samples a random module grid through
// the blur of a code half a module out of focus (each module keeps 47 %
// of its level and takes 11 % of each side neighbour's and 2.5 % of each
// diagonal one's): thresholding the samples against their local mean
// misreads isolated modules, sharpening first reads all but a few (which
// the code's error correction then repairs).
func TestSharpenReadsBlurredModules(t *testing.T) {
	const dim = 41
	rng := rand.New(rand.NewPCG(1, 2))
	mods := make([]bool, dim*dim)
	for i := range mods {
		mods[i] = rng.IntN(2) == 0
	}
	level := func(x, y int) float32 {
		x, y = min(max(x, 0), dim-1), min(max(y, 0), dim-1)
		if mods[y*dim+x] {
			return 40
		}
		return 200
	}
	var s sampler
	s.vals = make([]float32, dim*dim)
	for y := 0; y < dim; y++ {
		for x := 0; x < dim; x++ {
			s.vals[y*dim+x] = 0.47*level(x, y) +
				0.11*(level(x-1, y)+level(x+1, y)+level(x, y-1)+level(x, y+1)) +
				0.025*(level(x-1, y-1)+level(x+1, y-1)+level(x-1, y+1)+level(x+1, y+1))
		}
	}
	wrong := func(mode int) int {
		m := s.threshold(dim, mode, false)
		n := 0
		for y := 0; y < dim; y++ {
			for x := 0; x < dim; x++ {
				if m.Get(x, y) != mods[y*dim+x] {
					n++
				}
			}
		}
		return n
	}
	plain := wrong(threshMean)
	s.sharpen(dim)
	sharp := wrong(threshSharp)
	t.Logf("modules misread: %d thresholded as sampled, %d sharpened", plain, sharp)
	if plain == 0 {
		t.Error("the blur misread no module: the test no longer shows what sharpening is for")
	}
	if 10*sharp > plain {
		t.Errorf("sharpened, %d of %d modules misread, want at most a tenth of the %d misread without", sharp, dim*dim, plain)
	}
}

// thresholdReference is threshold as first written: each module's
// window read in full, (2r+1)² values a module.
func thresholdReference(v []float32, dim, mode int, inv bool) ([][]bool, [][]float64) {
	out := make([][]bool, dim)
	ts := make([][]float64, dim)
	r := 3
	if mode != threshMidrange {
		r = 2
	}
	for y := 0; y < dim; y++ {
		out[y] = make([]bool, dim)
		ts[y] = make([]float64, dim)
		y0, y1 := max(0, y-r), min(dim-1, y+r)
		for x := 0; x < dim; x++ {
			x0, x1 := max(0, x-r), min(dim-1, x+r)
			var t float64
			if mode == threshMidrange {
				lo, hi := float32(255), float32(0)
				for yy := y0; yy <= y1; yy++ {
					for _, w := range v[yy*dim+x0 : yy*dim+x1+1] {
						lo, hi = min(lo, w), max(hi, w)
					}
				}
				t = float64((lo + hi) / 2)
			} else {
				sum := 0.0
				for yy := y0; yy <= y1; yy++ {
					for _, w := range v[yy*dim+x0 : yy*dim+x1+1] {
						sum += float64(w)
					}
				}
				t = sum / float64((y1-y0+1)*(x1-x0+1))
			}
			out[y][x] = (float64(v[y*dim+x]) < t) != inv
			ts[y][x] = t
		}
	}
	return out, ts
}

// TestThresholdMatchesReference compares the separable window statistics
// of threshold with the full windows: the midrange bit for bit, the
// means wherever a module is not within float32 rounding of its
// threshold.
func TestThresholdMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	var s sampler
	for _, dim := range []int{21, 25, 57, 177} {
		for trial := 0; trial < 4; trial++ {
			v := make([]float32, dim*dim)
			for i := range v {
				switch trial {
				case 0: // modules of two levels and noise
					v[i] = float32(40+160*rng.IntN(2)) + float32(rng.NormFloat64()*12)
				case 1: // uniform, grid outside the image
					v[i] = 255
				case 2: // integers: sums exact in any order
					v[i] = float32(rng.IntN(256))
				default: // sharpened values beyond 0-255
					v[i] = float32(rng.Float64()*400 - 70)
				}
			}
			for mode := range numThresh {
				for _, inv := range []bool{false, true} {
					s.vals = append(s.vals[:0], v...)
					got := s.threshold(dim, mode, inv)
					want, ts := thresholdReference(v, dim, mode, inv)
					for y := 0; y < dim; y++ {
						for x := 0; x < dim; x++ {
							if got.Get(x, y) == want[y][x] {
								continue
							}
							near := math.Abs(float64(v[y*dim+x])-ts[y][x]) < 1e-3
							if mode == threshMidrange || trial == 1 || trial == 2 || !near {
								t.Fatalf("dim %d trial %d mode %d inv %v: module (%d,%d) %v, want %v", dim, trial, mode, inv, x, y, got.Get(x, y), want[y][x])
							}
							// A mean within rounding of the module's value.
							t.Logf("dim %d mode %d: module (%d,%d) at its threshold", dim, mode, x, y)
						}
					}
				}
			}
		}
	}
}
