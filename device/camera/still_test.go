package camera

import (
	"bytes"
	"errors"
	"image"
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"sentinel/device/camera/camtest"
	"sentinel/device/camera/foreign"
)

// stillSeed is the first seed of the scenes these tests draw from the
// foreign generator: far from every set's seeds, and used by no decoder
// tuning.
const stillSeed = 5_100_000_001

// idleScene is a fixed camera's view of a cluttered scene without a code:
// frame i is the scene with the sensor's noise of frame i, drawn afresh
// for idleNoises frames, which then come round again.
type idleScene struct {
	spec   foreign.Spec
	frames []*image.Gray
}

// idleNoises is the number of noises an idleScene draws: rendering a
// frame takes far longer than comparing or decoding it.
const idleNoises = 5

func (sc *idleScene) frame(t testing.TB, i int) *image.Gray {
	t.Helper()
	i %= idleNoises
	if sc.frames == nil {
		sc.frames = make([]*image.Gray, idleNoises)
	}
	if sc.frames[i] == nil {
		s := sc.spec
		s.Frame = i + 1
		f, err := foreign.Render(s)
		if err != nil {
			t.Fatal(err)
		}
		sc.frames[i] = f.Img
	}
	return sc.frames[i]
}

// idleScenes returns n cluttered empty scenes of w×h pixels.
func idleScenes(w, h, n int) []*idleScene {
	var out []*idleScene
	for i := range n {
		out = append(out, &idleScene{spec: foreign.Spec{Width: w, Height: h, Variant: foreign.Empty, Seed: stillSeed + uint64(i)}})
	}
	return out
}

// pasteCode is a code as it comes into a fixed camera's view: a card of
// the code's modules and a quiet zone of 4 modules, modPx pixels a
// module, its top-left corner at (x0, y0), turned by roll radians, with
// ink and paper levels contrast apart around mid (mid < 0: the mean of the
// scene the card covers, so that the card leaves the block means where
// they were). The card is blurred like the scene's optics and takes noise
// of the scene's level (sigma, grey levels).
type pasteCode struct {
	mods        [][]bool
	x0, y0      float64
	modPx, roll float64
	contrast    float64
	mid         float64
	sigma       float64
}

// onto returns img with the card drawn in, noise drawn from rng.
func (p pasteCode) onto(img *image.Gray, rng *rand.Rand) *image.Gray {
	out := image.NewGray(img.Rect)
	copy(out.Pix, img.Pix)
	n := float64(len(p.mods))
	side := (n + 8) * p.modPx
	cos, sin := math.Cos(p.roll), math.Sin(p.roll)
	cx, cy := p.x0+side/2, p.y0+side/2
	ext := side/2*(math.Abs(cos)+math.Abs(sin)) + 3
	x0, y0 := max(0, int(cx-ext)), max(0, int(cy-ext))
	x1, y1 := min(img.Rect.Dx(), int(cx+ext)+1), min(img.Rect.Dy(), int(cy+ext)+1)
	// Where the card lies: the share of each pixel it covers, and the
	// level it has there, supersampled 4×4.
	w, h := x1-x0, y1-y0
	cover := make([]float64, w*h)
	level := make([]float64, w*h)
	mid := p.mid
	if mid < 0 {
		var sum, cnt float64
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				sum += float64(img.Pix[img.PixOffset(x, y)])
				cnt++
			}
		}
		mid = sum / cnt
	}
	ink, paper := mid-p.contrast/2, mid+p.contrast/2
	for y := range h {
		for x := range w {
			var c, l float64
			for sy := range 4 {
				for sx := range 4 {
					dx := float64(x0+x) + (float64(sx)+0.5)/4 - cx
					dy := float64(y0+y) + (float64(sy)+0.5)/4 - cy
					u := (cos*dx+sin*dy)/p.modPx + (n+8)/2 - 4
					v := (-sin*dx+cos*dy)/p.modPx + (n+8)/2 - 4
					if u < -4 || v < -4 || u >= n+4 || v >= n+4 {
						continue
					}
					c++
					if u >= 0 && v >= 0 && u < n && v < n && p.mods[int(v)][int(u)] {
						l += ink
					} else {
						l += paper
					}
				}
			}
			if c > 0 {
				cover[y*w+x] = c / 16
				level[y*w+x] = l / c
			}
		}
	}
	// The optics' blur: a 3×3 binomial kernel, a Gaussian of about 0.7
	// pixels.
	k := [3]float64{0.25, 0.5, 0.25}
	blur := func(v []float64) []float64 {
		tmp, res := make([]float64, len(v)), make([]float64, len(v))
		for y := range h {
			for x := range w {
				var s float64
				for i, kk := range k {
					s += kk * v[y*w+min(max(x+i-1, 0), w-1)]
				}
				tmp[y*w+x] = s
			}
		}
		for y := range h {
			for x := range w {
				var s float64
				for i, kk := range k {
					s += kk * tmp[min(max(y+i-1, 0), h-1)*w+x]
				}
				res[y*w+x] = s
			}
		}
		return res
	}
	weighted := make([]float64, w*h)
	for i := range weighted {
		weighted[i] = cover[i] * level[i]
	}
	cover, weighted = blur(cover), blur(weighted)
	for y := range h {
		for x := range w {
			c := cover[y*w+x]
			if c == 0 {
				continue
			}
			i := out.PixOffset(x0+x, y0+y)
			v := weighted[y*w+x] + (1-c)*float64(img.Pix[i]) + c*p.sigma*rng.NormFloat64()
			out.Pix[i] = uint8(math.Round(min(255, max(0, v))))
		}
	}
	return out
}

