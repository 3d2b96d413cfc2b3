package camtest

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"slices"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// Variant names a kind of frame.
type Variant string

// The variants of the benchmark set.
const (
	Clean       Variant = "clean"       // a printed code, facing the camera
	Rot15       Variant = "rot15"       // rotated 15° in the image plane
	Rot45       Variant = "rot45"       // rotated 45° in the image plane
	Persp20     Variant = "persp20x10"  // turned 20° about the vertical axis, tilted 10°
	Persp40     Variant = "persp40x15"  // turned 40° about the vertical axis, tilted 15°
	Blur        Variant = "blur"        // out of focus (Gaussian blur)
	LowContrast Variant = "lowcontrast" // faded print in dim light
	Noise       Variant = "noise"       // strong sensor noise
	Small15     Variant = "small15"     // the code covers 15 % of the frame
	Small5      Variant = "small5"      // the code covers 5 % of the frame
	Inverted    Variant = "inverted"    // light modules on dark (dark-mode phone screens)
	Moire       Variant = "moire"       // a phone screen photographed: pixel grid and moiré
	Empty       Variant = "empty"       // a scene with no code: must decode to nothing

	// BlurHard is not in the set: drawn only (Spec.Drawn), with the blur
	// of Ranges.BlurHardModules, stronger than the set's and the Blur
	// range's (see HeldHard).
	BlurHard Variant = "blurhard"
)

// Variants lists every variant in the order reports print them.
var Variants = []Variant{Clean, Rot15, Rot45, Persp20, Persp40, Blur, LowContrast, Noise, Small15, Small5, Inverted, Moire, Empty}

// Payload is the content of a code.
type Payload struct {
	Name string
	Data []byte
	// Binary payloads are encoded in byte mode with an ISO-8859-1 ECI
	// designator, text payloads in the mode their characters allow.
	Binary bool
}

const base45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// Payloads returns the payloads of the benchmark set: a 300-character EU
// DCC (HC1) string, a native code ("HCN1:" and 200 Base45 characters) and
// a 120-byte binary code. They are the same on every call.
func Payloads() []Payload {
	rng := rand.New(rand.NewPCG(45, 1))
	b45 := func(n int) []byte {
		b := make([]byte, n)
		for i := range b {
			b[i] = base45[rng.IntN(len(base45))]
		}
		return b
	}
	bin := make([]byte, 120)
	for i := range bin {
		bin[i] = byte(rng.IntN(256))
	}
	return []Payload{
		{Name: "hc1", Data: append([]byte("HC1:"), b45(296)...)},
		{Name: "native", Data: append([]byte("HCN1:"), b45(200)...)},
		{Name: "bin120", Data: bin, Binary: true},
	}
}

// Spec describes one frame.
type Spec struct {
	Width, Height int
	Payload       Payload // unused for Empty
	ECC           string  // "M" or "Q"
	Variant       Variant
	Seed          uint64
	// Drawn draws the variant's distortion from a range with the seed
	// (see [Ranges]) instead of the benchmark set's fixed strength.
	Drawn bool
}

// Name is a file name for the frame, unique within the set.
func (s Spec) Name() string {
	if s.Drawn {
		t := s
		t.Drawn = false
		return "drawn-" + t.Name()
	}
	if s.Variant == Empty {
		return fmt.Sprintf("%s-%dx%d-%d", s.Variant, s.Width, s.Height, s.Seed)
	}
	return fmt.Sprintf("%s-%dx%d-%s-%s-%d", s.Variant, s.Width, s.Height, s.Payload.Name, s.ECC, s.Seed)
}

// Want is the payload the frame must decode to, nil for an empty frame.
func (s Spec) Want() []byte {
	if s.Variant == Empty {
		return nil
	}
	return s.Payload.Data
}

// The benchmark set's parameters.
var (
	// Sizes are the frame sizes of the set.
	Sizes = []image.Point{{640, 480}, {1280, 720}}
	// ECCLevels are the error-correction levels of the set.
	ECCLevels = []string{"M", "Q"}
)

// SetReps is how many frames of each combination the set holds, each
// with its own seed (placement, angles, noise).
const SetReps = 2

// emptyPerSize is the number of empty frames per frame size and rep.
const emptyPerSize = 6

