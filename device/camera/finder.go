package camera

import (
	"math"
	mbits "math/bits"
	"sort"

	"github.com/makiuchi-d/gozxing"
)

// findFinders scans the black matrix for finder patterns: a dark, light,
// dark, light, dark run sequence in the ratio 1:1:3:1:1 along a row,
// confirmed along the column through its centre. Unlike gozxing's finder,
// it lets the vertical and horizontal sizes differ (a code turned away
// from the camera is narrower than it is tall) and skips the diagonal
// check (which shear defeats). The ring test in ringCorners and the
// decoder's checks weed out the false candidates this lets through.
//
// It reads m through a copy of its words (see bitRows), which the flood
// fills of the same pass read too; the decoder's passes hand it the words
// their binarisation kept (searchFinders).
func (d *Decoder) findFinders(m *gozxing.BitMatrix) []finder {
	d.bits.load(m)
	return d.searchFinders()
}

// searchFinders is findFinders on the matrix in d.bits.
func (d *Decoder) searchFinders() []finder {
	b := &d.bits
	w, h := b.w, b.h
	d.searched[0] += w * h
	cands := d.finders[:0]
	// Candidates before lo lie far above the rows still to scan: no new
	// candidate can merge with them (see mergeFinder).
	lo, maxMs := 0, 0.0
	// Every other row of a large plane: a finder's centre is three
	// modules tall, so a code whose modules span a pixel still gets a
	// row through it, and each row's runs are confirmed along columns.
	step := 1
	if h >= finderRowStepMin {
		step = 2
	}
	for y := 0; y < h; y += step {
		for lo < len(cands) && cands[lo].c.y < float64(y)-8*maxMs {
			lo++
		}
		row := b.words[y*b.stride:][:b.stride]
		// Collect runs; r4 is the latest, the dark run from x to end. A
		// noisy matrix has a run every pixel or two: the runs shift in
		// by pairs, and the centre run's start is counted back from x.
		var r0, r1, r2, r3, r4 int
		n := 0
		x := nextBit(row, 0, w, 0)
		pe := 0 // end of the previous dark run
		for x < w {
			end := nextBit(row, x, w, ^uint32(0)) // end of the dark run
			// Shift in a light run (if any dark run came before) and this
			// dark run.
			if n > 0 {
				r0, r1, r2, r3, r4 = r2, r3, r4, x-pe, end-x
				n += 2
			} else {
				r4 = end - x
				n++
			}
			pe = end
			// Most runs fail finderRatio's test of the centre run: it
			// goes first, without the call.
			if total := r0 + r1 + r2 + r3 + r4; n >= 5 && 70*r2 >= 20*total && 70*r2 <= 46*total {
				if ms, ok := finderRatio([5]int{r0, r1, r2, r3, r4}); ok {
					cx := float64(x-r3-r2) + float64(r2)/2
					if f, ok := confirmVertical(b, cx, y, total, ms); ok && confirmHorizontal(b, &f, total) {
						cands = mergeFinder(cands, lo, f)
						maxMs = max(maxMs, f.ms)
					}
				}
			}
			if end >= w {
				break
			}
			x = nextBit(row, end, w, 0)
		}
	}
	d.finders = cands
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].cnt > cands[j].cnt })
	return cands
}

// bitRows holds a black matrix's words, a row of stride words for each of
// its h rows, bit x%32 of word x/32 for column x. The bits past the width
// are the matrix's (set after FlipAll): readers stop at w. gozxing's
// BitMatrix gives one bit at a time, through range checks and signed
// divisions, or copies a row out; the finder search and the flood fills
// read its bits millions of times a frame.
type bitRows struct {
	m      *gozxing.BitMatrix // the matrix whose words these are, nil when stale
	words  []uint32
	stride int
	w, h   int
	// own and row are load's buffers: words may be the binarizer's.
	own []uint32
	row *gozxing.BitArray
}

// load copies m's words.
func (b *bitRows) load(m *gozxing.BitMatrix) {
	w, h := m.GetWidth(), m.GetHeight()
	stride := (w + 31) / 32
	if b.row == nil || b.row.GetSize() != w {
		b.row = gozxing.NewBitArray(w)
	}
	if cap(b.own) < stride*h {
		b.own = make([]uint32, stride*h)
	}
	b.own = b.own[:stride*h]
	for y := 0; y < h; y++ {
		copy(b.own[y*stride:(y+1)*stride], m.GetRow(y, b.row).GetBitArray())
	}
	b.m, b.words, b.stride, b.w, b.h = m, b.own, stride, w, h
}

// use takes words as m's, as binarize made them (and flipped with m), or
// copies m's when words is nil.
func (b *bitRows) use(m *gozxing.BitMatrix, words []uint32) {
	if words == nil {
		b.load(m)
		return
	}
	w := m.GetWidth()
	b.m, b.words, b.stride, b.w, b.h = m, words, (w+31)/32, w, m.GetHeight()
}

// get reports whether the pixel (x, y), which must lie in the matrix, is
// dark.
func (b *bitRows) get(x, y int) bool {
	return b.words[y*b.stride+x>>5]>>(uint(x)&31)&1 != 0
}

// bitRun counts the words words[i], words[i+step], ... whose bits under
// mask equal want (mask or 0), at most lim of them.
func bitRun(words []uint32, i, step int, mask, want uint32, lim int) int {
	n := 0
	for n < lim && words[i]&mask == want {
		n++
		i += step
	}
	return n
}

// nextBit returns the first column from from (under w) whose bit in row,
// flipped by flip (0 or all ones), is set; w when there is none.
func nextBit(row []uint32, from, w int, flip uint32) int {
	i := from >> 5
	cur := (row[i] ^ flip) &^ (1<<(uint(from)&31) - 1)
	for cur == 0 {
		if i++; i == len(row) {
			return w
		}
		cur = row[i] ^ flip
	}
	return min(i<<5+mbits.TrailingZeros32(cur), w)
}

