package camera

import (
	"math"
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
func (d *Decoder) findFinders(m *gozxing.BitMatrix) []finder {
	w, h := m.GetWidth(), m.GetHeight()
	d.searched[0] += w * h
	if d.rowBits == nil || d.rowBits.GetSize() != w {
		d.rowBits = gozxing.NewBitArray(w)
	}
	cands := d.finders[:0]
	// Candidates before lo lie far above the rows still to scan: no new
	// candidate can merge with them (see mergeFinder).
	lo, maxMs := 0, 0.0
	var runs [5]int
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
		row := m.GetRow(y, d.rowBits)
		// Collect runs; runs[4] is the latest, the dark run from x to
		// end. A noisy matrix has a run every pixel or two: the runs
		// shift in by pairs, and the centre run's start is counted back
		// from x.
		n := 0
		x := row.GetNextSet(0)
		pe := 0 // end of the previous dark run
		for x < w {
			end := row.GetNextUnset(x) // end of the dark run
			// Shift in a light run (if any dark run came before) and this
			// dark run.
			if n > 0 {
				runs = [5]int{runs[2], runs[3], runs[4], x - pe, end - x}
				n += 2
			} else {
				runs[4] = end - x
				n++
			}
			pe = end
			if n >= 5 {
				if ms, ok := finderRatio(runs); ok {
					cx := float64(x-runs[3]-runs[2]) + float64(runs[2])/2
					total := runs[0] + runs[1] + runs[2] + runs[3] + runs[4]
					if f, ok := d.confirmVertical(m, cx, y, total, ms); ok && confirmHorizontal(m, &f, total) {
						cands = mergeFinder(cands, lo, f)
						maxMs = max(maxMs, f.ms)
					}
				}
			}
			if end >= w {
				break
			}
			x = row.GetNextSet(end)
		}
	}
	d.finders = cands
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].cnt > cands[j].cnt })
	return cands
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
	// In tenths of a module: 70·r/total.
	for i, lo := range [5]int{4, 2, 0, 2, 4} {
		if i == 2 {
			continue
		}
		if t := 70 * r[i]; t < lo*total || t > 19*total {
			return 0, false
		}
	}
	if t := 70 * r[2]; t < 20*total || t > 46*total {
		return 0, false
	}
	return float64(total) / 7, true
}

// confirmVertical checks the column through (cx, y) for the same pattern
// and returns the candidate's centre and module size.
func (d *Decoder) confirmVertical(m *gozxing.BitMatrix, cx float64, y, htotal int, hms float64) (finder, bool) {
	x := int(cx)
	h := m.GetHeight()
	if !m.Get(x, y) {
		return finder{}, false
	}
	maxRun := 3 * htotal
	// Up from y: centre dark, light, dark.
	var up [3]int
	yy := y
	for st := 0; st < 3; st++ {
		want := st != 1
		for yy >= 0 && m.Get(x, yy) == want && up[st] <= maxRun {
			up[st]++
			yy--
		}
		if yy < 0 && st < 2 {
			return finder{}, false
		}
	}
	var down [3]int
	yy = y
	for st := 0; st < 3; st++ {
		want := st != 1
		for yy < h && m.Get(x, yy) == want && down[st] <= maxRun {
			down[st]++
			yy++
		}
		if yy >= h && st < 2 {
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

// confirmHorizontal checks the row through the candidate's refined centre
// again and centres it horizontally.
func confirmHorizontal(m *gozxing.BitMatrix, f *finder, htotal int) bool {
	x, y := int(f.c.x), int(f.c.y)
	w := m.GetWidth()
	if y < 0 || y >= m.GetHeight() || x < 0 || x >= w || !m.Get(x, y) {
		return false
	}
	maxRun := 3 * htotal
	var left, right [3]int
	xx := x
	for st := 0; st < 3; st++ {
		want := st != 1
		for xx >= 0 && m.Get(xx, y) == want && left[st] <= maxRun {
			left[st]++
			xx--
		}
		if xx < 0 && st < 2 {
			return false
		}
	}
	xx = x
	for st := 0; st < 3; st++ {
		want := st != 1
		for xx < w && m.Get(xx, y) == want && right[st] <= maxRun {
			right[st]++
			xx++
		}
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