// Set returns the specs of the benchmark set: every frame size, payload,
// error-correction level and variant, SetReps times with distinct seeds,
// and empty frames.
func Set() []Spec {
	var specs []Spec
	seed := uint64(1)
	for rep := 0; rep < SetReps; rep++ {
		for _, sz := range Sizes {
			for _, v := range Variants {
				if v == Empty {
					for i := 0; i < emptyPerSize; i++ {
						specs = append(specs, Spec{Width: sz.X, Height: sz.Y, Variant: Empty, Seed: seed})
						seed++
					}
					continue
				}
				for _, p := range Payloads() {
					for _, ecc := range ECCLevels {
						specs = append(specs, Spec{Width: sz.X, Height: sz.Y, Payload: p, ECC: ecc, Variant: v, Seed: seed})
						seed++
					}
				}
			}
		}
	}
	return specs
}

// Ranges are the distortions a drawn frame (Spec.Drawn) takes, each
// drawn uniformly from its range with the frame's seed: wider than the
// benchmark set's fixed values on both sides, so that a decoder tuned on
// the set meets strengths it was not tuned on.
var Ranges = struct {
	BlurModules     [2]float64 // blur sigma, in module sizes (set: 0.45)
	BlurHardModules [2]float64 // BlurHard's blur sigma, in module sizes (drawn only)
	Noise           [2]float64 // sensor noise sigma, grey levels (set: 28)
	YawDeg          [2]float64 // turn about the vertical axis (set: 20, 40)
	PitchDeg        [2]float64 // tilt (set: 10, 15)
	RollDeg         [2]float64 // rotation in the image plane (set: 15, 45)
	Contrast        [2]float64 // ink-to-paper difference, grey levels (set: 24)
	MoirePitch      [2]float64 // screen pixel pitch in camera pixels (set: 2.2-2.8)
	SmallCoverage   [2]float64 // share of the frame the small code covers (set: 0.05, 0.15)
}{
	BlurModules:     [2]float64{0.3, 0.6},
	BlurHardModules: [2]float64{0.5, 0.9},
	Noise:           [2]float64{15, 38},
	YawDeg:          [2]float64{10, 45},
	PitchDeg:        [2]float64{5, 20},
	RollDeg:         [2]float64{5, 60},
	Contrast:        [2]float64{16, 36},
	MoirePitch:      [2]float64{1.8, 3.4},
	SmallCoverage:   [2]float64{0.04, 0.2},
}

// HeldOut is the range of seeds [HeldOut[0], HeldOut[1]) of drawn frames
// that no decoder change may be tuned on: tests only report how the
// decoder reads them. Tune on seeds outside it.
var HeldOut = [2]uint64{1 << 40, 1<<40 + 1<<20}

// TuningSeed is the first seed of drawn frames to tune the decoder on
// ([Tuning]), far from the set's seeds and outside [HeldOut].
const TuningSeed = 1 << 32

// Held returns n drawn specs per variant (Empty included) with seeds from
// the held-out range, for one frame size, payloads and levels in turn.
func Held(w, h, n int) []Spec { return Drawn(w, h, n, HeldOut[0], Variants...) }

// HeldHard returns n drawn held-out specs of the harder bands (BlurHard),
// with seeds from the second half of the held-out range.
func HeldHard(w, h, n int) []Spec {
	return Drawn(w, h, n, HeldOut[0]+(HeldOut[1]-HeldOut[0])/2, BlurHard)
}

// Tuning returns n drawn specs per variant (Empty and BlurHard included)
// with seeds from TuningSeed on: the frames to tune the decoder on,
// drawn like the held-out ones.
func Tuning(w, h, n int) []Spec {
	return Drawn(w, h, n, TuningSeed, append(slices.Clone(Variants), BlurHard)...)
}

// Drawn returns n drawn specs of each variant with consecutive seeds from
// seed on, for one frame size, payloads and levels in turn.
func Drawn(w, h, n int, seed uint64, variants ...Variant) []Spec {
	var specs []Spec
	ps := Payloads()
	for _, v := range variants {
		for i := 0; i < n; i++ {
			specs = append(specs, Spec{Width: w, Height: h, Payload: ps[i%len(ps)], ECC: ECCLevels[(i/len(ps))%len(ECCLevels)], Variant: v, Seed: seed, Drawn: true})
			seed++
		}
	}
	return specs
}

