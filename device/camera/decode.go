package camera

import (
	"errors"
	"fmt"
	"image"
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
	bin     binarizer
	smp     sampler
	fill    filler
	rowBits *gozxing.BitArray
	finders []finder
	work    int // grey samples left to take in this pass
	// frameWork is the grey samples left to take in this frame, passes
	// the passes run on it so far.
	frameWork int
	passes    int
	half      []byte
	quarter   []byte
	smooth    []byte
	screen    screenScratch
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
// It tries, cheapest and likeliest first and stopping at the first code
// that decodes: in an image larger than a 1080p frame, the image at
// quarter scale when the screen finds large modules there (quarterFirst);
// the image at half scale (fast, and it averages noise and
// screen moiré), at full scale (small codes; first in an image smaller
// than a camera frame when the screen's finder patterns say the modules
// would span under minHalfModule pixels at half scale), at half scale inverted
// (gozxing ignores its own inverted hint), with a binarisation that keeps
// contrasts gozxing's binarizer treats as flat (faded codes, dim light)
// at half scale and at full scale after a 3×3 smoothing, and last at
// full scale inverted. At each step gozxing's detector runs first, then
// our own finder search and a perspective fit from the finder patterns'
// corners (see locate.go). The work is bounded per frame: the grey
// samples by maxSamplesPerFrame, the finder triples per pass by
// maxTriples, and gozxing's finder search, which weighs every triple of
// its candidates, runs only on passes with few candidates.
func (d *Decoder) Decode(img *image.Gray) (Result, error) {
	d.init()
	pl, err := planeOf(img)
	if err != nil {
		return Result{}, err
	}
	if pl.w == 0 || pl.h == 0 {
		return Result{}, ErrNoCode
	}
	d.frameWork, d.passes = maxSamplesPerFrame, 0
	// Block statistics kept from the last frame are stale: a source
	// reuses its buffers.
	d.bin.forget()
	var half plane
	haveHalf := pl.w >= 2*minHalfSide && pl.h >= 2*minHalfSide
	if haveHalf {
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
	if !d.noScreen {
		sp := pl
		if haveHalf && pl.w*pl.h > screenFullMax {
			sp = half
		}
		if !d.screen.finderHint(sp) {
			d.screen.rejected++
			return Result{}, ErrNoCode
		}
	}
	d.frameWork, d.passes = maxSamplesPerFrame, 0
	// The passes, cheapest and likeliest first. The half-scale plane
	// averages noise and moiré and is a quarter of the work; the full
	// plane keeps small codes.
	small := pl
	smallScale := 1
	if haveHalf {
		small, smallScale = half, 2
	}
	//
	// In an image smaller than a camera frame, when the screen measured
	// the finder patterns and their modules would span under
	// minHalfModule pixels at half scale (a code filling a certificate's
	// PNG), the full plane goes first: at half scale gozxing's grid does not decode and the
	// grey resampling that reads it costs tens of milliseconds.
	var mFull *gozxing.BitMatrix
	fullFirst := false
	if haveHalf && !d.noScreen && d.screen.ms > 0 && pl.w*pl.h < fullFirstMax {
		// Screened at full scale (fullFirstMax <= screenFullMax).
		fullFirst = d.screen.ms/2 < minHalfModule
	}
	if fullFirst {
		mFull = d.bin.binarize(pl, normalRange)
		if r, ok := d.locateMatrix(mFull, pl, false); ok {
			return r, nil
		}
	}
	m := d.bin.binarize(small, normalRange)
	if r, ok := d.locateMatrix(m, small, false); ok {
		return scaled(r, smallScale), nil
	}
	if haveHalf && !fullFirst {
		mFull = d.bin.binarize(pl, normalRange)
		if r, ok := d.locateMatrix(mFull, pl, false); ok {
			return r, nil
		}
	}
	// Light modules on a dark ground (gozxing ignores its own inverted
	// hint): the same black matrix, flipped.
	m.FlipAll()
	if r, ok := d.locateMatrix(m, small, true); ok {
		return scaled(r, smallScale), nil
	}
	// Faded codes: keep contrasts gozxing's binarizer treats as flat.
	m = d.bin.binarize(small, lowRange)
	if r, ok := d.locateMatrix(m, small, false); ok {
		return scaled(r, smallScale), nil
	}
	if haveHalf {
		// At full scale, smoothed first: noise would break the faint
		// finder rings apart.
		var smooth plane
		d.smooth, smooth = d.bin.smooth3(d.smooth, pl)
		m = d.bin.binarize(smooth, smoothRange)
		if r, ok := d.locateMatrix(m, pl, false); ok {
			return r, nil
		}
	}
	// Last, small inverted codes: the full plane's matrix, flipped.
	if mFull != nil {
		mFull.FlipAll()
		if r, ok := d.locateMatrix(mFull, pl, true); ok {
			return r, nil
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
	d.work = maxSamplesPerPass
	var zx zxTry
	r, ok := d.locateZX(d.bin.binarize(q, normalRange), &zx)
	if !ok {
		return Result{}, false
	}
	return scaled(r, 4), true
}

func scaled(r Result, scale int) Result {
	for i := range r.Corners {
		r.Corners[i] = r.Corners[i].Mul(scale)
	}
	return r
}

// maxSamplesPerPass bounds the grey samples one pass takes to read
// module grids and search alignment patterns; with the finder triples a
// pass may try (maxTriples), it bounds the time a frame full of false
// candidates takes. A clean code needs a few tens of thousands, the
// hardest read in the set and the tuning draw under 300,000. Each pass
// has its own allowance, so that false candidates in an early pass do not
// starve the pass that would read the code, within maxSamplesPerFrame
// for the whole frame: a code too blurred to read would otherwise take
// the full allowance in every pass.
const (
	maxSamplesPerPass  = 400_000
	maxSamplesPerFrame = 450_000
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
