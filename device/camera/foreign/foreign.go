// Package foreign renders camera frames of QR codes with a generator that
// shares nothing with camtest, so that the decoder can be measured on
// frames it was never tuned on.
//
// camtest encodes with gozxing, draws the code by point supersampling
// through a pinhole camera, and adds Gaussian blur and Gaussian noise to
// 8-bit levels. Here the codes come from another encoder
// (github.com/skip2/go-qrcode), versions 1 to 25 at every error
// correction level, with quiet zones down to half a module; the code is
// rasterised as a texture (with dot gain and paper texture, or as a phone
// screen's subpixels) and warped into the frame with bilinear or bicubic
// resampling through a pinhole camera with barrel distortion; light is
// modelled in linear radiance (vignetting, a shadow edge, gradients,
// glare); the optics blur with a Gaussian, a motion streak or a defocus
// disc; the sensor adds shot (Poisson) and read noise, encodes with a
// gamma, may sharpen like a phone's image processor, and the frame may
// pass through JPEG. Frames without a code show cluttered scenes: text,
// stripes, grids, checkerboards, keyboards and concentric squares.
//
// Every parameter is drawn from a range with the frame's seed (see
// [Render]); a frame's Params say what was drawn.
package foreign

import (
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"strings"

	qr "github.com/skip2/go-qrcode"
)

// Variant names the kind of difficulty a frame stresses. Every frame also
// has the mild defaults of a real camera (some blur, shot noise, gamma,
// vignetting, any rotation, a slight tilt).
type Variant string

// The variants.
const (
	Clean       Variant = "f-clean"       // only the defaults
	Perspective Variant = "f-persp"       // strong turn and tilt, wide lens
	Gauss       Variant = "f-gauss"       // Gaussian blur, 0.3-0.7 modules
	Motion      Variant = "f-motion"      // motion streak, 0.6-1.6 modules long
	Defocus     Variant = "f-defocus"     // defocus disc, radius 0.4-0.9 modules
	Shot        Variant = "f-shot"        // low light: few photons, read noise
	JPEG        Variant = "f-jpeg"        // JPEG at quality 30-80, small modules
	Shadow      Variant = "f-shadow"      // a hard shadow edge across the code, vignetting
	LowContrast Variant = "f-lowcontrast" // faded ink, dim, another gamma
	Glare       Variant = "f-glare"       // bright specular spots on the code
	Barrel      Variant = "f-barrel"      // a large code through a wide lens with barrel distortion
	Screen      Variant = "f-screen"      // a phone screen: subpixels, moiré, reflection, dark mode
	Print       Variant = "f-print"       // printed: strong dot gain or thinning, paper, speckle
	Dense       Variant = "f-dense"       // versions 15-25
	Small       Variant = "f-small"       // modules of 1.8-2.8 pixels
	Quiet       Variant = "f-quiet"       // quiet zone of 0.5-2 modules, clutter beside it
	Empty       Variant = "empty"         // a cluttered scene without a code
)

// Variants lists every variant, Empty last.
var Variants = []Variant{Clean, Perspective, Gauss, Motion, Defocus, Shot, JPEG, Shadow, LowContrast, Glare, Barrel, Screen, Print, Dense, Small, Quiet, Empty}

// Spec names one frame: its size, variant and seed. The same Spec always
// renders the same frame.
type Spec struct {
	Width, Height int
	Variant       Variant
	Seed          uint64
	// Version, when not 0, is the code's version instead of a drawn one
	// (tests pin the case they are about).
	Version int
	// Roll, when not 0, is the code's rotation in the image plane in
	// degrees instead of a drawn one.
	Roll float64
	// Frame, when not 0, numbers the frame in a fixed camera's stream:
	// the sensor's shot and read noise are drawn afresh for each Frame,
	// and everything else (the scene, the code, the light, the optics) is
	// the Spec's. Frame 0 is the frame of the sets.
	Frame int
}

// Name is a file name for the frame, unique within a set.
func (s Spec) Name() string {
	name := fmt.Sprintf("%s-%dx%d-%d", s.Variant, s.Width, s.Height, s.Seed)
	if s.Version != 0 {
		name += fmt.Sprintf("-v%d", s.Version)
	}
	if s.Roll != 0 {
		name += fmt.Sprintf("-roll%g", s.Roll)
	}
	if s.Frame != 0 {
		name += fmt.Sprintf("-frame%d", s.Frame)
	}
	return name
}

// Sizes are the frame sizes of a set.
var Sizes = []image.Point{{640, 480}, {1280, 720}}

