package camera

import (
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