func between(rng *rand.Rand, r [2]float64) float64 { return r[0] + (r[1]-r[0])*rng.Float64() }

// Modules encodes a payload and returns its module matrix: n×n, true for
// a dark module, without a quiet zone.
func Modules(p Payload, ecc string) ([][]bool, error) {
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: ecc,
		gozxing.EncodeHintType_MARGIN:           0,
	}
	content := string(p.Data)
	if p.Binary {
		r := make([]rune, len(p.Data))
		for i, c := range p.Data {
			r[i] = rune(c)
		}
		content = string(r)
		hints[gozxing.EncodeHintType_CHARACTER_SET] = "ISO-8859-1"
	}
	m, err := qrcode.NewQRCodeWriter().Encode(content, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", p.Name, err)
	}
	n := m.GetWidth()
	out := make([][]bool, n)
	for y := range out {
		out[y] = make([]bool, n)
		for x := range out[y] {
			out[y][x] = m.Get(x, y)
		}
	}
	return out, nil
}

// scene holds the parameters of one frame, drawn from its seed.
type scene struct {
	roll, yaw, pitch float64 // radians
	side             float64 // the code's side in pixels, before perspective
	cx, cy           float64 // where the code's centre lands
	ink, paper       float64 // module levels on the card
	blur             float64 // Gaussian sigma in pixels
	noise            float64 // Gaussian sigma of sensor noise
	moire            bool
	moirePitch       float64 // 0: the set's
	inverted         bool
}

// drawScene replaces the variant's fixed distortion by one drawn from
// Ranges.
func drawScene(sc *scene, s Spec, rng *rand.Rand, n, w, h int) {
	deg := func(r [2]float64) float64 { return sign(rng) * between(rng, r) * math.Pi / 180 }
	switch s.Variant {
	case Rot15, Rot45:
		sc.roll = deg(Ranges.RollDeg)
	case Persp20, Persp40:
		sc.yaw, sc.pitch = deg(Ranges.YawDeg), deg(Ranges.PitchDeg)
	case Blur:
		sc.blur = between(rng, Ranges.BlurModules) * sc.side / float64(n+8)
	case BlurHard:
		sc.blur = between(rng, Ranges.BlurHardModules) * sc.side / float64(n+8)
	case LowContrast:
		mid, c := 100+40*rng.Float64(), between(rng, Ranges.Contrast)
		sc.ink, sc.paper = mid-c/2, mid+c/2
	case Noise:
		sc.noise = between(rng, Ranges.Noise)
	case Small15, Small5:
		sc.side = math.Sqrt(between(rng, Ranges.SmallCoverage)*float64(w*h)) * float64(n+8) / float64(n)
	case Moire:
		sc.moirePitch = between(rng, Ranges.MoirePitch)
	}
}