// DefaultSeed is the first seed of the set decode-compare writes by
// default. The decoder is never tuned on frames of this generator.
const DefaultSeed = 0x5eed_f0e1_9000

// Set returns n specs per variant and frame size with consecutive seeds
// from seed on.
func Set(n int, seed uint64) []Spec {
	var specs []Spec
	for _, sz := range Sizes {
		for _, v := range Variants {
			for i := 0; i < n; i++ {
				specs = append(specs, Spec{Width: sz.X, Height: sz.Y, Variant: v, Seed: seed})
				seed++
			}
		}
	}
	return specs
}

// A Frame is a rendered frame.
type Frame struct {
	Img  *image.Gray
	Text string // the payload; "" for a frame without a code
	// Version and Level of the code (0 and "" without one).
	Version int
	Level   string
	// Params lists what was drawn, for reading a failure.
	Params string
}

// levels are the error correction levels, in skip2's order.
var levels = []struct {
	name  string
	level qr.RecoveryLevel
}{{"L", qr.Low}, {"M", qr.Medium}, {"Q", qr.High}, {"H", qr.Highest}}

// params is everything drawn for one frame.
type params struct {
	version    int
	level      int
	kind       string  // payload kind
	quiet      float64 // quiet zone, modules
	margin     float64 // card beyond the quiet zone, modules
	modulePx   float64 // module size at the code's centre, pixels
	roll       float64 // radians
	yaw, pitch float64 // radians
	fov        float64 // horizontal field of view, radians
	barrel     float64 // k1 of r_d = r_u (1 + k1 r_u^2), r in half-widths
	cardAlb    float64 // paper reflectance
	inkAlb     float64 // ink reflectance
	dotGain    float64 // ink spread beyond a module's edge, modules (negative: thinning)
	paperTex   float64 // paper texture depth
	speckle    float64 // share of toner specks
	bicubic    bool
	screen     bool
	screenDark bool    // dark mode: light modules on dark
	screenPx   float64 // screen pixels per module
	screenLum  float64 // screen white, relative to the paper white's radiance
	reflect    float64 // ambient reflection on the glass
	exposure   float64 // radiance of white paper in the frame centre, of full scale
	vignette   float64
	gradX      float64
	gradY      float64
	shadow     float64 // depth of a shadow over half the frame, 0: none
	shadowAng  float64
	shadowOff  float64 // shadow edge's offset from the code centre, modules
	shadowSoft float64 // edge softness, pixels
	glare      []glareSpot
	gauss      float64 // pixels
	motionLen  float64 // pixels
	motionAng  float64
	defocus    float64 // disc radius, pixels
	fullWell   float64 // electrons at full scale
	readNoise  float64 // electrons
	gamma      float64
	sharpen    float64 // unsharp mask amount, 0: none
	jpegQ      int     // 0: no JPEG
	clutter    int     // distractors in the background
	nearText   bool    // text or a dark border right beside the card
}

type glareSpot struct{ dx, dy, r, amp float64 } // in modules from the code centre; amp of full scale

func between(rng *rand.Rand, lo, hi float64) float64 { return lo + (hi-lo)*rng.Float64() }

func signed(rng *rand.Rand, lo, hi float64) float64 {
	v := between(rng, lo, hi)
	if rng.IntN(2) == 0 {
		return -v
	}
	return v
}

func deg(d float64) float64 { return d * math.Pi / 180 }

