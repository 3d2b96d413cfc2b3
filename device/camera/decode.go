package camera

import (
	"errors"
	"fmt"
	"image"
	"math"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/common"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// Errors returned by the decoder and the frame sources.
var (
	// ErrNoCode means that the image holds no QR code that could be read.
	// It is the normal answer for an empty frame; aim the camera at the
	// code or bring the code closer.
	ErrNoCode = errors.New("camera: no QR code found")

	// ErrPayloadTooLarge means that a code decoded to more than
	// MaxPayload bytes, which no valid QR code can hold.
	ErrPayloadTooLarge = errors.New("camera: QR payload larger than the largest QR code")

	// ErrImageTooLarge means that an image's dimensions exceed MaxPixels.
	ErrImageTooLarge = errors.New("camera: image too large")
)

// MaxPayload is the largest payload a QR code can carry (version 40, level
// L, alphanumeric), in characters. Longer payloads are refused.
const MaxPayload = 4296

// MaxPixels bounds the size of an image the package decodes or loads
// (a 16-megapixel frame).
const MaxPixels = 4096 * 4096

// Result is a decoded QR code.
type Result struct {
	// Payload is the code's content as bytes: byte-mode segments exactly
	// as encoded, numeric and alphanumeric segments as ASCII. When the code
	// declares a character set (ECI) or uses Kanji mode, Payload is the
	// text in UTF-8.
	Payload []byte
	// Version is the QR version, 1 to 40 (the symbol is 17+4×Version
	// modules wide).
	Version int
	// ECLevel is the error-correction level: "L", "M", "Q" or "H".
	ECLevel string
	// Corners are the centres of the three finder patterns (bottom-left,
	// top-left, top-right) in image coordinates, when known.
	Corners []image.Point
}

// Text returns the payload as a string.
func (r Result) Text() string { return string(r.Payload) }

// Decoder decodes QR codes from grey images. The zero value is ready to
// use. A Decoder is not safe for concurrent use.
type Decoder struct {
	hints map[gozxing.DecodeHintType]any
	qr    *decoder.Decoder

	// Scratch kept between frames.
	bin  binarizer
	smp  sampler
	fill filler
	bits bitRows // the words of the matrix this pass searches
	// The words of the frame's matrices: the half (or only) plane's,
	// the full plane's, and the other passes'.
	wSmall, wFull, wOther []uint32
	finders               []finder
	work                  int // work units left for this pass's grey samples and floods
	// frameWork is the work units left in this frame (see
	// maxWorkPerFrame), passes the passes run on it so far, samples the
	// grey samples taken.
	frameWork int
	passes    int
	samples   int
	// zxGrids counts the modules of the grids gozxing's detector sampled
	// in this frame (see zxGrid), for tests.
	zxGrids int
	// searched counts the pixels of the matrices our finder search and
	// gozxing's read in this frame, for tests.
	searched [2]int
	half     []byte
	quarter  []byte
	smooth   []byte
	screen   screenScratch
	// noScreen runs every pass even on frames the screen rejects (tests
	// compare the two).
	noScreen bool
}

// NewDecoder returns a Decoder ready for use.
func NewDecoder() *Decoder {
	d := &Decoder{}
	d.init()
	return d
}

func (d *Decoder) init() {
	if d.qr != nil {
		return
	}
	d.qr = decoder.NewDecoder()
	// The payload is taken from the data codewords (see payloadOf); the
	// hint only spares gozxing guessing a character set for its text.
	d.hints = map[gozxing.DecodeHintType]any{
		gozxing.DecodeHintType_CHARACTER_SET: "ISO-8859-1",
	}
}

// Decode finds and decodes one QR code in img. It returns ErrNoCode when
// there is none that it can read.
func Decode(img *image.Gray) (Result, error) {
	return NewDecoder().Decode(img)
}

// Decode finds and decodes one QR code in img. It returns ErrNoCode when
// there is none that it can read.
//
// It tries passes, likeliest first and stopping at the first code that
// decodes (see passOrder): in an image larger than a 1080p frame, the
// image at quarter scale when the screen finds large modules there
// (quarterFirst); then the image at half scale and at full scale,
// inverted, and binarised keeping faint contrasts. At each pass
// gozxing's detector runs first, then our own finder search and a
// perspective fit from the finder patterns' corners (see locate.go).
//
// The work is bounded per frame, in work units of about one grey
// sample's time (maxWorkPerFrame): every pass's fixed work (binarising,
// smoothing, both finder searches) is charged by the pixels it reads, and
// the grey samples and flood fills of the finder triples it tries take
// what is left, up to maxSamplesPerPass, less the fixed work of the next
// two passes. A pass whose fixed work no longer fits is skipped. The
// finder triples per pass are bounded by maxTriples, and gozxing's finder
// search, which weighs every triple of its candidates, runs only in the
// first pass.
func (d *Decoder) Decode(img *image.Gray) (Result, error) {
	d.init()
	pl, err := planeOf(img)
	if err != nil {
		return Result{}, err
	}
	if pl.w == 0 || pl.h == 0 {
		return Result{}, ErrNoCode
	}
	d.frameWork, d.passes, d.samples, d.zxGrids = frameBudget(pl), 0, 0, 0
	d.searched, d.fill.visited, d.fill.revisited = [2]int{}, 0, 0
	d.screen.planePixels, d.screen.rowSamples, d.screen.lineSamples = 0, 0, 0
	// Block statistics kept from the last frame are stale: a source
	// reuses its buffers.
	d.bin.forget()
	var half plane
	haveHalf := pl.w >= 2*minHalfSide && pl.h >= 2*minHalfSide
	// The screen reads frames up to screenFullMax at full scale: their
	// half-scale plane waits until the screen has passed the frame.
	if haveHalf && (pl.w*pl.h > screenFullMax || d.noScreen) {
		d.half, half = downscale2(d.half, pl)
	}
	// A large image whose code has large modules (a certificate
	// rendered for print) is read at quarter scale, at a sixteenth of
	// the full plane's cost, before the half-scale screen and passes.
	if haveHalf && !d.noScreen && pl.w*pl.h > quarterFirstMin {
		if r, ok := d.quarterFirst(half); ok {
			return r, nil
		}
	}
	// Most frames of a fixed camera hold no code: reject those without
	// finder-like places before any pass (see screen.go), on the
	// half-scale plane when there is one.
	sp := pl
	if haveHalf && pl.w*pl.h > screenFullMax {
		sp = half
	}
	d.screen.still = pl.w*pl.h < fullFirstMax
	if !d.noScreen && !d.screen.finderHint(sp) {
		// A code with modules under 1.5 pixels at half scale shows no
		// finder pattern there: look for one at full scale.
		if sp.w == pl.w || !d.screen.finderHintSmall(pl) {
			d.screen.rejected++
			return Result{}, ErrNoCode
		}
		sp = pl
	}
	if haveHalf && half.pix == nil {
		d.half, half = downscale2(d.half, pl)
	}
	small := pl
	smallScale := 1
	if haveHalf {
		small, smallScale = half, 2
	}
	f := frame{full: pl, small: small, haveHalf: haveHalf}
	order := d.passOrder(haveHalf, pl, sp)
	for i, k := range order {
		if d.fixedCost(&f, k) > d.frameWork {
			// Not enough work left for this pass's binarisation and
			// finder searches; a later one may be cheaper.
			continue
		}
		// Keep the fixed work of the next two passes that fit, the
		// likeliest after this one, from its triples.
		reserve, kept := 0, 0
		for _, next := range order[i+1:] {
			if c := d.fixedCost(&f, next); kept < 2 && reserve+c <= d.frameWork-d.fixedCost(&f, k) {
				reserve += c
				kept++
			}
		}
		var r Result
		var ok bool
		switch k {
		case passSmall, passSmallInv:
			m, words := d.smallMatrix(&f, k == passSmallInv)
			if r, ok = d.locateMatrix(m, words, small, k == passSmallInv, reserve); ok {
				return scaled(r, smallScale), nil
			}
		case passFull, passFullInv:
			m, words := d.fullMatrix(&f, k == passFullInv)
			if r, ok = d.locateMatrix(m, words, pl, k == passFullInv, reserve); ok {
				return r, nil
			}
		case passSmallLow:
			// Faded codes: keep contrasts gozxing's binarizer treats
			// as flat.
			var m *gozxing.BitMatrix
			m, d.wOther = d.binarize(small, lowRange, d.wOther)
			if r, ok = d.locateMatrix(m, d.wOther, small, false, reserve); ok {
				return scaled(r, smallScale), nil
			}
		case passFullSmooth:
			// At full scale, smoothed first: noise would break the
			// faint finder rings apart.
			var smooth plane
			d.smooth, smooth = d.bin.smooth3(d.smooth, pl)
			d.charge(pl.w * pl.h / pixelsPerUnitRead)
			var m *gozxing.BitMatrix
			m, d.wOther = d.binarize(smooth, smoothRange, d.wOther)
			if r, ok = d.locateMatrix(m, d.wOther, pl, false, reserve); ok {
				return r, nil
			}
		}
	}
	return Result{}, ErrNoCode
}

// quarterFirst screens the half-scale plane half at half scale again
// and, when the screen finds finder patterns whose modules span at least
// minHalfModule pixels there, reads the code with gozxing's finder search
// and grids on the black matrix (see locateZX), without our own finder
// search or grey resampling: a first look that costs a quarter of the
// half-scale screen when it finds nothing.
func (d *Decoder) quarterFirst(half plane) (Result, bool) {
	var q plane
	d.quarter, q = downscale2(d.quarter, half)
	if !d.screen.finderHint(q) || d.screen.ms < minHalfModule {
		return Result{}, false
	}
	m, _ := d.binarize(q, normalRange, nil)
	d.charge(q.w * q.h / pixelsPerUnitZXFinders)
	d.work = max(0, min(maxSamplesPerPass, d.frameWork))
	start := d.work
	var zx zxTry
	r, ok := d.locateZX(m, &zx)
	d.frameWork -= start - d.work
	if !ok {
		return Result{}, false
	}
	return scaled(r, 4), true
}

// codeSpread returns the spread of grey levels (from the 2nd to the 98th
// percentile) in the box around the three places hs of the screened
// plane p, read along every fourth row and column: the contrast of a
// code there, which blur does not lower as it lowers the contrast of the
// finders' thin rings.
func codeSpread(p plane, hs [3]screenHit) int {
	x0, y0 := math.Inf(1), math.Inf(1)
	x1, y1 := math.Inf(-1), math.Inf(-1)
	ms := 0.0
	for _, h := range hs {
		x0, y0 = min(x0, h.c.x), min(y0, h.c.y)
		x1, y1 = max(x1, h.c.x), max(y1, h.c.y)
		ms = max(ms, h.ms)
	}
	m := 4 * ms
	xa, ya := max(0, int(x0-m)), max(0, int(y0-m))
	xb, yb := min(p.w, int(x1+m)+1), min(p.h, int(y1+m)+1)
	var hist [256]int
	n := 0
	for y := ya; y < yb; y += 4 {
		row := p.pix[y*p.stride:]
		for x := xa; x < xb; x += 4 {
			hist[row[x]]++
			n++
		}
	}
	if n == 0 {
		return 0
	}
	lo, hi, c := 0, 255, 0
	for v, k := range hist {
		if c += k; 50*c > n {
			lo = v
			break
		}
	}
	c = 0
	for v := 255; v >= 0; v-- {
		if c += hist[v]; 50*c > n {
			hi = v
			break
		}
	}
	return hi - lo
}

// A pass binarises a plane one way and looks for a code in the black
// matrix.
type passKind uint8

const (
	passSmall      passKind = iota // the half plane (the full one when small), gozxing's range
	passFull                       // the full plane, when there is a half one
	passSmallInv                   // passSmall's matrix flipped: light modules on dark
	passSmallLow                   // the half plane, keeping faint contrasts
	passFullSmooth                 // the full plane smoothed, keeping fainter ones
	passFullInv                    // passFull's matrix flipped
)

// frame holds the black matrices of a frame's planes, binarised once and
// flipped between the normal and inverted passes, and their words (see
// bitRows), flipped with them.
type frame struct {
	full, small         plane
	haveHalf            bool
	mSmall, mFull       *gozxing.BitMatrix
	wSmall, wFull       []uint32
	smallFlip, fullFlip bool
}

func (d *Decoder) smallMatrix(f *frame, inv bool) (*gozxing.BitMatrix, []uint32) {
	if f.mSmall == nil {
		f.mSmall, d.wSmall = d.binarize(f.small, normalRange, d.wSmall)
		f.wSmall = d.wSmall
	}
	if f.smallFlip != inv {
		f.mSmall.FlipAll()
		flipWords(f.wSmall)
		d.bits.m = nil // the copy of its words is stale
		f.smallFlip = inv
	}
	return f.mSmall, f.wSmall
}

func (d *Decoder) fullMatrix(f *frame, inv bool) (*gozxing.BitMatrix, []uint32) {
	if f.mFull == nil {
		f.mFull, d.wFull = d.binarize(f.full, normalRange, d.wFull)
		f.wFull = d.wFull
	}
	if f.fullFlip != inv {
		f.mFull.FlipAll()
		flipWords(f.wFull)
		d.bits.m = nil // the copy of its words is stale
		f.fullFlip = inv
	}
	return f.mFull, f.wFull
}

// flipWords flips every bit of words, as BitMatrix.FlipAll does its
// matrix's.
func flipWords(words []uint32) {
	for i := range words {
		words[i] = ^words[i]
	}
}

// binarize binarises p into a matrix and its words, in dst when large
// enough, and charges the work.
func (d *Decoder) binarize(p plane, minRange int, dst []uint32) (*gozxing.BitMatrix, []uint32) {
	d.charge(d.bin.cost(p))
	return d.bin.binarize(p, minRange, dst)
}

// charge takes n work units of fixed per-pass work (binarising, finder
// searches) from the frame's budget.
func (d *Decoder) charge(n int) { d.frameWork -= n }

// fixedCost is the work a pass of kind k takes on f before any finder
// triple is tried: binarising (unless its matrix is binarised already),
// smoothing, and the finder searches (gozxing's runs only in the first).
func (d *Decoder) fixedCost(f *frame, k passKind) int {
	p := f.small
	if k == passFull || k == passFullInv || k == passFullSmooth {
		p = f.full
	}
	px := p.w * p.h
	// Only the frame's first pass runs gozxing's finder search too.
	c := px / pixelsPerUnitFinders
	switch k {
	case passSmall, passSmallInv:
		if f.mSmall == nil {
			c += d.bin.cost(p)
		}
	case passFull, passFullInv:
		if f.mFull == nil {
			c += d.bin.cost(p)
		}
	case passSmallLow:
		c += d.bin.cost(p)
	case passFullSmooth:
		c += 3 * px / pixelsPerUnitRead
	}
	return c
}

// passOrder returns the passes to try on a frame, likeliest first.
//
// By default: the image at half scale (fast, and it averages noise and
// screen moiré), at full scale (small codes), at half scale inverted
// (gozxing ignores its own inverted hint), with a binarisation that keeps
// contrasts gozxing's binarizer treats as flat (faded codes, dim light)
// at half scale and at full scale after a 3×3 smoothing, and last at
// full scale inverted.
//
// The screen's three finder-like places reorder them; no pass is dropped.
// When two of the three have light centres, the code is likely light on
// dark, and the inverted passes go first. When all three rings' contrasts
// are under gozxing's flat range, its binarisation sees the code's blocks
// as flat, and the faint pass goes first. When two of the three have dark
// centres, the inverted passes go last. In an image smaller than a
// camera frame, when the screen measured the finder patterns and their
// modules would span under minHalfModule pixels at half scale (a code
// filling a certificate's PNG), the full plane goes first: at half scale
// gozxing's grid does not decode and the grey resampling that reads it
// costs tens of milliseconds; inverted when more of the three have light
// centres than dark ones.
//
// A place counts for a polarity only when its rings' contrast is
// screenDiagContrast or more, where the screen also checked it along the
// four lines between its row, column and diagonals (betweenLines). The
// screen skips those lines on an image smaller than a camera frame
// (still), so there the places of the three are checked now: in a
// certificate PNG, light-centred runs in a dark-on-light code's data
// often make a triangle with one real finder, and sent the inverted
// passes, which find nothing, first.
func (d *Decoder) passOrder(haveHalf bool, pl, sp plane) []passKind {
	if !haveHalf {
		return []passKind{passSmall, passSmallInv, passSmallLow}
	}
	order := []passKind{passSmall, passFull, passSmallInv, passSmallLow, passFullSmooth, passFullInv}
	if d.noScreen || d.screen.ms <= 0 {
		return order
	}
	s := &d.screen
	dark, light, cmax := 0, 0, 0
	for _, h := range s.tri {
		switch {
		case h.contrast < screenDiagContrast:
		case s.still && !s.verified(sp, h):
			// Unchecked, and not a finder's pattern between its
			// lines.
		case h.dark:
			dark++
		default:
			light++
		}
		cmax = max(cmax, h.contrast)
	}
	switch {
	case sp.w == pl.w && pl.w*pl.h > screenFullMax:
		// Passed by finderHintSmall: modules under 1.6 pixels at half
		// scale, where gozxing's grid rarely decodes.
		order = []passKind{passFull, passSmall, passFullSmooth, passSmallInv, passSmallLow, passFullInv}
	case pl.w*pl.h < fullFirstMax && s.ms/2 < minHalfModule && light > dark:
		// The same, light on dark (a certificate on a phone in
		// dark mode), counting only places checked between their
		// lines (see verified).
		order = []passKind{passFullInv, passSmallInv, passFull, passSmall, passSmallLow, passFullSmooth}
	case pl.w*pl.h < fullFirstMax && s.ms/2 < minHalfModule:
		// Screened at full scale (fullFirstMax <= screenFullMax).
		order = []passKind{passFull, passSmall, passSmallInv, passSmallLow, passFullSmooth, passFullInv}
	case light >= 2:
		order = []passKind{passSmallInv, passFullInv, passSmall, passFull, passSmallLow, passFullSmooth}
	case cmax < normalRange && codeSpread(sp, s.tri) <= 2*normalRange:
		order = []passKind{passSmallLow, passFullSmooth, passSmall, passFull, passSmallInv, passFullInv}
	case dark >= 2:
		order = []passKind{passSmall, passFull, passSmallLow, passFullSmooth, passSmallInv, passFullInv}
	}
	return order
}

func scaled(r Result, scale int) Result {
	for i := range r.Corners {
		r.Corners[i] = r.Corners[i].Mul(scale)
	}
	return r
}

// maxSamplesPerPass bounds the work units one pass's finder triples take
// (grey samples to read module grids and search alignment patterns, and
// the flood fills of the finders' rings); with the finder triples a pass
// may try (maxTriples), it bounds the time a frame full of false
// candidates takes. A clean code needs a few tens of thousands, the
// hardest read in the set and the tuning draw about 310,000.
// maxWorkPerFrame bounds a frame's work, fixed work included: at most
// about 20 ms of CPU on a core of the benchmark machine (the units were
// set when binarising cost twice what it does now). A frame that no pass
// reads takes it all. On a 1280×720 frame, the six passes' fixed work
// comes to about 280,000 units (gozxing's finder search runs in the
// first pass only); a frame that passes the screen without a code
// (clutter) takes that, and the floods of the triples its finder-like
// patterns make.
const (
	maxSamplesPerPass = 320_000
	maxWorkPerFrame   = 500_000
)

// frameBudget returns the work units a frame of p may take:
// maxWorkPerFrame, and in proportion to its pixels beyond a 1280×720
// frame's (certificate images of several megapixels), since each pass's
// fixed work grows with them.
func frameBudget(p plane) int {
	return max(maxWorkPerFrame, int(int64(maxWorkPerFrame)*int64(p.w*p.h)/(1280*720)))
}

// The work of a frame is counted in units of about the time one grey
// sample takes (see decodeGrey). The fixed steps of a pass are charged
// per pixel of their plane, at these many pixels per unit.
const (
	pixelsPerUnitRead      = 32 // a pass over a plane: block statistics, threshold, smoothing
	pixelsPerUnitFinders   = 32 // our finder search
	pixelsPerUnitZXFinders = 64 // gozxing's
	pixelsPerUnitFlood     = 2  // ringCorners' flood fill
	pixelsPerUnitRevisit   = 8  // ringCorners reading a flooded region back
)

const (
	// minHalfSide is the smallest half-scale side worth a pass.
	minHalfSide = 120
	// minHalfModule is the module size, in half-scale pixels, under
	// which the full plane's pass goes before the half plane's, in
	// images of under fullFirstMax pixels: certificate PNGs and
	// screenshots, not camera frames, where the half-scale pass that
	// averages a screen's moiré goes first whatever the module size
	// (full scale first cost moiré frames half as much time again).
	minHalfModule = 3.5
	fullFirstMax  = 640 * 480
	// quarterFirstMin is the image size above which quarterFirst runs:
	// larger than a 1080p camera frame.
	quarterFirstMin = 1920 * 1080
	// normalRange is gozxing's dynamic range below which a block is flat.
	normalRange = 24
	// lowRange keeps faint contrasts.
	lowRange = 6
	// smoothRange keeps fainter ones in a smoothed plane, whose noise is
	// a third of the frame's.
	smoothRange = 3
)

// plane is a grey image in row-major order.
type plane struct {
	pix    []byte
	w, h   int
	stride int
}

// planeOf returns the grey plane of img without copying when possible.
func planeOf(img *image.Gray) (plane, error) {
	if img == nil {
		return plane{}, ErrNoCode
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return plane{}, nil
	}
	if w*h > MaxPixels || w > MaxPixels || h > MaxPixels {
		return plane{}, fmt.Errorf("decode %dx%d image: %w", w, h, ErrImageTooLarge)
	}
	if img.Stride < w || len(img.Pix) < (h-1)*img.Stride+w {
		return plane{}, fmt.Errorf("decode %dx%d image: pixel buffer of %d bytes with stride %d is too short", w, h, len(img.Pix), img.Stride)
	}
	off := img.PixOffset(b.Min.X, b.Min.Y)
	return plane{pix: img.Pix[off:], w: w, h: h, stride: img.Stride}, nil
}

// decodeBits decodes a sampled module grid. The grid passes only if its
// format information and its Reed-Solomon blocks check.
func (d *Decoder) decodeBits(bits *gozxing.BitMatrix) (Result, error) {
	dr, err := d.qr.Decode(bits, d.hints)
	if err != nil {
		return Result{}, ErrNoCode
	}
	version := (bits.GetWidth() - 17) / 4
	payload, err := payloadOf(dr, version)
	if err != nil {
		return Result{}, err
	}
	return Result{
		Payload: payload,
		Version: version,
		ECLevel: dr.GetECLevel(),
	}, nil
}

// payloadOf returns the payload bytes of a decoded code: the segments'
// bytes as written when they can be taken as is, gozxing's text in UTF-8
// otherwise (Kanji, Hanzi, FNC1).
func payloadOf(dr *common.DecoderResult, version int) ([]byte, error) {
	p, err := segmentPayload(dr.GetRawBytes(), version)
	if errors.Is(err, ErrPayloadTooLarge) {
		return nil, fmt.Errorf("decode: %w", err)
	}
	if err != nil {
		p = []byte(dr.GetText())
	}
	if utf8.RuneCount(p) > MaxPayload {
		return nil, fmt.Errorf("decode: %d bytes: %w", len(p), ErrPayloadTooLarge)
	}
	return p, nil
}