// Render draws the frame a Spec describes.
func Render(s Spec) (*image.Gray, error) {
	if s.Width <= 0 || s.Height <= 0 {
		return nil, fmt.Errorf("render %s: bad frame size", s.Name())
	}
	rng := rand.New(rand.NewPCG(s.Seed, uint64(len(s.Variant))))
	w, h := s.Width, s.Height
	f := newField(w, h)
	bg := rng.Uint64()
	drawBackground(f, bg)
	if s.Variant == Empty {
		drawDistractors(f, rng)
		f.blur(0.6)
		f.addNoise(rng, 3)
		return f.gray(), nil
	}
	mods, err := Modules(s.Payload, s.ECC)
	if err != nil {
		return nil, err
	}
	n := len(mods)
	minSide := float64(min(w, h))
	sc := scene{
		roll:  (rng.Float64()*2 - 1) * 4 * math.Pi / 180,
		side:  minSide * (0.5 + 0.15*rng.Float64()),
		ink:   25 + 20*rng.Float64(),
		paper: 205 + 30*rng.Float64(),
		blur:  0.6,
		noise: 3,
	}
	switch s.Variant {
	case Rot15:
		sc.roll = sign(rng) * 15 * math.Pi / 180
	case Rot45:
		sc.roll = sign(rng) * 45 * math.Pi / 180
	case Persp20:
		sc.yaw, sc.pitch = sign(rng)*20*math.Pi/180, sign(rng)*10*math.Pi/180
	case Persp40:
		sc.yaw, sc.pitch = sign(rng)*40*math.Pi/180, sign(rng)*15*math.Pi/180
	case Blur:
		sc.blur = 0.45 * sc.side / float64(n+8)
	case BlurHard:
		sc.blur = 0.7 * sc.side / float64(n+8)
	case LowContrast:
		mid := 100 + 40*rng.Float64()
		sc.ink, sc.paper = mid-12, mid+12
	case Noise:
		sc.noise = 28
	case Small15:
		sc.side = math.Sqrt(0.15*float64(w*h)) * float64(n+8) / float64(n)
	case Small5:
		sc.side = math.Sqrt(0.05*float64(w*h)) * float64(n+8) / float64(n)
	case Inverted:
		sc.inverted = true
		sc.ink, sc.paper = 215+20*rng.Float64(), 20+20*rng.Float64()
	case Moire:
		sc.moire = true
	}
	if s.Drawn {
		drawScene(&sc, s, rng, n, w, h)
	}
	// Place the code's centre so that the whole card stays in the frame:
	// project it centred, then shift it by a random amount that keeps its
	// bounding box inside.
	sc.cx, sc.cy = float64(w)/2, float64(h)/2
	x0, y0, x1, y1 := cardBounds(sc, n, w, h)
	const margin = 4
	sc.cx += shiftWithin(rng, x0-margin, x1+margin, float64(w))
	sc.cy += shiftWithin(rng, y0-margin, y1+margin, float64(h))
	drawCode(f, mods, sc)
	f.blur(sc.blur)
	if sc.moire {
		f.screenGrid(rng, sc.moirePitch)
	}
	f.addNoise(rng, sc.noise)
	return f.gray(), nil
}

func sign(rng *rand.Rand) float64 {
	if rng.IntN(2) == 0 {
		return -1
	}
	return 1
}

// field is a float image in [0, 255].
type field struct {
	w, h int
	v    []float64
}

func newField(w, h int) *field { return &field{w: w, h: h, v: make([]float64, w*h)} }

func (f *field) gray() *image.Gray {
	g := image.NewGray(image.Rect(0, 0, f.w, f.h))
	for i, v := range f.v {
		g.Pix[i] = uint8(math.Max(0, math.Min(255, math.Round(v))))
	}
	return g
}

// drawBackground paints a wall-like scene: an illumination gradient and
// soft texture.
func drawBackground(f *field, seed uint64) {
	rng := rand.New(rand.NewPCG(seed, 7))
	base := 70 + 80*rng.Float64()
	gx, gy := (rng.Float64()*2-1)*40/float64(f.w), (rng.Float64()*2-1)*40/float64(f.h)
	type wave struct{ fx, fy, ph, amp float64 }
	var waves [4]wave
	for i := range waves {
		waves[i] = wave{rng.Float64() * 0.05, rng.Float64() * 0.05, rng.Float64() * 6.28, 4 + 8*rng.Float64()}
	}
	for y := 0; y < f.h; y++ {
		for x := 0; x < f.w; x++ {
			v := base + gx*float64(x) + gy*float64(y)
			for _, wv := range waves {
				v += wv.amp * math.Sin(wv.fx*float64(x)+wv.fy*float64(y)+wv.ph)
			}
			f.v[y*f.w+x] = v
		}
	}
}

// drawDistractors adds dark and light rectangles, stripes and text-like
// blocks: things a camera at a gate sees that are not QR codes.
func drawDistractors(f *field, rng *rand.Rand) {
	for i := 0; i < 12; i++ {
		w := 10 + rng.IntN(f.w/4)
		h := 10 + rng.IntN(f.h/4)
		x0, y0 := rng.IntN(f.w-w), rng.IntN(f.h-h)
		level := 20 + 215*rng.Float64()
		stripes := rng.IntN(3) == 0
		period := 3 + rng.IntN(12)
		for y := y0; y < y0+h; y++ {
			for x := x0; x < x0+w; x++ {
				if stripes && (x/period)%2 == 0 {
					continue
				}
				f.v[y*f.w+x] = level
			}
		}
	}
	// A checkerboard of random cells: QR-like texture without finders.
	cell := 3 + rng.IntN(5)
	n := 20 + rng.IntN(20)
	x0, y0 := rng.IntN(max(1, f.w-n*cell)), rng.IntN(max(1, f.h-n*cell))
	for cy := 0; cy < n; cy++ {
		for cx := 0; cx < n; cx++ {
			level := 230.0
			if rng.IntN(2) == 0 {
				level = 30
			}
			for y := y0 + cy*cell; y < min(f.h, y0+(cy+1)*cell); y++ {
				for x := x0 + cx*cell; x < min(f.w, x0+(cx+1)*cell); x++ {
					f.v[y*f.w+x] = level
				}
			}
		}
	}
}