// draw draws the parameters of a frame: the defaults first, then the
// variant's own.
func draw(s Spec, rng *rand.Rand) params {
	p := params{
		version:   1 + rng.IntN(14),
		level:     rng.IntN(4),
		quiet:     between(rng, 3, 5),
		margin:    between(rng, 0, 6),
		modulePx:  between(rng, 3, 8),
		roll:      between(rng, -math.Pi, math.Pi),
		yaw:       signed(rng, 0, deg(15)),
		pitch:     signed(rng, 0, deg(15)),
		fov:       deg(between(rng, 50, 70)),
		barrel:    between(rng, 0, 0.03),
		cardAlb:   between(rng, 0.65, 0.9),
		inkAlb:    between(rng, 0.03, 0.12),
		dotGain:   between(rng, -0.03, 0.08),
		paperTex:  between(rng, 0, 0.05),
		bicubic:   rng.IntN(2) == 0,
		exposure:  between(rng, 0.6, 0.95),
		vignette:  between(rng, 0, 0.3),
		gradX:     signed(rng, 0, 0.15),
		gradY:     signed(rng, 0, 0.15),
		gauss:     between(rng, 0.4, 0.9),
		fullWell:  between(rng, 1500, 6000),
		readNoise: between(rng, 1, 4),
		gamma:     between(rng, 2.0, 2.4),
		clutter:   rng.IntN(6),
	}
	p.kind = kinds[rng.IntN(len(kinds))]
	if rng.IntN(2) == 0 {
		p.sharpen = between(rng, 0.2, 0.8)
	}
	if rng.IntN(3) == 0 {
		p.jpegQ = 75 + rng.IntN(18)
	}
	switch s.Variant {
	case Perspective:
		p.yaw, p.pitch = signed(rng, deg(25), deg(55)), signed(rng, deg(10), deg(40))
		p.fov = deg(between(rng, 60, 80))
	case Gauss:
		p.gauss = -between(rng, 0.3, 0.7) // in modules, resolved once the module size is known
	case Motion:
		p.motionLen = -between(rng, 0.6, 1.6)
		p.motionAng = between(rng, 0, math.Pi)
	case Defocus:
		p.defocus = -between(rng, 0.4, 0.9)
	case Shot:
		p.fullWell = between(rng, 40, 200)
		p.readNoise = between(rng, 2, 6)
		p.exposure = between(rng, 0.35, 0.8)
	case JPEG:
		p.jpegQ = 30 + rng.IntN(51)
		p.modulePx = between(rng, 2.2, 4.5)
		p.sharpen = 0
	case Shadow:
		p.shadow = between(rng, 0.45, 0.8)
		p.shadowAng = between(rng, 0, 2*math.Pi)
		p.shadowOff = between(rng, -8, 8)
		p.shadowSoft = between(rng, 0.5, 6)
		p.vignette = between(rng, 0.3, 0.6)
	case LowContrast:
		p.inkAlb = p.cardAlb * between(rng, 0.45, 0.7)
		p.exposure = between(rng, 0.3, 0.6)
		p.gamma = between(rng, 1.6, 2.8)
	case Glare:
		for k := 1 + rng.IntN(2); k > 0; k-- {
			p.glare = append(p.glare, glareSpot{dx: signed(rng, 0, 10), dy: signed(rng, 0, 10), r: between(rng, 2, 7), amp: between(rng, 0.4, 1.2)})
		}
	case Barrel:
		p.barrel = between(rng, 0.06, 0.18)
		p.fov = deg(between(rng, 75, 95))
		p.modulePx = -between(rng, 0.55, 0.8) // the code covers this share of the frame's height
	case Screen:
		p.screen = true
		p.screenDark = rng.IntN(3) == 0
		p.screenPx = between(rng, 3, 9)
		p.screenLum = between(rng, 0.9, 1.6)
		p.reflect = between(rng, 0.02, 0.15)
		p.margin = between(rng, 0.5, 3)
	case Print:
		p.dotGain = signed(rng, 0.08, 0.2)
		p.paperTex = between(rng, 0.05, 0.15)
		p.speckle = between(rng, 0.002, 0.02)
	case Dense:
		p.version = 15 + rng.IntN(11)
		p.modulePx = between(rng, 2.5, 5)
	case Small:
		p.version = 1 + rng.IntN(6)
		p.modulePx = between(rng, 1.8, 2.8)
	case Quiet:
		p.quiet = between(rng, 0.5, 2)
		p.margin = 0
		p.nearText = true
		p.clutter = 4 + rng.IntN(6)
	}
	if s.Version != 0 {
		p.version = min(max(s.Version, 1), 40)
	}
	if s.Roll != 0 {
		p.roll = deg(s.Roll)
	}
	return p
}

// Render draws the frame s names.
func Render(s Spec) (Frame, error) {
	if s.Width < 64 || s.Height < 64 || s.Width > 8192 || s.Height > 8192 {
		return Frame{}, fmt.Errorf("render %s: frame size %dx%d out of 64..8192", s.Name(), s.Width, s.Height)
	}
	rng := rand.New(rand.NewPCG(s.Seed, 0xf0e1))
	p := draw(s, rng)
	if s.Variant == Empty {
		return renderEmpty(s, p, rng), nil
	}
	text := payload(rng, p.kind, p.version, levels[p.level].level)
	code, err := qr.New(text, levels[p.level].level)
	if err != nil {
		return Frame{}, fmt.Errorf("render %s: encode %d characters: %w", s.Name(), len(text), err)
	}
	code.DisableBorder = true
	mods := code.Bitmap()
	p.version = code.VersionNumber
	img := renderCode(s, &p, mods, rng)
	return Frame{Img: img, Text: text, Version: p.version, Level: levels[p.level].name, Params: p.String(s.Variant)}, nil
}

