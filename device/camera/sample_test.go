package camera

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/makiuchi-d/gozxing"

	"sentinel/device/camera/foreign"
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

// TestDeblurReadsStreakedModules samples a version 6 code's module grid
// through blurs that sharpening with a fixed gain does not undo: a
// motion streak of about 1.6 modules along the rows, then along a
// diagonal (each module keeps 60 % of its level and takes 20 % of each
// neighbour along the streak, none across), and a blur of about two
// thirds of a module (28 % own, 12 % of each side neighbour, 6 % of each
// diagonal one), under light that dims by a third across the code.
// deblur fits the blur to the code's finder, timing and alignment
// patterns and must misread at most a tenth of the modules the better
// of the mean threshold and sharpening misreads. (A streak of two
// modules, 50 % own and 25 % each side, blurs alternate modules to one
// level: no threshold tells them apart, and deblur misreads about 5 %.)
func TestDeblurReadsStreakedModules(t *testing.T) {
	const dim = 41
	for _, c := range []struct {
		name string
		k    [3][3]float32 // weights of the 3×3 neighbours
	}{
		{"streak along rows", [3][3]float32{{0, 0, 0}, {0.2, 0.6, 0.2}, {0, 0, 0}}},
		{"streak along a diagonal", [3][3]float32{{0.2, 0, 0}, {0, 0.6, 0}, {0, 0, 0.2}}},
		{"two thirds of a module", [3][3]float32{{0.06, 0.12, 0.06}, {0.12, 0.28, 0.12}, {0.06, 0.12, 0.06}}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(3, 4))
			var s sampler
			fn := s.functionModules(dim)
			mods := make([]bool, dim*dim)
			for i := range mods {
				mods[i] = rng.IntN(2) == 0
				if fn[i] >= 0 {
					mods[i] = fn[i] == 1
				}
			}
			level := func(x, y int) float32 {
				if x < 0 || y < 0 || x >= dim || y >= dim || !mods[y*dim+x] {
					return 210 // light, and the quiet zone
				}
				return 50
			}
			s.vals = make([]float32, dim*dim)
			for y := 0; y < dim; y++ {
				for x := 0; x < dim; x++ {
					var v float32
					for dy := -1; dy <= 1; dy++ {
						for dx := -1; dx <= 1; dx++ {
							v += c.k[dy+1][dx+1] * level(x+dx, y+dy)
						}
					}
					s.vals[y*dim+x] = v * (1 - float32(x+y)/float32(6*dim))
				}
			}
			wrong := func(m *gozxing.BitMatrix) int {
				n := 0
				for i, dark := range mods {
					if m.Get(i%dim, i/dim) != dark {
						n++
					}
				}
				return n
			}
			mean := s.threshold(dim, threshMean, false)
			plain := wrong(mean)
			s.sharpen(dim)
			sharp := wrong(s.threshold(dim, threshSharp, false))
			s.unsharpen()
			m, ok := s.deblur(dim, mean, false, func(int) bool { return true })
			if !ok {
				t.Fatal("deblur found no blur that explains the function patterns")
			}
			db := wrong(m)
			t.Logf("modules misread: %d by the mean threshold, %d sharpened, %d deblurred", plain, sharp, db)
			if 10*db > min(plain, sharp) {
				t.Errorf("deblurred, %d of %d modules misread; want at most a tenth of the %d the better other mode misreads", db, dim*dim, min(plain, sharp))
			}
		})
	}
}

// TestDeblurRefusesGridOffTheCode samples random levels, as a grid read
// through a wrong finder triple does: no blur explains its "function
// patterns", and deblur must not spend its sweeps on it.
func TestDeblurRefusesGridOffTheCode(t *testing.T) {
	const dim = 45
	rng := rand.New(rand.NewPCG(5, 6))
	var s sampler
	for trial := range 50 {
		s.vals = make([]float32, dim*dim)
		for i := range s.vals {
			s.vals[i] = 50 + 160*float32(rng.IntN(2))
		}
		spent := false
		if _, ok := s.deblur(dim, s.threshold(dim, threshMean, false), false, func(int) bool { spent = true; return true }); ok || spent {
			t.Fatalf("trial %d: deblur went on with a random grid", trial)
		}
	}
}

// TestDeblurReadsBlurredFrames reads frames of the independent
// generator (device/camera/foreign, fixed seeds) whose finders and size
// the decoder finds but whose modules no other threshold mode reads: two
// codes blurred by about two thirds of a module and one through a wide
// lens.
func TestDeblurReadsBlurredFrames(t *testing.T) {
	specs := []foreign.Spec{
		{Width: 640, Height: 480, Variant: foreign.Gauss, Seed: 31},
		{Width: 1280, Height: 720, Variant: foreign.Gauss, Seed: 3000155},
		{Width: 640, Height: 480, Variant: foreign.Barrel, Seed: 92},
	}
	if missed := decodeForeign(t, specs); len(missed) > 0 {
		t.Errorf("missed %d of %d:", len(missed), len(specs))
		for _, m := range missed {
			t.Log(m)
		}
	}
}
