package camera

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/common"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"

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

// TestThresholdMatchesReference compares the window statistics of
// threshold (extremes of 2, 4 and 7 values in turn along rows and
// columns, sums from a table) with the full windows: the midrange bit for
// bit, the means wherever a module is not within float32 rounding of its
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
	checkReadsForeign(t, specs)
}

// randomGridView returns a random plane and a homography that puts a
// grid of dim modules on it under perspective, turned and partly off the
// plane's edges, as sample meets them.
func randomGridView(rng *rand.Rand, dim int) (plane, homography) {
	w, h := 200+rng.IntN(300), 150+rng.IntN(250)
	stride := w + rng.IntN(9)
	pix := make([]byte, (h-1)*stride+w)
	for i := range pix {
		pix[i] = byte(rng.IntN(256))
	}
	ms := 0.8 + 4*rng.Float64() // module size, pixels
	a := rng.Float64() * 2 * math.Pi
	cx, cy := float64(w)*(rng.Float64()*1.2-0.1), float64(h)*(rng.Float64()*1.2-0.1)
	c, s := ms*math.Cos(a), ms*math.Sin(a)
	hm := homography{
		c, -s, cx - (c-s)*float64(dim)/2,
		s, c, cy - (s+c)*float64(dim)/2,
		(rng.Float64() - 0.5) * 0.02 / float64(dim), (rng.Float64() - 0.5) * 0.02 / float64(dim), 1,
	}
	// Scale the whole: a homography's entries are defined up to a factor.
	f := 0.2 + 5*rng.Float64()
	for i := range hm {
		hm[i] *= f
	}
	return plane{pix: pix, w: w, h: h, stride: stride}, hm
}

// TestSampleMatchesPointByPoint compares sample, which steps a
// homography along the grid's rows, with the sampling it replaced, each
// point through TransformPoints and bilinear, on random planes and
// views: every module's grey level within float32 rounding, and the same
// answer whether the grid is on the plane.
func TestSampleMatchesPointByPoint(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 14))
	var got, want sampler
	differ := 0
	for trial := 0; trial < 300; trial++ {
		dim := 21 + 4*rng.IntN(40)
		p, h := randomGridView(rng, dim)
		okGot := got.sample(p, &h, dim)
		okWant := want.sampleMapped(p, &h, dim)
		if okGot != okWant {
			t.Fatalf("trial %d (dim %d): on the plane %v, want %v", trial, dim, okGot, okWant)
		}
		for i, g := range got.vals {
			if d := math.Abs(float64(g - want.vals[i])); d > 1e-3 {
				t.Fatalf("trial %d (dim %d): module (%d,%d) %v, want %v", trial, dim, i%dim, i/dim, g, want.vals[i])
			} else if d > 0 {
				differ++
			}
		}
	}
	t.Logf("%d module levels differ in float32 rounding", differ)
}

// TestSampleGozxingTransform samples through gozxing's transform, which
// sample turns into a homography, and compares with its points mapped
// one by one.
func TestSampleGozxingTransform(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 9))
	var got, want sampler
	for trial := 0; trial < 100; trial++ {
		dim := 21 + 4*rng.IntN(20)
		p, _ := randomGridView(rng, dim)
		q := func() float64 { return rng.Float64() * float64(min(p.w, p.h)) }
		n := float64(dim)
		pt := common.PerspectiveTransform_QuadrilateralToQuadrilateral(
			0, 0, n, 0, n, n, 0, n,
			q(), q(), q()+40, q(), q()+40, q()+40, q(), q()+40)
		okGot := got.sample(p, pt, dim)
		okWant := want.sampleMapped(p, pt, dim)
		if okGot != okWant {
			t.Fatalf("trial %d: on the plane %v, want %v", trial, okGot, okWant)
		}
		for i, g := range got.vals {
			if math.Abs(float64(g-want.vals[i])) > 1e-3 {
				t.Fatalf("trial %d (dim %d): module (%d,%d) %v, want %v", trial, dim, i%dim, i/dim, g, want.vals[i])
			}
		}
	}
}

