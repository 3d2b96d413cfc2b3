package camera

import (
	"math"
	"math/rand/v2"
	"reflect"
	"testing"

	"github.com/makiuchi-d/gozxing"
)

// finderSquare returns a matrix with four finder patterns of ms-pixel
// modules centred at the corners of a square, and nothing else: no code
// decodes there, so locateOwn tries every triple.
func finderSquare(ms int) (*gozxing.BitMatrix, plane, []finder) {
	const side = 520
	m, _ := gozxing.NewBitMatrix(side, side)
	var fs []finder
	for _, c := range [][2]int{{100, 100}, {400, 100}, {100, 400}, {400, 400}} {
		for my := -3; my <= 3; my++ {
			for mx := -3; mx <= 3; mx++ {
				r := max(abs(mx), abs(my))
				if r == 2 {
					continue
				}
				m.SetRegion(c[0]+mx*ms-ms/2, c[1]+my*ms-ms/2, ms, ms)
			}
		}
		fs = append(fs, finder{c: vec{float64(c[0]), float64(c[1])}, ms: float64(ms), cnt: 3})
	}
	p := plane{pix: make([]byte, side*side), w: side, h: side, stride: side}
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			if !m.Get(x, y) {
				p.pix[y*side+x] = 255
			}
		}
	}
	return m, p, fs
}

// TestRingCornersFloodOnce: locateOwn tries up to twelve orderings of
// the triples of its candidates and fits each one's three finder rings.
// Each ring is flooded once a pass; the orderings after the first read
// its pixels back. Before, every ordering flooded its three rings again:
// 36 floods of four rings on this matrix, about seven times its dark
// pixels, and up to 160,000 work units on an unread 720p frame.
func TestRingCornersFloodOnce(t *testing.T) {
	const ms = 6
	m, p, fs := finderSquare(ms)
	dark := 0
	for y := 0; y < m.GetHeight(); y++ {
		for x := 0; x < m.GetWidth(); x++ {
			if m.Get(x, y) {
				dark++
			}
		}
	}
	d := NewDecoder()
	d.work = 1 << 30
	d.fill.forget()
	if _, ok := d.locateOwn(m, p, false, fs); ok {
		t.Fatal("decoded a code in four bare finder patterns")
	}
	if d.fill.visited > dark {
		t.Errorf("flooded %d pixels of %d dark ones: rings flooded more than once", d.fill.visited, dark)
	}
	if d.fill.revisited == 0 {
		t.Errorf("no ring read back: locateOwn tried %d pixels' worth of floods", d.fill.visited)
	}
	t.Logf("%d dark pixels, %d flooded, %d read back", dark, d.fill.visited, d.fill.revisited)
}

// TestRingCornersRevisitSame: the corners of a ring read back are those
// of a fresh flood, whichever side the walk reached the ring from.
func TestRingCornersRevisitSame(t *testing.T) {
	m, _, fs := finderSquare(6)
	d := NewDecoder()
	for _, f := range fs {
		for _, deg := range []float64{0, 10, -17, 90, 180, 263} {
			a := deg * math.Pi / 180
			u := vec{math.Cos(a), math.Sin(a)}
			v := vec{-u.y, u.x}
			d.fill.forget()
			d.work = 1 << 30
			fresh, ok1 := d.ringCorners(m, f, u, v)
			// Flood from another side first, then read back.
			d.fill.forget()
			if _, ok := d.ringCorners(m, f, v, u.scale(-1)); !ok {
				t.Fatalf("finder at %v: no ring", f.c)
			}
			before := d.fill.visited
			kept, ok2 := d.ringCorners(m, f, u, v)
			if d.fill.visited != before {
				t.Errorf("finder at %v, %v°: ring flooded again", f.c, deg)
			}
			if ok1 != ok2 || fresh != kept {
				t.Errorf("finder at %v, %v°: read back %v %v, flooded %v %v", f.c, deg, kept, ok2, fresh, ok1)
			}
		}
	}
}

// floodReference is filler.flood as it was before it read the matrix's
// words: visit is called for every pixel popped, up to limit+1 of them,
// and the neighbours are read through gozxing's BitMatrix.
func floodReference(m *gozxing.BitMatrix, mark []bool, x, y, limit int, visit func(x, y int)) (int, bool) {
	w, h := m.GetWidth(), m.GetHeight()
	st := []int{y*w + x}
	mark[y*w+x] = true
	n := 0
	for len(st) > 0 {
		i := st[len(st)-1]
		st = st[:len(st)-1]
		px, py := i%w, i/w
		visit(px, py)
		if n++; n > limit {
			return n, false
		}
		for dy := -1; dy <= 1; dy++ {
			yy := py + dy
			if yy < 0 || yy >= h {
				continue
			}
			for dx := -1; dx <= 1; dx++ {
				xx := px + dx
				if xx < 0 || xx >= w || (dx == 0 && dy == 0) {
					continue
				}
				j := yy*w + xx
				if !mark[j] && m.Get(xx, yy) {
					mark[j] = true
					st = append(st, j)
				}
			}
		}
	}
	return n, true
}

// TestFloodMatchesReference compares the flood fill with the one reading
// the matrix bit by bit that it replaced: the same pixels in the same
// order (ringCorners keeps the first of equally outermost pixels), and
// the same count when a region overruns its limit. The matrices are
// noise of every density, flipped or not (FlipAll sets the bits past
// the width), of widths on and off a word's 32 bits, and the floods
// start on every edge.
func TestFloodMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 9))
	d := NewDecoder()
	floods, whole := 0, 0
	for trial := 0; trial < 60; trial++ {
		w, h := 1+rng.IntN(100), 1+rng.IntN(80)
		if trial%4 == 0 {
			w = 32 * (1 + rng.IntN(3))
		}
		m, _ := gozxing.NewBitMatrix(w, h)
		density := 0.3 + rng.Float64()*0.5
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				if rng.Float64() < density {
					m.Flip(x, y)
				}
			}
		}
		if trial%3 == 1 {
			m.FlipAll()
		}
		d.bits.load(m)
		d.fill.forget()
		for k := 0; k < 20; k++ {
			x, y := rng.IntN(w), rng.IntN(h)
			switch k % 5 {
			case 1:
				x = 0
			case 2:
				x = w - 1
			case 3:
				y = 0
			case 4:
				y = h - 1
			}
			if !m.Get(x, y) {
				continue
			}
			limit := rng.IntN(w * h)
			var want []int32
			wn, wok := floodReference(m, make([]bool, w*h), x, y, limit, func(x, y int) {
				want = append(want, int32(y*w+x))
			})
			r, ok := d.fill.flood(&d.bits, x, y, limit)
			floods++
			if r.n != wn || ok != wok {
				t.Fatalf("trial %d, %dx%d, from (%d, %d), limit %d: flooded %d, %v, want %d, %v", trial, w, h, x, y, limit, r.n, ok, wn, wok)
			}
			if !ok {
				continue
			}
			whole++
			if got := d.fill.pix[r.off : r.off+r.n]; !reflect.DeepEqual(got, want) {
				t.Fatalf("trial %d, %dx%d, from (%d, %d): pixels %v, want %v", trial, w, h, x, y, got, want)
			}
		}
	}
	if floods < 300 || whole < 100 {
		t.Fatalf("%d floods, %d whole: the test's matrices make too few", floods, whole)
	}
}