// finderRowStepMin is the plane height from which findFinders scans every
// other row.
const finderRowStepMin = 400

// finderRatio checks runs for 1:1:3:1:1 and returns the module size:
// the dark outer runs within 0.4 to 1.9 modules, the light ones within
// 0.2 to 1.9 (binarisation thins the light ring of a blurred finder next
// to a bright quiet zone), the centre within 2 to 4.6.
func finderRatio(r [5]int) (float64, bool) {
	total := r[0] + r[1] + r[2] + r[3] + r[4]
	if total < 7 {
		return 0, false
	}
	// In tenths of a module: 70·r/total. The centre first: most runs
	// fail it.
	if t := 70 * r[2]; t < 20*total || t > 46*total {
		return 0, false
	}
	hi := 19 * total
	if t := 70 * r[0]; t < 4*total || t > hi {
		return 0, false
	}
	if t := 70 * r[1]; t < 2*total || t > hi {
		return 0, false
	}
	if t := 70 * r[3]; t < 2*total || t > hi {
		return 0, false
	}
	if t := 70 * r[4]; t < 4*total || t > hi {
		return 0, false
	}
	return float64(total) / 7, true
}

// confirmVertical checks the column through (cx, y) of b for the same
// pattern and returns the candidate's centre and module size.
func confirmVertical(b *bitRows, cx float64, y, htotal int, hms float64) (finder, bool) {
	x := int(cx)
	h := b.h
	// The column's bits: word col+yy·stride, bit mask.
	col, mask, stride := x>>5, uint32(1)<<(uint(x)&31), b.stride
	if b.words[y*stride+col]&mask == 0 {
		return finder{}, false
	}
	// Each run ends at the edge, at the other colour, or one row past
	// 3·htotal.
	lim := 3*htotal + 1
	// Up from y: centre dark, light, dark.
	var up [3]int
	yy := y
	for st := 0; st < 3; st++ {
		n := bitRun(b.words, yy*stride+col, -stride, mask, mask*uint32(1-st&1), min(lim, yy+1))
		up[st] = n
		if yy -= n; yy < 0 && st < 2 {
			return finder{}, false
		}
	}
	var down [3]int
	yy = y
	for st := 0; st < 3; st++ {
		n := bitRun(b.words, yy*stride+col, stride, mask, mask*uint32(1-st&1), min(lim, h-yy))
		down[st] = n
		if yy += n; yy >= h && st < 2 {
			return finder{}, false
		}
	}
	v := [5]int{up[2], up[1], up[0] + down[0] - 1, down[1], down[2]}
	vms, ok := finderRatio(v)
	if !ok {
		return finder{}, false
	}
	vtotal := float64(v[0] + v[1] + v[2] + v[3] + v[4])
	if r := vtotal / float64(htotal); r < 0.4 || r > 2.5 {
		return finder{}, false
	}
	cy := float64(y-up[0]+1) + float64(v[2])/2
	return finder{c: vec{cx + 0.5, cy}, ms: math.Sqrt(hms * vms), cnt: 1}, true
}

// confirmHorizontal checks the row of b through the candidate's refined
// centre again and centres it horizontally.
func confirmHorizontal(b *bitRows, f *finder, htotal int) bool {
	x, y := int(f.c.x), int(f.c.y)
	w := b.w
	if y < 0 || y >= b.h || x < 0 || x >= w || !b.get(x, y) {
		return false
	}
	row := b.words[y*b.stride:][:b.stride]
	bit := func(x int) uint32 { return row[x>>5] >> (uint(x) & 31) & 1 }
	maxRun := 3 * htotal
	var left, right [3]int
	xx := x
	for st := 0; st < 3; st++ {
		want := uint32(1 - st&1)
		n := 0
		for xx >= 0 && n <= maxRun && bit(xx) == want {
			n++
			xx--
		}
		left[st] = n
		if xx < 0 && st < 2 {
			return false
		}
	}
	xx = x
	for st := 0; st < 3; st++ {
		want := uint32(1 - st&1)
		n := 0
		for xx < w && n <= maxRun && bit(xx) == want {
			n++
			xx++
		}
		right[st] = n
		if xx >= w && st < 2 {
			return false
		}
	}
	r := [5]int{left[2], left[1], left[0] + right[0] - 1, right[1], right[2]}
	if _, ok := finderRatio(r); !ok {
		return false
	}
	f.c.x = float64(x-left[0]+1) + float64(r[2])/2
	return true
}

// mergeFinder adds f to cands, or merges it with a candidate from lo on
// at the same place. Candidates are made in the order of the rows, and
// the centre of one lies within a few module sizes of the row that made
// it, so the caller passes over those far above the current row: a frame
// full of finder-like texture (a screen's moiré) makes hundreds, and
// comparing each new one with all of them would take most of the frame's
// time.
func mergeFinder(cands []finder, lo int, f finder) []finder {
	for i := lo; i < len(cands); i++ {
		c := &cands[i]
		dx, dy := c.c.x-f.c.x, c.c.y-f.c.y
		r := 2 * math.Max(c.ms, f.ms)
		if dx*dx+dy*dy < r*r {
			n := float64(c.cnt)
			c.c = c.c.scale(n).add(f.c).scale(1 / (n + 1))
			c.ms = (c.ms*n + f.ms) / (n + 1)
			c.cnt++
			return cands
		}
	}
	if len(cands) >= maxFinderCands {
		return cands
	}
	return append(cands, f)
}

// maxFinderCands bounds the candidates kept per image (textured scenes).
const maxFinderCands = 512
