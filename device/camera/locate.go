package camera

import (
	"image"
	"math"
	mbits "math/bits"
	"sort"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/common"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// Locating a code goes beyond gozxing's detector in three ways:
//
//   - When gozxing's detector finds the finder patterns but its module grid
//     does not decode, the grid is sampled again from the grey image with
//     locally adaptive thresholds (blur and uneven light).
//   - The outer squares of the three finder patterns give twelve corners,
//     enough for a full perspective transform without guessing the fourth
//     corner of the code; the code's size follows from the cross-ratio of
//     the corners along its edges; alignment patterns refine the fit.
//   - Other triples of finder candidates are tried when the best one
//     fails (distractors, moiré).
//
// Every grid goes through gozxing's decoder, whose format-information BCH
// check and Reed-Solomon correction reject a grid that is not a code.

// vec is a point or direction in image coordinates.
type vec struct{ x, y float64 }

func (a vec) sub(b vec) vec       { return vec{a.x - b.x, a.y - b.y} }
func (a vec) add(b vec) vec       { return vec{a.x + b.x, a.y + b.y} }
func (a vec) dot(b vec) float64   { return a.x*b.x + a.y*b.y }
func (a vec) scale(f float64) vec { return vec{a.x * f, a.y * f} }
func (a vec) norm() float64       { return math.Hypot(a.x, a.y) }
func (a vec) unit() vec {
	n := a.norm()
	if n == 0 {
		return a
	}
	return a.scale(1 / n)
}

func vecOf(p gozxing.ResultPoint) vec { return vec{p.GetX(), p.GetY()} }

func pt(v vec) image.Point { return image.Pt(int(math.Round(v.x)), int(math.Round(v.y))) }

func cornersOf(bl, tl, tr gozxing.ResultPoint) []image.Point {
	return []image.Point{pt(vecOf(bl)), pt(vecOf(tl)), pt(vecOf(tr))}
}

// finder is a finder pattern candidate.
type finder struct {
	c   vec
	ms  float64 // estimated module size
	cnt int
}

// locateMatrix finds and decodes a code in the black matrix m of plane p,
// whose words binarize kept (and flipped with m), or nil to copy them
// from m (see bitRows).
//
// With inv set, m is the flipped black matrix of a light-on-dark code and
// p is the original plane, so grey samples are read inverted.
// In the frame's first pass gozxing's own finder search and detector run
// first: they read most codes, and our search would only add to their
// time. Then our own finder search runs, and the grids of its likeliest
// triples are read on the black matrix through gozxing's detector (its
// alignment-pattern search reads faint and inverted codes that our corner
// fit misses). Every grid read on the black matrix (gozxing's triple, our
// likeliest triples, neighbouring sizes) goes before any grey
// resampling, which costs five samples a module. The finder searches are
// charged to the frame's work; the grey samples and floods of the
// triples tried may take what is left of it beyond reserve (the fixed
// work of the passes to come), up to maxSamplesPerPass.
func (d *Decoder) locateMatrix(m *gozxing.BitMatrix, words []uint32, p plane, inv bool, reserve int) (Result, bool) {
	px := m.GetWidth() * m.GetHeight()
	first := d.passes == 0
	fixed := px / pixelsPerUnitFinders
	if first {
		fixed += px / pixelsPerUnitZXFinders
	}
	d.work = max(0, min(maxSamplesPerPass, d.frameWork-fixed-reserve))
	start := d.work
	defer func() { d.frameWork -= start - d.work }()
	d.passes++
	d.fill.forget()
	var zx zxTry
	if first {
		d.charge(px / pixelsPerUnitZXFinders)
		if r, ok := d.locateZX(m, &zx); ok {
			return r, true
		}
	}
	d.charge(px / pixelsPerUnitFinders)
	d.bits.use(m, words)
	cands := d.searchFinders()
	// The grids of our own candidates' likeliest triples, on the black
	// matrix, before any grey resampling. In the first pass they follow
	// gozxing's triple when it did not decode: gozxing's finder search
	// stops at the first three confirmed candidates of one size, and a
	// finder-like pattern in the data of a large code can be one of them.
	// In later passes they take the place of gozxing's finder search,
	// which weighs every triple of its own candidates and read no code
	// that these triples did not (and a matrix full of finder-like
	// texture, a screen's moiré, took it tens of milliseconds).
	if !first || zx.info != nil {
		if r, ok := d.locateOwnZX(m, cands, &zx); ok {
			return r, true
		}
	}
	if zx.sized {
		// gozxing sized the code, and no version information said
		// otherwise: a module-size estimate a few percent off gives
		// the neighbouring version (small or rotated codes).
		if r, ok := d.decodeNeighbourSizes(m, zx.info, zx.dim); ok {
			return r, true
		}
	}
	if zx.t != nil {
		if r, ok := d.decodeGrey(p, zx.t, zx.dim, inv); ok {
			r.Corners = cornersOf(zx.info.GetBottomLeft(), zx.info.GetTopLeft(), zx.info.GetTopRight())
			return r, true
		}
	}
	return d.locateOwn(m, p, inv, cands)
}

// zxTry is what locateZX tried: gozxing's triple, and the transform and
// size to resample the grey image with when its grid did not decode.
type zxTry struct {
	info *detector.FinderPatternInfo
	t    *common.PerspectiveTransform
	dim  int
	// sized is set when dim is gozxing's estimate, not confirmed by the
	// version information.
	sized bool
}

// locateZX runs gozxing's finder search and reads the grid of the
// triple it picks on the black matrix (see zxGrid); zx records what it
// tried.
func (d *Decoder) locateZX(m *gozxing.BitMatrix, zx *zxTry) (Result, bool) {
	d.searched[1] += m.GetWidth() * m.GetHeight()
	info, err := detector.NewFinderPatternFinder(m, nil).Find(d.hints)
	if err != nil {
		return Result{}, false
	}
	zx.info = info
	r, t, dim, vsized, ok := d.zxGrid(m, info)
	if ok {
		return r, true
	}
	zx.t, zx.dim, zx.sized = t, dim, vsized
	return Result{}, false
}

// locateOwnZX reads, on the black matrix, the grids of the likeliest
// triples of our own finder candidates, at most maxOwnZX of them and not
// the one gozxing picked: those closest to a right isosceles triangle,
// as a code seen from the front shows its finders.
func (d *Decoder) locateOwnZX(m *gozxing.BitMatrix, cands []finder, zx *zxTry) (Result, bool) {
	if len(cands) > maxGeomCandidates {
		cands = cands[:maxGeomCandidates]
	}
	type triple struct {
		o [3]finder
		q float64
	}
	var ts []triple
	for i := 0; i < len(cands); i++ {
		for j := i + 1; j < len(cands); j++ {
			for k := j + 1; k < len(cands); k++ {
				ords := orderings(cands[i], cands[j], cands[k])
				if len(ords) == 0 {
					continue
				}
				// The most right-angled naming; the legs' difference
				// counts as much as the angle's cosine.
				o := ords[0]
				n1, n2 := o[2].c.sub(o[1].c).norm(), o[0].c.sub(o[1].c).norm()
				cos, _ := finderCorner(o[1].c, o[2].c, o[0].c, (o[0].ms+o[1].ms+o[2].ms)/3)
				ts = append(ts, triple{o, cos + math.Abs(n1-n2)/max(n1, n2)})
			}
		}
	}
	sort.Slice(ts, func(i, j int) bool { return ts[i].q < ts[j].q })
	tried := 0
	for _, t := range ts {
		if tried >= maxOwnZX {
			break
		}
		bl, tl, tr := t.o[0], t.o[1], t.o[2]
		if zx.info != nil && sameTriple(zx.info, bl, tl, tr) {
			continue
		}
		tried++
		info := detector.NewFinderPatternInfo(
			detector.NewFinderPattern1(bl.c.x, bl.c.y, bl.ms),
			detector.NewFinderPattern1(tl.c.x, tl.c.y, tl.ms),
			detector.NewFinderPattern1(tr.c.x, tr.c.y, tr.ms))
		if r, _, _, _, ok := d.zxGrid(m, info); ok {
			return r, true
		}
	}
	return Result{}, false
}

// maxOwnZX bounds the triples of our own candidates whose grids are read
// on the black matrix per pass.
const maxOwnZX = 2

// maxGeomCandidates is how many of our own candidates, the most often
// confirmed first, locateOwnZX weighs triples of. Weighing is cheap (no
// grid is read), and the count of confirming rows grows with a
// pattern's size: beside a code, a barcode's bars or large print make
// candidates confirmed on more rows than the code's own small finders,
// which then rank eighth and later, past maxCandidates.
const maxGeomCandidates = 16

// sameTriple reports whether finders bl, tl and tr are those of info, in
// any order, within two modules.
func sameTriple(info *detector.FinderPatternInfo, bl, tl, tr finder) bool {
	zs := [3]*detector.FinderPattern{info.GetBottomLeft(), info.GetTopLeft(), info.GetTopRight()}
	for _, f := range [3]finder{bl, tl, tr} {
		near := false
		for _, z := range zs {
			if vecOf(z).sub(f.c).norm() <= 2*f.ms {
				near = true
			}
		}
		if !near {
			return false
		}
	}
	return true
}

// decodeNeighbourSizes samples the black matrix m through the finder
// patterns of info as a code one version smaller and one larger than
// dim, without an alignment pattern (its place depends on the version).
func (d *Decoder) decodeNeighbourSizes(m *gozxing.BitMatrix, info *detector.FinderPatternInfo, dim int) (Result, bool) {
	for _, n := range [2]int{dim + 4, dim - 4} {
		if n < 21 || n > 177 || !d.spend(n*n) {
			continue
		}
		t := detector.Detector_createTransform(info.GetTopLeft(), info.GetTopRight(), info.GetBottomLeft(), nil, n)
		bits, err := common.GridSampler_GetInstance().SampleGridWithTransform(m, n, n, t)
		if err != nil {
			continue
		}
		if r, err := d.decodeBits(bits); err == nil {
			r.Corners = cornersOf(info.GetBottomLeft(), info.GetTopLeft(), info.GetTopRight())
			return r, true
		}
	}
	return Result{}, false
}

// locateOwn tries triples of cands, the finder candidates of our own
// search in m.
func (d *Decoder) locateOwn(m *gozxing.BitMatrix, p plane, inv bool, cands []finder) (Result, bool) {
	if len(cands) < 3 {
		return Result{}, false
	}
	if len(cands) > maxCandidates {
		cands = cands[:maxCandidates]
	}
	tried := 0
	for i := 0; i < len(cands); i++ {
		for j := i + 1; j < len(cands); j++ {
			for k := j + 1; k < len(cands); k++ {
				for _, o := range orderings(cands[i], cands[j], cands[k]) {
					if tried++; tried > maxTriples || d.work <= 0 {
						return Result{}, false
					}
					if r, ok := d.decodeCorners(m, p, inv, o[0], o[1], o[2]); ok {
						r.Corners = []image.Point{pt(o[0].c), pt(o[1].c), pt(o[2].c)}
						return r, true
					}
				}
			}
		}
	}
	return Result{}, false
}

// minTimingScore is the least timing score (see timingScore) of a grid
// that decodeCorners reads. A wrong triple or size reads data modules
// where the timing patterns should be, and scores about zero give or take
// the noise of their mean, about 1/√n of the finder's contrast for n
// timing modules: 0.1-0.2 for the versions most grids are tried at. Each
// such grid costs its grey samples, alignment searches and deblurring,
// tens of thousands of work units, and starves the passes after it: a
// clean version 12 code whose own grid scored 0.85 in the full-scale
// pass was left without the work to read it. In the independent
// generator's draws, grids scoring under 0.08 were a quarter of those
// read in vain and took 31 % of their work; of 531 grids that decoded,
// none scored under 0.09. A code blurred by two thirds of a module,
// which deblur reads (TestDeblurReadsBlurredFrames), scores 0.08-0.09:
// the blur takes the one-module timing pattern's contrast down faster
// than the finder's three-module core's, so the bound cannot be higher.
const minTimingScore = 0.08

// maxCandidates bounds the candidates, the most often confirmed first,
// whose triples locateOwn fits (maxTriples of them at most).
const (
	maxCandidates = 7
	maxTriples    = 12
)

// orderings returns the plausible ways to name three candidates
// bottom-left, top-left and top-right, most right-angled at the top-left
// first. Under strong perspective the top-left need not face the longest
// side, as gozxing assumes, so every corner is tried.
func orderings(a, b, c finder) [][3]finder {
	lo := min(a.ms, b.ms, c.ms)
	hi := max(a.ms, b.ms, c.ms)
	if lo <= 0 || hi > maxFinderSizeRatio*lo {
		return nil
	}
	ms := (a.ms + b.ms + c.ms) / 3
	type cand struct {
		o   [3]finder
		cos float64
	}
	var cs []cand
	for _, t := range [3][3]finder{{a, b, c}, {b, c, a}, {c, a, b}} {
		tl, p, q := t[0], t[1], t[2]
		cos, ok := finderCorner(tl.c, p.c, q.c, ms)
		if !ok {
			continue
		}
		// Top-right and bottom-left as the cross product says; the
		// decoder also reads mirrored codes.
		d1, d2 := p.c.sub(tl.c), q.c.sub(tl.c)
		tr, bl := p, q
		if d1.x*d2.y-d1.y*d2.x < 0 {
			tr, bl = q, p
		}
		cs = append(cs, cand{[3]finder{bl, tl, tr}, cos})
	}
	sort.Slice(cs, func(i, j int) bool { return cs[i].cos < cs[j].cos })
	out := make([][3]finder, len(cs))
	for i, c := range cs {
		out[i] = c.o
	}
	return out
}

// maxFinderSizeRatio bounds the ratio of the module sizes of the finder
// patterns of one code (perspective makes the near one larger).
const maxFinderSizeRatio = 2.2

// finderCorner reports whether finder centres p and q could be the
// top-right and bottom-left of a code whose top-left is at tl, for a
// module size of ms measured along rows and columns: both at least 10
// and at most 250 modules from tl (a version 1 code's centres are 14
// apart, a version 40's 170), within a factor 3 of each other, and the
// angle at tl within 45°–135° (strong perspective and shear). It returns
// the angle's |cos|, 0 for a right angle.
//
// A finder's runs along a row or a column cross it at the code's
// rotation, so they measure modules 1/cos of it too large (√2 at 45°);
// the sides from tl give the rotation, and the module size is corrected
// by it before the distances are judged. Uncorrected, a version 1 or 2
// code turned more than about 30° failed the test.
func finderCorner(tl, p, q vec, ms float64) (float64, bool) {
	d1, d2 := p.sub(tl), q.sub(tl)
	n1, n2 := d1.norm(), d2.norm()
	if n1 == 0 || n2 == 0 {
		return 0, false
	}
	// cos of the rotation folded into 0°–45°, from the longer side.
	d, n := d1, n1
	if n2 > n1 {
		d, n = d2, n2
	}
	ms *= max(math.Abs(d.x), math.Abs(d.y)) / n
	if n1 < 10*ms || n2 < 10*ms || n1 > 250*ms || n2 > 250*ms || n1 > 3*n2 || n2 > 3*n1 {
		return 0, false
	}
	cos := math.Abs(d1.dot(d2) / (n1 * n2))
	return cos, cos <= 0.71
}

// decodeCorners fits a perspective transform to the outer corners of the
// three finder patterns and decodes the grid it samples.
func (d *Decoder) decodeCorners(m *gozxing.BitMatrix, p plane, inv bool, bl, tl, tr finder) (Result, bool) {
	u := tr.c.sub(tl.c).unit()
	v := bl.c.sub(tl.c).unit()
	var rings [3][4]vec
	for i, f := range []finder{tl, tr, bl} {
		cs, ok := d.ringCorners(m, f, u, v)
		if !ok {
			return Result{}, false
		}
		rings[i] = cs
	}
	ms := (bl.ms + tl.ms + tr.ms) / 3
	crude := (tr.c.sub(tl.c).norm()+bl.c.sub(tl.c).norm())/(2*ms) + 7
	type fit struct {
		dim   int
		h     homography
		score float64
	}
	var fits []fit
	for ver := 1; ver <= 40; ver++ {
		dim := 17 + 4*ver
		if float64(dim) < 0.6*crude || float64(dim) > 1.6*crude {
			continue
		}
		cs := finderCorrespondences(rings, []finder{tl, tr, bl}, dim)
		h, ok := fitHomography(cs)
		if !ok {
			continue
		}
		// The corners fit the neighbouring sizes about as well as the
		// code's own, and fit any size through a wrong triple: the
		// timing patterns tell the size, and whether these are a
		// code's finders at all (see timingScore). A grid whose timing
		// modules are lighter where they should be light by less than
		// minTimingScore is not read.
		if !d.spend(2*dim + 5) {
			break
		}
		if sc, ok := timingScore(p, h, dim, inv); ok && sc >= minTimingScore {
			fits = append(fits, fit{dim, h, sc})
		}
	}
	sort.Slice(fits, func(i, j int) bool { return fits[i].score > fits[j].score })
	for i, f := range fits {
		if i >= 3 {
			break
		}
		cs := finderCorrespondences(rings, []finder{tl, tr, bl}, f.dim)
		ver := (f.dim - 17) / 4
		// The perspective fit, refined by alignment patterns where the
		// code has them.
		if r, ok := d.decodeRefined(m, p, inv, f.h, cs, ver); ok {
			return r, true
		}
		if i > 0 {
			continue
		}
		// The corners sit at three corners of the code, so the fit's
		// perspective terms extrapolate poorly to the fourth when the
		// corners are blurred. An affine fit does not extrapolate
		// perspective; alignment patterns found through it give a
		// better perspective fit.
		if ha, ok := fitAffine(cs); ok {
			if r, ok := d.decodeRefined(m, p, inv, ha, cs, ver); ok {
				return r, true
			}
		}
	}
	return Result{}, false
}

// decodeRefined decodes the grid of h and, for codes with alignment
// patterns, of h refined by the alignment patterns found through it.
func (d *Decoder) decodeRefined(m *gozxing.BitMatrix, p plane, inv bool, h homography, cs []correspondence, ver int) (Result, bool) {
	dim := 17 + 4*ver
	if ver >= 2 {
		extra := d.findAlignments(m, h, ver)
		if len(extra) == 0 {
			extra = d.greyAlignments(p, h, ver, inv)
		}
		if len(extra) > 0 {
			if h2, ok := fitHomography(append(cs, extra...)); ok {
				if r, ok := d.decodeGrey(p, &h2, dim, inv); ok {
					return r, true
				}
			}
		}
	}
	return d.decodeGrey(p, &h, dim, inv)
}

// greyAlignments looks for the alignment patterns of version ver in the
// grey image, by the contrast of their 5×5-module template (dark centre,
// light ring, dark ring) at offsets of up to 1.5 modules from where h puts
// them. Binarisation loses small alignment patterns in blurred frames;
// the template does not.
func (d *Decoder) greyAlignments(p plane, h homography, ver int, inv bool) []correspondence {
	v, err := decoder.Version_GetVersionForNumber(ver)
	if err != nil {
		return nil
	}
	sampleAt := func(u, w float64) (float64, bool) { return moduleGrey(p, h, inv, u, w) }
	// The contrast of the top-left finder: light ring minus dark core.
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
	var lat [alignLattice * alignLattice]float32
	for _, cy := range centres {
		for _, cx := range centres {
			if (cx < 9 && cy < 9) || (cx > dim-10 && cy < 9) || (cx < 9 && cy > dim-10) {
				continue
			}
			// Charged as 25 samples at each of the 13×13 offsets, as
			// when each was read on its own, though the lattice reads
			// 841: the budget decides as it did, in less time.
			if !d.spend(13 * 13 * 25) {
				return out
			}
			u0, w0 := float64(cx)+0.5, float64(cy)+0.5
			// The template's 25 points at the 13×13 offsets fall on a
			// lattice of 29×29 points a quarter module apart: each is
			// read once (the arithmetic is exact, multiples of a
			// quarter, so the points are those read one by one).
			for a := range alignLattice {
				for b := range alignLattice {
					g, in := sampleAt(u0+float64(b)/4-3.5, w0+float64(a)/4-3.5)
					lat[a*alignLattice+b] = float32(g)
					if !in {
						lat[a*alignLattice+b] = -1
					}
				}
			}
			best, bu, bw := math.Inf(-1), 0.0, 0.0
			for dv := -1.5; dv <= 1.5; dv += 0.25 {
				for du := -1.5; du <= 1.5; du += 0.25 {
					var dark, lite float64
					ok := true
					// The lattice point of template point (i, j).
					o := int(4*(dv+1.5))*alignLattice + int(4*(du+1.5))
					for j := -2; j <= 2 && ok; j++ {
						for i := -2; i <= 2; i++ {
							g := lat[o+4*(j+2)*alignLattice+4*(i+2)]
							if g < 0 {
								ok = false
								break
							}
							if max(abs(i), abs(j)) == 1 {
								lite += float64(g)
							} else {
								dark += float64(g)
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

// alignLattice is the side of the lattice of points greyAlignments
// reads around an alignment pattern: offsets of −1.5 to 1.5 modules in
// quarters, plus the template's ±2 modules.
const alignLattice = 29

func abs(i int) int {
	if i < 0 {
		return -i
	}
	return i
}

// finderCorrespondences pairs the finders' centres and outer corners with
// their places in a code of dim modules.
func finderCorrespondences(rings [3][4]vec, fs []finder, dim int) []correspondence {
	origins := [3]vec{{0, 0}, {float64(dim - 7), 0}, {0, float64(dim - 7)}}
	var cs []correspondence
	for i, o := range origins {
		for k, c := range rings[i] {
			su, sv := cornerSigns(k)
			cs = append(cs, correspondence{o.x + 3.5 + 3.5*su, o.y + 3.5 + 3.5*sv, c.x, c.y})
		}
		c := fs[i].c
		cs = append(cs, correspondence{o.x + 3.5, o.y + 3.5, c.x, c.y}, correspondence{o.x + 3.5, o.y + 3.5, c.x, c.y})
	}
	return cs
}

// cornerSigns gives the corner k's direction along the code's axes.
func cornerSigns(k int) (su, sv float64) {
	su, sv = -1, -1
	if k&1 != 0 {
		su = 1
	}
	if k&2 != 0 {
		sv = 1
	}
	return su, sv
}

// findAlignments looks for the alignment patterns of version ver where h
// puts them and returns those it finds, twice each (they weigh more than
// a corner).
func (d *Decoder) findAlignments(m *gozxing.BitMatrix, h homography, ver int) []correspondence {
	v, err := decoder.Version_GetVersionForNumber(ver)
	if err != nil {
		return nil
	}
	centres := v.GetAlignmentPatternCenters()
	dim := 17 + 4*ver
	var out []correspondence
	for _, cy := range centres {
		for _, cx := range centres {
			// Skip the three that would overlap the finder patterns.
			if (cx < 9 && cy < 9) || (cx > dim-10 && cy < 9) || (cx < 9 && cy > dim-10) {
				continue
			}
			u, w := float64(cx)+0.5, float64(cy)+0.5
			x, y := h.apply(u, w)
			x1, y1 := h.apply(u+1, w)
			x2, y2 := h.apply(u, w+1)
			ms := (math.Hypot(x1-x, y1-y) + math.Hypot(x2-x, y2-y)) / 2
			if ms < 1 || math.IsNaN(ms) {
				continue
			}
			r := int(3.5*ms) + 2
			x0, y0 := max(0, int(x)-r), max(0, int(y)-r)
			xe, ye := min(m.GetWidth()-1, int(x)+r), min(m.GetHeight()-1, int(y)+r)
			if xe-x0 < int(3*ms) || ye-y0 < int(3*ms) {
				continue
			}
			ap, err := detector.NewAlignmentPatternFinder(m, x0, y0, xe-x0, ye-y0, ms, nil).Find()
			if err != nil {
				continue
			}
			if math.Hypot(ap.GetX()-x, ap.GetY()-y) > 2.5*ms {
				continue
			}
			c := correspondence{u, w, ap.GetX(), ap.GetY()}
			out = append(out, c, c)
		}
	}
	return out
}

// ringCorners floods the outer dark ring of a finder pattern in m and
// returns its four outermost points along the code's diagonals, in the
// order (−u−v, +u−v, −u+v, +u+v).
func (d *Decoder) ringCorners(m *gozxing.BitMatrix, f finder, u, v vec) ([4]vec, bool) {
	var out [4]vec
	w, h := m.GetWidth(), m.GetHeight()
	cx, cy := int(f.c.x), int(f.c.y)
	if cx < 0 || cy < 0 || cx >= w || cy >= h || !m.Get(cx, cy) {
		return out, false
	}
	// Walk away from the code (−u) across the core and the light ring
	// to the dark outer ring.
	dir := u.scale(-1)
	pos := f.c
	state := 0 // 0 core, 1 light ring
	sx, sy := -1, -1
	for step := 0; step < int(6*f.ms)+4; step++ {
		pos = pos.add(dir)
		x, y := int(pos.x), int(pos.y)
		if x < 0 || y < 0 || x >= w || y >= h {
			return out, false
		}
		dark := m.Get(x, y)
		if state == 0 && !dark {
			state = 1
		} else if state == 1 && dark {
			sx, sy = x, y
			break
		}
	}
	if sx < 0 {
		return out, false
	}
	limit := int(80*f.ms*f.ms) + 64
	if d.work <= 0 {
		return out, false
	}
	dirs := [4]vec{u.scale(-1).sub(v), u.sub(v), v.sub(u), u.add(v)}
	// Every triple with this finder floods its ring again, and rings
	// join other candidates' (a ring touching data modules): a region
	// flooded whole in this pass is read back from its pixels instead.
	var r floodRegion
	switch e, found := d.fill.flooded(m, sx, sy); {
	case found && e.whole && e.n > limit, found && !e.whole && e.limit >= limit:
		// The region is larger than this finder's limit.
		return out, false
	case found && e.whole:
		r = e
		d.fill.revisited += e.n
		d.work = max(0, d.work-e.n/pixelsPerUnitRevisit)
	default:
		if d.bits.m != m {
			d.bits.load(m)
		}
		var ok bool
		r, ok = d.fill.flood(&d.bits, sx, sy, limit)
		d.work = max(0, d.work-r.n/pixelsPerUnitFlood)
		if !ok {
			return out, false
		}
	}
	if r.n < 8 {
		return out, false
	}
	// The region's outermost pixels along the diagonals, the first
	// of equals in the order the flood visited them.
	best := [4]float64{-1e18, -1e18, -1e18, -1e18}
	for _, i := range d.fill.pix[r.off : r.off+r.n] {
		q := vec{float64(int(i)%w) + 0.5, float64(int(i)/w) + 0.5}.sub(f.c)
		for k, dk := range dirs {
			if s := q.dot(dk); s > best[k] {
				best[k] = s
				out[k] = q
			}
		}
	}
	for k := range out {
		// Move from the pixel's centre to its outer corner.
		sxk, syk := 0.5, 0.5
		if dirs[k].x < 0 {
			sxk = -0.5
		}
		if dirs[k].y < 0 {
			syk = -0.5
		}
		out[k] = f.c.add(out[k]).add(vec{sxk, syk})
	}
	// The ring must surround the centre: its corners on both sides.
	if out[0].sub(f.c).dot(dirs[0]) <= 0 || out[3].sub(f.c).dot(dirs[3]) <= 0 ||
		out[1].sub(f.c).dot(dirs[1]) <= 0 || out[2].sub(f.c).dot(dirs[2]) <= 0 {
		return out, false
	}
	return out, true
}

// filler floods dark regions of a black matrix, reusing its marks.
//
// It keeps the floods of one matrix (see forget): a region's pixels are
// marked with its flood's generation, so a later flood starting in a
// region flooded whole reads the pixels kept instead, and one
// starting in a region that overran a limit knows it will again.
type filler struct {
	mark      []uint32
	gen       uint32
	stack     []int32
	seen      []uint32 // the pixels pushed in a flood, cleared after it
	touched   []int32  // the words of seen set in a flood
	visited   int      // pixels visited by floods, for tests
	revisited int      // pixels of whole regions read back, for tests

	// The floods since forget: floods[g-base] is generation g's.
	base   uint32
	floods []floodRegion
	pix    []int32 // the pixels of the whole regions, in visit order
	w      int     // width of the matrix flooded
}

// floodRegion is what one flood found: with whole set, a region of n
// pixels, pix[off:off+n]; without, a region larger than limit.
type floodRegion struct {
	whole  bool
	off, n int
	limit  int
}

// forget drops the floods kept: the matrix is about to change.
func (f *filler) forget() {
	f.base = f.gen + 1
	f.floods = f.floods[:0]
	f.pix = f.pix[:0]
}

// flooded returns the region a flood of m found at (x, y) since forget.
func (f *filler) flooded(m *gozxing.BitMatrix, x, y int) (floodRegion, bool) {
	w, h := m.GetWidth(), m.GetHeight()
	if len(f.floods) == 0 || w != f.w || len(f.mark) != w*h {
		return floodRegion{}, false
	}
	g := f.mark[y*w+x]
	if g < f.base || g-f.base >= uint32(len(f.floods)) {
		return floodRegion{}, false
	}
	return f.floods[g-f.base], true
}

// flood floods the 8-connected dark region of b at (x, y), up to limit
// pixels. It returns the region, whose pixels it keeps in the order
// visited (depth first, the neighbours above, beside and below in turn,
// each row left to right), and false when the region exceeds limit; the
// region's n is then limit+1, the pixels visited.
func (f *filler) flood(b *bitRows, x, y, limit int) (floodRegion, bool) {
	w, h := b.w, b.h
	if cap(f.mark) < w*h {
		f.mark = make([]uint32, w*h)
		f.gen = 0
		f.forget()
	}
	// Marks left by other image sizes hold older generations.
	f.mark = f.mark[:w*h]
	if f.w != w {
		f.forget()
		f.w = w
	}
	f.gen++
	if f.gen == 0 {
		clear(f.mark)
		f.gen = 1
		f.forget()
		f.base = 1
	}
	if f.gen != f.base+uint32(len(f.floods)) {
		// A generation not kept (none is skipped since forget).
		f.forget()
		f.base = f.gen
	}
	gen, mark, words, stride := f.gen, f.mark, b.words, b.stride
	// seen has the bits of the pixels pushed in this flood, in the
	// layout of words; the words touched are cleared after it.
	if len(f.seen) != len(words) {
		f.seen = make([]uint32, len(words))
	}
	seen, touched := f.seen, f.touched[:0]
	defer func() {
		for _, k := range touched {
			seen[k] = 0
		}
		f.touched = touched
	}()
	off := len(f.pix)
	// The stack holds a pixel's x and y.
	st := append(f.stack[:0], int32(x), int32(y))
	mark[y*w+x] = gen
	seen[y*stride+x>>5] |= 1 << (uint(x) & 31)
	touched = append(touched, int32(y*stride+x>>5))
	n := 0
	for len(st) > 0 {
		px, py := int(st[len(st)-2]), int(st[len(st)-1])
		st = st[:len(st)-2]
		if n++; n > limit {
			f.stack = st
			f.pix = f.pix[:off]
			f.visited += n
			r := floodRegion{n: n, limit: limit}
			f.floods = append(f.floods, r)
			return r, false
		}
		f.pix = append(f.pix, int32(py*w+px))
		// The columns px-1 to px+1 that lie in the matrix, as bits 0
		// to 2, and where they start in a row's words.
		cols := uint64(7)
		if px+1 >= w {
			cols = 3
		}
		k, sh := 0, uint(0)
		if px > 0 {
			k, sh = (px-1)>>5, uint(px-1)&31
		} else {
			cols &^= 1
		}
		two := sh > 29 && k+1 < stride // the three bits span two words
		for yy, y1 := max(py-1, 0), min(py+1, h-1); yy <= y1; yy++ {
			// The dark pixels not pushed yet (px's own was).
			i := yy*stride + k
			bits := uint64(words[i] &^ seen[i])
			if two {
				bits |= uint64(words[i+1]&^seen[i+1]) << 32
			}
			if px > 0 {
				bits >>= sh
			} else {
				bits <<= 1
			}
			bits &= cols
			for bits != 0 {
				xx := px + mbits.TrailingZeros64(bits) - 1
				bits &= bits - 1
				mark[yy*w+xx] = gen
				j := yy*stride + xx>>5
				seen[j] |= 1 << (uint(xx) & 31)
				touched = append(touched, int32(j))
				st = append(st, int32(xx), int32(yy))
			}
		}
	}
	f.stack = st
	f.visited += n
	r := floodRegion{whole: true, off: off, n: n, limit: limit}
	f.floods = append(f.floods, r)
	return r, true
}

// spend takes n grey samples from the pass's work allowance and reports
// whether there were enough left.
func (d *Decoder) spend(n int) bool {
	if d.work < n {
		d.work = 0
		return false
	}
	d.work -= n
	d.samples += n
	return true
}

// charged takes n work units already spent, where the work could not be
// known before it was done, from the pass's allowance, down to none.
func (d *Decoder) charged(n int) {
	d.work = max(0, d.work-n)
	d.zxGrids += n
}

// decodeGrey samples a dim×dim grid through t from the grey plane and
// tries each threshold mode.
func (d *Decoder) decodeGrey(p plane, t pointMapper, dim int, inv bool) (Result, bool) {
	if dim < 21 || dim > 177 || !d.spend(5*dim*dim) || !d.smp.sample(p, t, dim) {
		return Result{}, false
	}
	var mean *gozxing.BitMatrix
	for mode := 0; mode < numThresh; mode++ {
		if mode == threshSharp {
			d.smp.sharpen(dim)
		}
		m := d.smp.threshold(dim, mode, inv)
		if mode == threshMean {
			mean = m
		}
		if r, err := d.decodeBits(m); err == nil {
			return r, true
		}
	}
	// Undo the blur the code's function patterns show (see deblur),
	// on the values before sharpening.
	d.smp.unsharpen()
	if m, ok := d.smp.deblur(dim, mean, inv, d.spend); ok {
		if r, err := d.decodeBits(m); err == nil {
			return r, true
		}
	}
	return Result{}, false
}

// timingScore reads the timing patterns of a code of dim modules through
// h: the row and the column of modules between the finders, dark and
// light in turn. It returns by how much the modules that should be light
// are lighter on average than those that should be dark, as a share of
// the top-left finder's contrast (its light ring against its core). A
// grid read through the right finders at the right size scores well
// above zero, even blurred; a wrong size drifts across the modules, and
// a wrong triple reads data, both scoring about zero.
func timingScore(p plane, h homography, dim int, inv bool) (float64, bool) {
	at := func(u, v float64) (float64, bool) { return moduleGrey(p, h, inv, u, v) }
	core, ok := at(3.5, 3.5)
	if !ok {
		return 0, false
	}
	light := 0.0
	for _, q := range [4][2]float64{{1.5, 3.5}, {5.5, 3.5}, {3.5, 1.5}, {3.5, 5.5}} {
		g, ok := at(q[0], q[1])
		if !ok {
			return 0, false
		}
		light += g / 4
	}
	var sum [2]float64
	var n [2]int
	for k := 8; k < dim-8; k++ {
		for _, q := range [2][2]float64{{float64(k) + 0.5, 6.5}, {6.5, float64(k) + 0.5}} {
			g, ok := at(q[0], q[1])
			if !ok {
				continue
			}
			sum[k%2] += g
			n[k%2]++
		}
	}
	if n[0] == 0 || n[1] == 0 || light-core <= 0 {
		return 0, false
	}
	return (sum[1]/float64(n[1]) - sum[0]/float64(n[0])) / (light - core), true
}

// moduleGrey returns the grey level of p at module coordinates (u, v)
// through h, inverted for a light-on-dark code, and whether the point
// lies in the plane.
func moduleGrey(p plane, h homography, inv bool, u, v float64) (float64, bool) {
	x, y := h.apply(u, v)
	g, ok := bilinear(p, x, y)
	if inv {
		g = 255 - g
	}
	return float64(g), ok
}