// greyAlignmentsReference is greyAlignments as first written: the 25
// points of the template read one by one at each of the 13×13 offsets.
func greyAlignmentsReference(p plane, h homography, ver int, inv bool) []correspondence {
	v, err := decoder.Version_GetVersionForNumber(ver)
	if err != nil {
		return nil
	}
	sampleAt := func(u, w float64) (float64, bool) { return moduleGrey(p, h, inv, u, w) }
	core, ok1 := sampleAt(3.5, 3.5)
	var light float64
	okL := true
	for _, q := range [4][2]float64{{1.5, 3.5}, {5.5, 3.5}, {3.5, 1.5}, {3.5, 5.5}} {
		g, ok := sampleAt(q[0], q[1])
		light += g / 4
		okL = okL && ok
	}
	contrast := light - core
	if !ok1 || !okL || contrast < 8 {
		return nil
	}
	centres := v.GetAlignmentPatternCenters()
	dim := 17 + 4*ver
	var out []correspondence
	for _, cy := range centres {
		for _, cx := range centres {
			if (cx < 9 && cy < 9) || (cx > dim-10 && cy < 9) || (cx < 9 && cy > dim-10) {
				continue
			}
			u0, w0 := float64(cx)+0.5, float64(cy)+0.5
			best, bu, bw := math.Inf(-1), 0.0, 0.0
			for dv := -1.5; dv <= 1.5; dv += 0.25 {
				for du := -1.5; du <= 1.5; du += 0.25 {
					var dark, lite float64
					ok := true
					for j := -2; j <= 2 && ok; j++ {
						for i := -2; i <= 2; i++ {
							g, in := sampleAt(u0+du+float64(i), w0+dv+float64(j))
							if !in {
								ok = false
								break
							}
							if max(abs(i), abs(j)) == 1 {
								lite += g
							} else {
								dark += g
							}
						}
					}
					if !ok {
						continue
					}
					if score := lite/8 - dark/17; score > best {
						best, bu, bw = score, du, dv
					}
				}
			}
			if best < 0.35*contrast {
				continue
			}
			x, y := h.apply(u0+bu, w0+bw)
			c := correspondence{u0, w0, x, y}
			out = append(out, c, c)
		}
	}
	return out
}

// TestGreyAlignmentsMatchesReference renders codes' function patterns
// (random data elsewhere) turned and scaled on noisy planes, partly off
// their edges, and looks for the alignment patterns through a view off
// by up to a module and a half: greyAlignments, which reads each point
// of the offsets' lattice once, must find what reading every offset's
// template point by point found, to the bit.
func TestGreyAlignmentsMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 21))
	var s sampler
	found := 0
	for trial := 0; trial < 40; trial++ {
		ver := 2 + rng.IntN(12)
		dim := 17 + 4*ver
		fn := s.functionModules(dim)
		data := make([]bool, dim*dim)
		for i := range data {
			data[i] = rng.IntN(2) == 0
		}
		ms := 2.5 + 3*rng.Float64()
		a := rng.Float64() * 2 * math.Pi
		c, sn := ms*math.Cos(a), ms*math.Sin(a)
		w, h := 640, 480
		ox, oy := float64(w)*rng.Float64(), float64(h)*rng.Float64()
		// Module (u, v) → pixel: (ox + c u − sn v, oy + sn u + c v).
		pix := make([]byte, w*h)
		for py := 0; py < h; py++ {
			for px := 0; px < w; px++ {
				dx, dy := float64(px)+0.5-ox, float64(py)+0.5-oy
				u := (c*dx + sn*dy) / (ms * ms)
				v := (-sn*dx + c*dy) / (ms * ms)
				g := 200.0
				if iu, iv := int(math.Floor(u)), int(math.Floor(v)); iu >= 0 && iv >= 0 && iu < dim && iv < dim {
					i := iv*dim + iu
					if fn[i] == 1 || (fn[i] < 0 && data[i]) {
						g = 40
					}
				}
				pix[py*w+px] = byte(min(255, max(0, g+rng.NormFloat64()*15)))
			}
		}
		// Every fourth code light on dark, read inverted.
		inv := rng.IntN(4) == 0
		if inv {
			for i, g := range pix {
				pix[i] = 255 - g
			}
		}
		p := plane{pix: pix, w: w, h: h, stride: w}
		eu, ev := 3*rng.Float64()-1.5, 3*rng.Float64()-1.5
		hm := homography{c, -sn, ox + c*eu - sn*ev, sn, c, oy + sn*eu + c*ev, 0, 0, 1}
		d := NewDecoder()
		d.work = 1 << 30
		got := d.greyAlignments(p, hm, ver, inv)
		want := greyAlignmentsReference(p, hm, ver, inv)
		if len(got) != len(want) {
			t.Fatalf("trial %d (version %d): %d correspondences, want %d", trial, ver, len(got), len(want))
		}
		for i := range got {
			if got[i] != want[i] {
				t.Fatalf("trial %d (version %d): correspondence %d %+v, want %+v", trial, ver, i, got[i], want[i])
			}
		}
		found += len(got) / 2
	}
	t.Logf("%d alignment patterns found", found)
	if found == 0 {
		t.Error("no alignment pattern found: the test compares nothing")
	}
}