// sensorRNG returns the source of the sensor's noise: rng itself for
// frame 0, so that the sets render as they always did, and a source of
// the frame's own otherwise.
func sensorRNG(s Spec, rng *rand.Rand) *rand.Rand {
	if s.Frame == 0 {
		return rng
	}
	return rand.New(rand.NewPCG(s.Seed, 0xf0e1^uint64(s.Frame)<<16))
}

// String lists the drawn parameters that matter for the variant.
func (p params) String(v Variant) string {
	var b strings.Builder
	fmt.Fprintf(&b, "v%d-%s %s mod=%.2fpx quiet=%.1f roll=%.0f yaw=%.0f pitch=%.0f", p.version, levels[p.level].name, p.kind, p.modulePx, p.quiet,
		p.roll*180/math.Pi, p.yaw*180/math.Pi, p.pitch*180/math.Pi)
	fmt.Fprintf(&b, " gauss=%.2f fw=%.0f read=%.1f gamma=%.2f exp=%.2f", p.gauss, p.fullWell, p.readNoise, p.gamma, p.exposure)
	if p.motionLen > 0 {
		fmt.Fprintf(&b, " motion=%.2fpx@%.0f", p.motionLen, p.motionAng*180/math.Pi)
	}
	if p.defocus > 0 {
		fmt.Fprintf(&b, " defocus=%.2fpx", p.defocus)
	}
	if p.jpegQ > 0 {
		fmt.Fprintf(&b, " jpeg=%d", p.jpegQ)
	}
	if p.sharpen > 0 {
		fmt.Fprintf(&b, " sharpen=%.2f", p.sharpen)
	}
	if p.shadow > 0 {
		fmt.Fprintf(&b, " shadow=%.2f soft=%.1f", p.shadow, p.shadowSoft)
	}
	if len(p.glare) > 0 {
		fmt.Fprintf(&b, " glare=%d", len(p.glare))
	}
	if p.barrel > 0.03 {
		fmt.Fprintf(&b, " barrel=%.3f", p.barrel)
	}
	if p.screen {
		fmt.Fprintf(&b, " screen=%.1fpx/mod dark=%v", p.screenPx, p.screenDark)
	}
	if v == Print || v == LowContrast {
		fmt.Fprintf(&b, " ink=%.2f card=%.2f gain=%.2f", p.inkAlb, p.cardAlb, p.dotGain)
	}
	return b.String()
}

// Payload kinds: what people put in codes at a gate.
var kinds = []string{"url", "hc1", "numeric", "text"}

const (
	urlChars  = "abcdefghijklmnopqrstuvwxyz0123456789-_/.?=&"
	b45Chars  = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	textChars = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 ,.;:!?'()-"
)

// payload returns a payload of the kind that encodes into the given
// version at the level (or the nearest version the encoder picks): the
// length is drawn between the first that needs the version and the last
// that fits it.
func payload(rng *rand.Rand, kind string, version int, level qr.RecoveryLevel) string {
	const maxLen = 4000
	var b strings.Builder
	switch kind {
	case "url":
		b.WriteString("https://")
		for b.Len() < maxLen {
			b.WriteByte(urlChars[rng.IntN(len(urlChars))])
		}
	case "hc1":
		b.WriteString("HC1:")
		for b.Len() < maxLen {
			b.WriteByte(b45Chars[rng.IntN(len(b45Chars))])
		}
	case "numeric":
		for b.Len() < maxLen {
			b.WriteByte(byte('0' + rng.IntN(10)))
		}
	default:
		for b.Len() < maxLen {
			b.WriteByte(textChars[rng.IntN(len(textChars))])
		}
	}
	full := b.String()
	ver := func(n int) int {
		c, err := qr.New(full[:n], level)
		if err != nil {
			return 99
		}
		return c.VersionNumber
	}
	// first returns the shortest length whose version is at least v.
	first := func(v int) int {
		lo, hi := 1, maxLen
		for lo < hi {
			mid := (lo + hi) / 2
			if ver(mid) >= v {
				hi = mid
			} else {
				lo = mid + 1
			}
		}
		return lo
	}
	lo, hi := first(version), first(version+1)-1
	if hi < lo {
		hi = lo
	}
	n := lo + rng.IntN(hi-lo+1)
	return full[:max(1, n)]
}
