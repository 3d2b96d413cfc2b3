package camera

import (
	"math"
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