// shiftWithin returns a random shift that keeps [lo, hi] within [0, size],
// or none if it does not fit.
func shiftWithin(rng *rand.Rand, lo, hi, size float64) float64 {
	minS, maxS := -lo, size-hi
	if maxS < minS {
		return (minS + maxS) / 2
	}
	return minS + rng.Float64()*(maxS-minS)
}

// cardBounds returns the bounding box of the card's projection.
func cardBounds(sc scene, n, w, h int) (x0, y0, x1, y1 float64) {
	hm := cardHomography(sc, n, w, h)
	card := float64(n + 8)
	x0, y0, x1, y1 = math.Inf(1), math.Inf(1), math.Inf(-1), math.Inf(-1)
	for _, c := range [4][2]float64{{0, 0}, {card, 0}, {0, card}, {card, card}} {
		u, v := c[0]-card/2, c[1]-card/2
		wq := hm[2][0]*u + hm[2][1]*v + hm[2][2]
		x := (hm[0][0]*u + hm[0][1]*v + hm[0][2]) / wq
		y := (hm[1][0]*u + hm[1][1]*v + hm[1][2]) / wq
		x0, y0, x1, y1 = math.Min(x0, x), math.Min(y0, y), math.Max(x1, x), math.Max(y1, y)
	}
	return x0, y0, x1, y1
}

// drawCode renders the code on a card with a 4-module quiet zone through
// a pinhole camera, with 3×3 supersampling.
func drawCode(f *field, mods [][]bool, sc scene) {
	n := len(mods)
	card := float64(n + 8) // card side in modules
	h := cardHomography(sc, n, f.w, f.h)
	hi, ok := inv3(h)
	if !ok {
		return
	}
	const ss = 3
	for py := 0; py < f.h; py++ {
		for px := 0; px < f.w; px++ {
			sum, inside := 0.0, 0
			for j := 0; j < ss; j++ {
				for i := 0; i < ss; i++ {
					x := float64(px) + (float64(i)+0.5)/ss
					y := float64(py) + (float64(j)+0.5)/ss
					wq := hi[2][0]*x + hi[2][1]*y + hi[2][2]
					u := (hi[0][0]*x + hi[0][1]*y + hi[0][2]) / wq
					v := (hi[1][0]*x + hi[1][1]*y + hi[1][2]) / wq
					u += card / 2
					v += card / 2
					if wq <= 0 || u < 0 || v < 0 || u >= card || v >= card {
						continue
					}
					inside++
					mx, my := int(u)-4, int(v)-4
					if mx >= 0 && my >= 0 && mx < n && my < n && mods[my][mx] {
						sum += sc.ink
					} else {
						sum += sc.paper
					}
				}
			}
			if inside == 0 {
				continue
			}
			i := py*f.w + px
			f.v[i] = (sum + f.v[i]*float64(ss*ss-inside)) / float64(ss*ss)
		}
	}
}

