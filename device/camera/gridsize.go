package camera

import (
	"math"
	mbits "math/bits"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/common"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
	"github.com/makiuchi-d/gozxing/qrcode/detector"
)

// gozxing's detector takes a code's size from the distance between the
// finder patterns over its module-size estimate. Where modules span two
// or three pixels, or the image was scaled by a non-integer factor, that
// estimate is a few percent off: for a version 17 to 21 code it gives the
// neighbouring version, or a size no version has (the detector then
// gives up), and no threshold reads a grid of the wrong size. From
// version 7 on, a code spells out its version twice, in 6×3-module blocks
// beside the top-right and bottom-left finders, in a BCH code that
// corrects three wrong bits of 18 (ISO/IEC 18004, 7.10); ZXing-C++ reads
// it the same way. Each block lies within seven modules of a finder's
// centre, so the module size of the finders places it well enough.

// zxGrid samples the black matrix m through the finder patterns of info
// and decodes the grid: first as gozxing's detector sizes it, then at
// the size the code's version information gives when that differs. It
// returns the transform and size to resample the grey image with when
// no grid decodes, or a nil transform when there is none, and whether
// that size is gozxing's guess, which no version information confirmed
// (small codes carry none): its neighbours are then worth a try.
func (d *Decoder) zxGrid(m *gozxing.BitMatrix, info *detector.FinderPatternInfo) (r Result, t *common.PerspectiveTransform, dim int, guess, ok bool) {
	tl, tr, bl := info.GetTopLeft(), info.GetTopRight(), info.GetBottomLeft()
	det, err := detector.NewDetector(m).ProcessFinderPatternInfo(info)
	if err == nil {
		// gozxing sampled a grid of dim×dim modules: charged as the
		// grids sampled on the black matrix below, a unit a module,
		// once it is known how many there were.
		d.charged(det.GetBits().GetWidth() * det.GetBits().GetHeight())
		if r, err := d.decodeBits(det.GetBits()); err == nil {
			r.Corners = cornersOf(bl, tl, tr)
			return r, nil, 0, false, true
		}
		dim = det.GetBits().GetWidth()
		var align *detector.AlignmentPattern
		if pts := det.GetPoints(); len(pts) > 3 {
			align, _ = pts[3].(*detector.AlignmentPattern)
		}
		t = detector.Detector_createTransform(tl, tr, bl, align, dim)
	}
	ms := (tl.GetEstimatedModuleSize() + tr.GetEstimatedModuleSize() + bl.GetEstimatedModuleSize()) / 3
	vdim := versionDim(m, vecOf(tl), vecOf(tr), vecOf(bl), ms)
	switch {
	case vdim == 0:
		return Result{}, t, dim, t != nil, false
	case vdim == dim:
		return Result{}, t, dim, false, false
	case !d.spend(vdim * vdim):
		return Result{}, nil, 0, false, false
	}
	vt := zxTransform(m, tl, tr, bl, ms, vdim)
	if bits, err := detector.Detector_sampleGrid(m, vt, vdim); err == nil {
		if r, err := d.decodeBits(bits); err == nil {
			r.Corners = cornersOf(bl, tl, tr)
			return r, nil, 0, false, true
		}
	}
	return Result{}, vt, vdim, false, false
}

// zxTransform is gozxing's transform for a code of dim modules whose
// finder patterns are tl, tr and bl, with the alignment pattern searched
// where gozxing's detector searches it.
func zxTransform(m *gozxing.BitMatrix, tl, tr, bl gozxing.ResultPoint, ms float64, dim int) *common.PerspectiveTransform {
	var align *detector.AlignmentPattern
	if dim > 21 {
		// Three modules in from where a fourth finder would sit.
		f := 1 - 3/float64(dim-7)
		ex := tl.GetX() + f*(tr.GetX()-tl.GetX()+bl.GetX()-tl.GetX())
		ey := tl.GetY() + f*(tr.GetY()-tl.GetY()+bl.GetY()-tl.GetY())
		for k := 4.0; k <= 16 && align == nil; k *= 2 {
			r := int(k * ms)
			x0, y0 := max(0, int(ex)-r), max(0, int(ey)-r)
			x1, y1 := min(m.GetWidth()-1, int(ex)+r), min(m.GetHeight()-1, int(ey)+r)
			if float64(x1-x0) < 3*ms || float64(y1-y0) < 3*ms {
				break
			}
			align, _ = detector.NewAlignmentPatternFinder(m, x0, y0, x1-x0, y1-y0, ms, nil).Find()
		}
	}
	return detector.Detector_createTransform(tl, tr, bl, align, dim)
}

// versionDim reads the version information of the code whose finder
// patterns are centred at tl, tr and bl, with modules of about ms pixels,
// from the black matrix m, and returns the code's size in modules; 0 when
// the code looks smaller than version 7 or no block reads. A version is
// taken when a block read with the module pitch the finders give decodes
// to it and reads the same again with the pitch that version implies.
func versionDim(m *gozxing.BitMatrix, tl, tr, bl vec, ms float64) int {
	if ms <= 0 {
		return 0
	}
	du, dv := tr.sub(tl), bl.sub(tl)
	crude := (du.norm()+dv.norm())/(2*ms) + 7
	if crude < 17+4*6 {
		return 0
	}
	read := func(dim float64) int {
		u, v := du.scale(1/(dim-7)), dv.scale(1/(dim-7))
		// Beside the top-right finder, then beside the bottom-left one
		// (its transpose). In a mirrored code the two blocks swap
		// places, and the axes from the top-left finder swap with
		// them, so the same two reads serve.
		for _, b := range [2]struct {
			c    vec
			a, o vec
		}{{tr, u, v}, {bl, v, u}} {
			if ver := readVersionBlock(m, b.c, b.a, b.o); ver > 0 {
				return ver
			}
		}
		return 0
	}
	ver := read(crude)
	if ver == 0 {
		return 0
	}
	dim := 17 + 4*ver
	if read(float64(dim)) != ver {
		return 0
	}
	return dim
}

// readVersionBlock reads the 18 bits of a version information block
// beside the finder centred at c and returns the version they spell with
// at most three wrong bits, or 0. The block's three columns lie 5 to 7
// module steps a from the finder's centre, its six rows −3 to 2 steps o
// (for the top-right finder, a and o are the code's x and y axes; for
// the bottom-left one, its y and x axes).
func readVersionBlock(m *gozxing.BitMatrix, c, a, o vec) int {
	w, h := m.GetWidth(), m.GetHeight()
	word := uint(0)
	// ISO/IEC 18004's order, as gozxing's BitMatrixParser reads it:
	// rows 5 to 0 of the block, each from the column nearest the finder.
	for j := 5; j >= 0; j-- {
		for i := -5; i >= -7; i-- {
			p := c.add(a.scale(float64(i))).add(o.scale(float64(j - 3)))
			x, y := int(math.Floor(p.x)), int(math.Floor(p.y))
			if x < 0 || y < 0 || x >= w || y >= h {
				return 0
			}
			word <<= 1
			if m.Get(x, y) {
				word |= 1
			}
		}
	}
	best, bestVer := 4, 0
	for k, code := range decoder.VERSION_DECODE_INFO {
		if n := mbits.OnesCount(word ^ uint(code)); n < best {
			best, bestVer = n, k+7
		}
	}
	return bestVer
}
