package camera

import (
	"math/rand/v2"
	"reflect"
	"sort"
	"testing"

	"github.com/makiuchi-d/gozxing"
)

// findFindersReference is findFinders as it was before its runs shifted
// in by pairs: every run shifted in alone, with its start.
func findFindersReference(d *Decoder, m *gozxing.BitMatrix) []finder {
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
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].cnt > cands[j].cnt })
	return cands
}

// TestFindFindersMatchesReference compares findFinders with the
// run-by-run scan it replaced, on finder patterns among noise of every
// density (a noisy frame's matrix has a run every pixel or two).
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
		for k := 0; k < 4; k++ {
			ms := 2 + rng.IntN(5)
			cx, cy := 30+rng.IntN(w-60), 30+rng.IntN(h-60)
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
		want := append([]finder(nil), findFindersReference(d, m)...)
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