// cardHomography maps card coordinates (in modules, centred on the card)
// to pixels through a pinhole camera: K·[r1 r2 t].
func cardHomography(sc scene, n, w, h int) [3][3]float64 {
	card := float64(n + 8)
	focal := float64(w) // about a 53° horizontal field of view
	// Rotation: roll about z, yaw about y, pitch about x.
	cr, sr := math.Cos(sc.roll), math.Sin(sc.roll)
	cy, sy := math.Cos(sc.yaw), math.Sin(sc.yaw)
	cp, sp := math.Cos(sc.pitch), math.Sin(sc.pitch)
	rz := [3][3]float64{{cr, -sr, 0}, {sr, cr, 0}, {0, 0, 1}}
	ry := [3][3]float64{{cy, 0, sy}, {0, 1, 0}, {-sy, 0, cy}}
	rx := [3][3]float64{{1, 0, 0}, {0, cp, -sp}, {0, sp, cp}}
	r := mul3(rx, mul3(ry, rz))
	// Distance so that a frontal card would be sc.side pixels wide.
	z := focal * card / sc.side
	ox, oy := sc.cx-float64(w)/2, sc.cy-float64(h)/2
	tx, ty := ox*z/focal, oy*z/focal
	fw, fh := float64(w)/2, float64(h)/2
	return [3][3]float64{
		{focal*r[0][0] + fw*r[2][0], focal*r[0][1] + fw*r[2][1], focal*tx + fw*z},
		{focal*r[1][0] + fh*r[2][0], focal*r[1][1] + fh*r[2][1], focal*ty + fh*z},
		{r[2][0], r[2][1], z},
	}
}

func mul3(a, b [3][3]float64) [3][3]float64 {
	var c [3][3]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				c[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return c
}

func inv3(m [3][3]float64) ([3][3]float64, bool) {
	det := m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	if math.Abs(det) < 1e-12 {
		return m, false
	}
	var r [3][3]float64
	r[0][0] = (m[1][1]*m[2][2] - m[1][2]*m[2][1]) / det
	r[0][1] = (m[0][2]*m[2][1] - m[0][1]*m[2][2]) / det
	r[0][2] = (m[0][1]*m[1][2] - m[0][2]*m[1][1]) / det
	r[1][0] = (m[1][2]*m[2][0] - m[1][0]*m[2][2]) / det
	r[1][1] = (m[0][0]*m[2][2] - m[0][2]*m[2][0]) / det
	r[1][2] = (m[0][2]*m[1][0] - m[0][0]*m[1][2]) / det
	r[2][0] = (m[1][0]*m[2][1] - m[1][1]*m[2][0]) / det
	r[2][1] = (m[0][1]*m[2][0] - m[0][0]*m[2][1]) / det
	r[2][2] = (m[0][0]*m[1][1] - m[0][1]*m[1][0]) / det
	return r, true
}

// blur applies a separable Gaussian blur.
func (f *field) blur(sigma float64) {
	if sigma < 0.3 {
		return
	}
	rad := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*rad+1)
	sum := 0.0
	for i := range k {
		d := float64(i - rad)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float64, len(f.v))
	for y := 0; y < f.h; y++ {
		for x := 0; x < f.w; x++ {
			acc := 0.0
			for i, kv := range k {
				xx := min(max(x+i-rad, 0), f.w-1)
				acc += kv * f.v[y*f.w+xx]
			}
			tmp[y*f.w+x] = acc
		}
	}
	for y := 0; y < f.h; y++ {
		for x := 0; x < f.w; x++ {
			acc := 0.0
			for i, kv := range k {
				yy := min(max(y+i-rad, 0), f.h-1)
				acc += kv * tmp[yy*f.w+x]
			}
			f.v[y*f.w+x] = acc
		}
	}
}

// screenGrid multiplies the frame by a slightly rotated pixel grid whose
// pitch is close to the camera's, which aliases into moiré bands.
func (f *field) screenGrid(rng *rand.Rand, pitch float64) {
	if p := 2.2 + 0.6*rng.Float64(); pitch == 0 {
		pitch = p
	}
	ang := (rng.Float64()*2 - 1) * 6 * math.Pi / 180
	c, s := math.Cos(ang), math.Sin(ang)
	depth := 0.25 + 0.1*rng.Float64()
	for y := 0; y < f.h; y++ {
		for x := 0; x < f.w; x++ {
			u := (float64(x)*c + float64(y)*s) / pitch
			v := (-float64(x)*s + float64(y)*c) / pitch
			g := (1 - depth/2 + depth/2*math.Cos(2*math.Pi*u)) * (1 - depth/2 + depth/2*math.Cos(2*math.Pi*v))
			f.v[y*f.w+x] *= g
		}
	}
}

func (f *field) addNoise(rng *rand.Rand, sigma float64) {
	if sigma <= 0 {
		return
	}
	for i := range f.v {
		f.v[i] += rng.NormFloat64() * sigma
	}
}
