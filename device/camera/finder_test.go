package camera

import (
	"math"
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"

	"github.com/makiuchi-d/gozxing"
)

// findFindersReference is findFinders as it was before its runs shifted
// in by pairs and before it read the matrix's words: every run shifted in
// alone, with its start, and every bit read through gozxing's BitMatrix.
func findFindersReference(m *gozxing.BitMatrix) []finder {
	w, h := m.GetWidth(), m.GetHeight()
	rowBits := gozxing.NewBitArray(w)
	var cands []finder
	lo, maxMs := 0, 0.0
	var runs, starts [5]int
	step := 1
	if h >= finderRowStepMin {
		step = 2
	}
	for y := 0; y < h; y += step {
		for lo < len(cands) && cands[lo].c.y < float64(y)-8*maxMs {
			lo++
		}
		row := m.GetRow(y, rowBits)
		n := 0
		x := row.GetNextSet(0)
		for x < w {
			end := row.GetNextUnset(x)
			if n > 0 {
				pe := starts[4] + runs[4]
				runs = [5]int{runs[1], runs[2], runs[3], runs[4], x - pe}
				starts = [5]int{starts[1], starts[2], starts[3], starts[4], pe}
				n++
			}
			runs = [5]int{runs[1], runs[2], runs[3], runs[4], end - x}
			starts = [5]int{starts[1], starts[2], starts[3], starts[4], x}
			n++
			if n >= 5 {
				if ms, ok := finderRatio(runs); ok {
					cx := float64(starts[2]) + float64(runs[2])/2
					total := runs[0] + runs[1] + runs[2] + runs[3] + runs[4]
					if f, ok := confirmVerticalReference(m, cx, y, total, ms); ok && confirmHorizontalReference(m, &f, total) {
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
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].cnt > cands[j].cnt })
	return cands
}

// confirmVerticalReference is confirmVertical reading m bit by bit.
func confirmVerticalReference(m *gozxing.BitMatrix, cx float64, y, htotal int, hms float64) (finder, bool) {
	x := int(cx)
	h := m.GetHeight()
	if !m.Get(x, y) {
		return finder{}, false
	}
	maxRun := 3 * htotal
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
	vms, ok := finderRatioReference(v)
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

// confirmHorizontalReference is confirmHorizontal reading m bit by bit.
func confirmHorizontalReference(m *gozxing.BitMatrix, f *finder, htotal int) bool {
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
	if _, ok := finderRatioReference(r); !ok {
		return false
	}
	f.c.x = float64(x-left[0]+1) + float64(r[2])/2
	return true
}

// finderRatioReference is finderRatio with the runs tested in order.
func finderRatioReference(r [5]int) (float64, bool) {
	total := r[0] + r[1] + r[2] + r[3] + r[4]
	if total < 7 {
		return 0, false
	}
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

// TestFinderRatioMatchesReference compares finderRatio with the test in
// run order on every run length up to 12 and on runs of every length
// under 200.
func TestFinderRatioMatchesReference(t *testing.T) {
	check := func(r [5]int) {
		ms, ok := finderRatio(r)
		wms, wok := finderRatioReference(r)
		if ms != wms || ok != wok {
			t.Fatalf("finderRatio(%v) = %v, %v, want %v, %v", r, ms, ok, wms, wok)
		}
	}
	var r [5]int
	for i := 0; i < 13*13*13*13*13; i++ {
		for k, v := 0, i; k < 5; k, v = k+1, v/13 {
			r[k] = v % 13
		}
		check(r)
	}
	rng := rand.New(rand.NewPCG(7, 11))
	for i := 0; i < 1_000_000; i++ {
		for k := range r {
			r[k] = rng.IntN(200)
		}
		check(r)
	}
}

// TestFindFindersMatchesReference compares findFinders with the
// run-by-run scan reading the matrix bit by bit that it replaced, on
// finder patterns among noise of every density (a noisy frame's matrix
// has a run every pixel or two), and on the same matrices flipped
// (FlipAll sets the bits past the width, which the search must not
// read as dark), with finders on the right and bottom edges.
func TestFindFindersMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 5))
	d := NewDecoder()
	found := 0
	for trial := 0; trial < 24; trial++ {
		w, h := 200+rng.IntN(300), 150+rng.IntN(300)
		m, _ := gozxing.NewBitMatrix(w, h)
		density := rng.Float64() * 0.6
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if rng.Float64() < density {
					m.Set(x, y)
				}
			}
		}
		if trial%3 == 2 {
			m.FlipAll()
		}
		for k := 0; k < 4; k++ {
			ms := 2 + rng.IntN(5)
			cx, cy := 30+rng.IntN(w-60), 30+rng.IntN(h-60)
			// The outer ring on the right edge, or on the bottom one.
			switch k {
			case 2:
				cx = w - 4*ms
			case 3:
				cy = h - 4*ms
			}
			for my := -3; my <= 3; my++ {
				for mx := -3; mx <= 3; mx++ {
					x0, y0 := cx+mx*ms, cy+my*ms
					if x0 < 0 || y0 < 0 || x0+ms > w || y0+ms > h {
						continue
					}
					dark := max(abs(mx), abs(my)) != 2
					for y := y0; y < y0+ms; y++ {
						for x := x0; x < x0+ms; x++ {
							if dark {
								m.Set(x, y)
							} else {
								m.Unset(x, y)
							}
						}
					}
				}
			}
		}
		want := append([]finder(nil), findFindersReference(m)...)
		got := append([]finder(nil), d.findFinders(m)...)
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("trial %d (%dx%d, density %.2f): found %v, want %v", trial, w, h, density, got, want)
		}
		if len(want) > 0 {
			found++
		}
	}
	if found < 12 {
		t.Fatalf("finders found in %d of 24 matrices: the test matrices show too few", found)
	}
}