// streamNoise estimates the sensor noise of a scene from two of its
// frames: the standard deviation of their difference over √2.
func streamNoise(a, b *image.Gray) float64 {
	var s, n float64
	for i := range a.Pix {
		d := float64(a.Pix[i]) - float64(b.Pix[i])
		s += d * d
		n++
	}
	return math.Sqrt(s / n / 2)
}

// fakeClock is a clock that the test moves.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time { return c.t }

// frameInterval is the time between frames in these tests: 15 frames a
// second, the terminal's default.
const frameInterval = time.Second / 15

// newTestStill returns a Still on a clock that the caller moves.
func newTestStill() (*Still, *fakeClock) {
	clk := &fakeClock{t: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
	return NewStill(nil, StillConfig{Now: clk.now}), clk
}

// settle feeds frames of sc from frame i on, one per frame interval, until
// Still skips one; it fails when none is skipped within 8 frames or one
// decodes. It returns the next frame's number.
func settle(t *testing.T, s *Still, clk *fakeClock, sc *idleScene, i int) int {
	t.Helper()
	for end := i + 8; i < end; i++ {
		clk.t = clk.t.Add(frameInterval)
		_, err := s.Decode(sc.frame(t, i))
		if errors.Is(err, ErrUnchanged) {
			return i + 1
		}
		if !errors.Is(err, ErrNoCode) {
			t.Fatalf("%s frame %d: got %v, want no code", sc.spec.Name(), i, err)
		}
	}
	t.Fatalf("%s: no frame of the idle scene skipped in 8", sc.spec.Name())
	return i
}

// codeCase is a code that comes into view.
type codeCase struct {
	name     string
	payload  string
	modPx    float64 // pixels a module
	contrast float64 // grey levels between ink and paper
	mid      float64 // level between ink and paper; <0: the scene's
}

// codeCases are codes coming into a gate camera's view: a phone held
// close, a printed card, a faint print whose card leaves the scene's mean
// where it was, a small code far away, and both at once.
var codeCases = []codeCase{
	{"phone", string(camtest.Payloads()[1].Data), 6, 180, 130},
	{"card", string(camtest.Payloads()[0].Data), 4, 150, 130},
	{"faint", string(camtest.Payloads()[1].Data[:60]), 4, 16, -1},
	{"small", "HCN1:0123456789", 2, 120, 130},
	{"faint-small", "HCN1:0123456789", 2.5, 24, -1},
}

func (c codeCase) modules(t testing.TB) [][]bool {
	t.Helper()
	mods, err := camtest.Modules(camtest.Payload{Name: c.name, Data: []byte(c.payload)}, "M")
	if err != nil {
		t.Fatal(err)
	}
	return mods
}

// at places the code at random in a w×h frame whose noise is sigma.
func (c codeCase) at(mods [][]bool, w, h int, sigma float64, rng *rand.Rand) pasteCode {
	side := (float64(len(mods)) + 8) * c.modPx
	return pasteCode{mods: mods, modPx: c.modPx, contrast: c.contrast, mid: c.mid, sigma: sigma,
		x0: rng.Float64() * (float64(w) - side*1.45), y0: rng.Float64() * (float64(h) - side*1.45), roll: rng.Float64() * 2 * math.Pi}
}

// A code coming into an idle gate camera's view changes the view, however
// small or faint: the frame is decoded, never skipped. The scenes are
// cluttered (text, stripes, grids, keyboards), their noise as a camera's
// (shot and read noise, sharpening, JPEG), drawn afresh in each frame.
func TestStillSeesCodesComeIntoView(t *testing.T) {
	if testing.Short() {
		t.Skip("renders frames")
	}
	scenes := append(idleScenes(640, 480, 3), idleScenes(1280, 720, 1)...)
	places := 2
	if raceEnabled {
		scenes, places = scenes[:1], 1
	}
	for _, sc := range scenes {
		s, clk := newTestStill()
		next := settle(t, s, clk, sc, 0)
		sigma := streamNoise(sc.frame(t, 0), sc.frame(t, 1))
		rng := rand.New(rand.NewPCG(sc.spec.Seed, 1))
		for _, c := range codeCases {
			mods := c.modules(t)
			for range places {
				p := c.at(mods, sc.spec.Width, sc.spec.Height, sigma, rng)
				clk.t = clk.t.Add(frameInterval)
				img := p.onto(sc.frame(t, next), rng)
				next++
				if _, err := s.Decode(img); errors.Is(err, ErrUnchanged) {
					t.Errorf("%s: a %s code at (%.0f, %.0f) was skipped as unchanged (worst block %.1f sd beyond noise)",
						sc.spec.Name(), c.name, p.x0, p.y0, s.probe.worst)
				}
				// Back to the idle scene until Still skips again.
				next = settle(t, s, clk, sc, next)
			}
		}
	}
}

// A code that comes into an idle scene is read on its first frame, when
// the decoder reads that frame on its own; the next frame is decoded in
// full too, so a code held still is read again; once it has gone, the
// idle scene is skipped again.
func TestStillDecodesCodeOnFirstFrame(t *testing.T) {
	if testing.Short() {
		t.Skip("renders frames")
	}
	read := map[string]int{}
	scenes := append(idleScenes(640, 480, 2), idleScenes(1280, 720, 1)...)
	if raceEnabled {
		scenes = scenes[1:2]
	}
	for _, sc := range scenes {
		s, clk := newTestStill()
		next := settle(t, s, clk, sc, 0)
		sigma := streamNoise(sc.frame(t, 0), sc.frame(t, 1))
		rng := rand.New(rand.NewPCG(sc.spec.Seed, 2))
		for _, c := range codeCases {
			mods := c.modules(t)
			p := c.at(mods, sc.spec.Width, sc.spec.Height, sigma, rng)
			first := p.onto(sc.frame(t, next), rng)
			held := p.onto(sc.frame(t, next+1), rng)
			next += 2
			want, werr := NewDecoder().Decode(first)
			clk.t = clk.t.Add(frameInterval)
			got, err := s.Decode(first)
			if werr == nil {
				read[c.name]++
				if err != nil || !bytes.Equal(got.Payload, want.Payload) {
					t.Errorf("%s, %s code: got %v on its first frame, want the code the decoder reads", sc.spec.Name(), c.name, err)
				}
			} else if errors.Is(err, ErrUnchanged) {
				t.Errorf("%s, %s code: its first frame skipped", sc.spec.Name(), c.name)
			}
			clk.t = clk.t.Add(frameInterval)
			if _, err := s.Decode(held); errors.Is(err, ErrUnchanged) {
				t.Errorf("%s, %s code: the frame after the code's first was skipped", sc.spec.Name(), c.name)
			}
			next = settle(t, s, clk, sc, next)
		}
	}
	for _, c := range []string{"phone", "card", "small"} {
		if read[c] == 0 {
			t.Errorf("the decoder read no %s code on its own: the test shows nothing for it", c)
		}
	}
	t.Logf("codes the decoder reads on their own, by case: %v", read)
}

// noisyEmpty returns frames of camtest's empty scene (texture, stripes,
// blocks) with fresh Gaussian noise of sigma in each: cheap frames for the
// tests of Still's rules.
func noisyEmpty(t testing.TB, w, h int, sigma float64) func(i int, gain float64) *image.Gray {
	base, err := camtest.Render(camtest.Spec{Width: w, Height: h, Variant: camtest.Empty, Seed: 11})
	if err != nil {
		t.Fatal(err)
	}
	return func(i int, gain float64) *image.Gray {
		rng := rand.New(rand.NewPCG(uint64(i), 3))
		img := image.NewGray(base.Rect)
		for j, v := range base.Pix {
			img.Pix[j] = uint8(min(255, max(0, math.Round(gain*float64(v)+sigma*rng.NormFloat64()))))
		}
		return img
	}
}

// While nothing moves, a frame is still decoded in full at least once a
// Refresh; the frames between are skipped; a frame of another size is
// decoded.
func TestStillRefresh(t *testing.T) {
	frame := noisyEmpty(t, 640, 480, 2)
	s, clk := newTestStill()
	var decoded []int
	for i := range 60 {
		clk.t = clk.t.Add(100 * time.Millisecond)
		_, err := s.Decode(frame(i, 1))
		switch {
		case errors.Is(err, ErrUnchanged):
		case errors.Is(err, ErrNoCode):
			decoded = append(decoded, i)
		default:
			t.Fatalf("frame %d: %v", i, err)
		}
	}
	// Frames 0-2 settle; then one frame in 10 (a second at 10 frames a
	// second) is decoded.
	want := []int{0, 1, 2, 12, 22, 32, 42, 52}
	if !slices.Equal(decoded, want) {
		t.Errorf("decoded frames %v, want %v", decoded, want)
	}
	if frames, skipped := s.Skipped(); frames != 60 || skipped != 60-uint64(len(want)) {
		t.Errorf("Skipped() = %d, %d; want 60, %d", frames, skipped, 60-len(want))
	}
	other := noisyEmpty(t, 480, 640, 2)
	clk.t = clk.t.Add(frameInterval)
	if _, err := s.Decode(other(0, 1)); errors.Is(err, ErrUnchanged) {
		t.Error("a frame of another size was skipped")
	}
	// A clock that went back does not stretch the time between frames
	// decoded in full.
	s2, clk2 := newTestStill()
	for i := range 4 {
		clk2.t = clk2.t.Add(frameInterval)
		s2.Decode(frame(i, 1))
	}
	clk2.t = clk2.t.Add(-time.Hour)
	if _, err := s2.Decode(frame(5, 1)); errors.Is(err, ErrUnchanged) {
		t.Error("a frame was skipped after the clock went back")
	}
}

// Light that drifts slowly (a cloud, the camera's exposure) leaves the
// view unchanged; light that halves at once, or a hand over half the
// view, does not.
func TestStillLightDrift(t *testing.T) {
	frame := noisyEmpty(t, 640, 480, 2)
	s, clk := newTestStill()
	gain := 1.0
	skipped := 0
	for i := range 45 {
		clk.t = clk.t.Add(frameInterval)
		gain *= 1.004 // 20 % in 3 seconds
		if _, err := s.Decode(frame(i, gain)); errors.Is(err, ErrUnchanged) {
			skipped++
		}
	}
	// All but the three that settle and two refreshes (and the
	// brightest parts clip as the light grows).
	if skipped < 38 {
		t.Errorf("%d of 45 frames skipped while the light drifted by 20 %% over 3 s, want at least 38", skipped)
	}

	// Refresh is long here, so that only the comparison decides.
	s = NewStill(nil, StillConfig{Now: clk.now, Refresh: time.Hour})
	settleFrames(t, s, clk, frame, 0, 1)
	clk.t = clk.t.Add(frameInterval)
	if _, err := s.Decode(frame(10, 0.5)); errors.Is(err, ErrUnchanged) {
		t.Error("a frame half as bright as the one before was skipped")
	}
	settleFrames(t, s, clk, frame, 11, 0.5)
	// A dark hand over the lower half of the view.
	img := frame(30, 0.5)
	for y := 240; y < 480; y++ {
		for x := range 640 {
			img.Pix[y*img.Stride+x] /= 3
		}
	}
	clk.t = clk.t.Add(frameInterval)
	if _, err := s.Decode(img); errors.Is(err, ErrUnchanged) {
		t.Error("a frame with half the view darkened was skipped")
	}
}

// settleFrames feeds frames from i on until one is skipped.
func settleFrames(t *testing.T, s *Still, clk *fakeClock, frame func(int, float64) *image.Gray, i int, gain float64) {
	t.Helper()
	for end := i + 8; i < end; i++ {
		clk.t = clk.t.Add(frameInterval)
		if _, err := s.Decode(frame(i, gain)); errors.Is(err, ErrUnchanged) {
			return
		}
	}
	t.Fatal("no frame skipped in 8")
}

// A frame that holds a code is never followed by a skipped frame, even
// the same image again; images too small to compare are always decoded.
func TestStillNeverSkipsAfterACode(t *testing.T) {
	mods := codeCases[1].modules(t)
	frame := noisyEmpty(t, 640, 480, 2)
	p := pasteCode{mods: mods, modPx: 5, contrast: 160, mid: 120, x0: 150, y0: 60}
	rng := rand.New(rand.NewPCG(1, 2))
	code := p.onto(frame(0, 1), rng)
	s, clk := newTestStill()
	for i := range 10 {
		clk.t = clk.t.Add(frameInterval)
		r, err := s.Decode(code)
		if err != nil || r.Text() != codeCases[1].payload {
			t.Fatalf("frame %d of a code held still: got %v, want the code", i, err)
		}
	}
	tiny := image.NewGray(image.Rect(0, 0, 48, 48))
	for i := range 5 {
		clk.t = clk.t.Add(frameInterval)
		if _, err := s.Decode(tiny); errors.Is(err, ErrUnchanged) {
			t.Fatalf("tiny frame %d skipped", i)
		}
	}
}

// Frames of odd sizes, and frames that are part of a larger image, are
// compared up to their last row and column.
func TestStillOddFrames(t *testing.T) {
	frame := noisyEmpty(t, 700, 500, 2)
	s, clk := newTestStill()
	r := image.Rect(17, 9, 17+643, 9+483) // 643 and 483: 3 more than a multiple of 4
	skipped := 0
	for i := range 8 {
		clk.t = clk.t.Add(frameInterval)
		sub := frame(i, 1).SubImage(r).(*image.Gray)
		if _, err := s.Decode(sub); errors.Is(err, ErrUnchanged) {
			skipped++
		}
	}
	if skipped != 5 {
		t.Errorf("%d of 8 frames skipped, want all but the three that settle", skipped)
	}
	img := frame(8, 1).SubImage(r).(*image.Gray)
	// A change in the last row and column only.
	for y := r.Max.Y - 3; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			img.Pix[img.PixOffset(x, y)] = 255
		}
	}
	clk.t = clk.t.Add(frameInterval)
	if _, err := s.Decode(img); errors.Is(err, ErrUnchanged) {
		t.Error("a frame whose last rows changed was skipped")
	}
}

// A camera that repeats a frame now and then (or a replay) does not make
// the fresh frames after it count as changed: once settled, the idle
// scene stays skipped.
func TestStillRepeatedFrames(t *testing.T) {
	frame := noisyEmpty(t, 640, 480, 2)
	s, clk := newTestStill()
	var decoded []int
	for i := range 30 {
		clk.t = clk.t.Add(100 * time.Millisecond)
		n := i
		if i%3 == 1 {
			n = i - 1 // the frame before, again
		}
		if _, err := s.Decode(frame(n, 1)); !errors.Is(err, ErrUnchanged) {
			decoded = append(decoded, i)
		}
	}
	// Settling takes a few frames (a repeated frame shows no noise, so
	// the next fresh one counts as changed); after that, only one frame a
	// second is decoded.
	var late []int
	for _, i := range decoded {
		if i >= 10 {
			late = append(late, i)
		}
	}
	if len(decoded) > 8 || len(late) != 2 || late[1]-late[0] != 10 {
		t.Errorf("decoded frames %v, want a few to settle, then one a second (every 10th)", decoded)
	}
}
