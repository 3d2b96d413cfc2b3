package foreign

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// font is a made-up alphabet of 5×7 glyphs: text-like strokes without
// a real typeface.
type font struct {
	glyphs [40][7]uint8 // 5 bits a row
	pick   *noise
}

func newFont(rng *rand.Rand) *font {
	f := &font{pick: newNoise(rng, 1)}
	for g := range f.glyphs {
		// Strokes: a few vertical, horizontal and diagonal segments.
		for range 2 + rng.IntN(3) {
			switch rng.IntN(3) {
			case 0:
				x, y0, y1 := rng.IntN(5), rng.IntN(4), 3+rng.IntN(4)
				for y := y0; y <= y1; y++ {
					f.glyphs[g][y] |= 1 << x
				}
			case 1:
				y, x0, x1 := rng.IntN(7), rng.IntN(3), 2+rng.IntN(3)
				for x := x0; x <= x1; x++ {
					f.glyphs[g][y] |= 1 << x
				}
			default:
				x, d := rng.IntN(3), 1-2*rng.IntN(2)
				for y := range 5 {
					if xx := x + y*d/2; xx >= 0 && xx < 5 {
						f.glyphs[g][y+1] |= 1 << xx
					}
				}
			}
		}
	}
	return f
}

// ink reports whether text at (x, y) is inked, in glyph cells: a glyph is
// 5 wide with a gap of 1, 7 tall with a gap of 2. Some cells are spaces.
func (f *font) ink(x, y float64) bool {
	if x < 0 || y < 0 {
		return false
	}
	cx, cy := int(x)/6, int(y)/9
	gx, gy := int(x)%6, int(y)%9
	if gx >= 5 || gy >= 7 {
		return false
	}
	h := f.pick.lattice(cx, cy*131)
	if h < -0.6 {
		return false // a space
	}
	g := int((h+1)*1000) % len(f.glyphs)
	return f.glyphs[g][gy]&(1<<gx) != 0
}

// An item is a thing in the scene: a pattern in its own frame of half
// size hw×hh, turned by ang about its centre (cx, cy).
type item struct {
	cx, cy, hw, hh, ang float64
	// at returns the albedo at local point (x, y), and false where the
	// item is transparent.
	at func(x, y float64) (float64, bool)
}

// background paints a wall with clutter items and returns its albedo.
func background(w, h, clutter int, rng *rand.Rand) []float64 {
	bg := make([]float64, w*h)
	base := between(rng, 0.2, 0.7)
	cloud := newNoise(rng, between(rng, 40, 200))
	gx, gy := signed(rng, 0, 0.2), signed(rng, 0, 0.2)
	for y := range h {
		for x := range w {
			v := base * (1 + 0.25*cloud.at(float64(x), float64(y)) + gx*float64(x)/float64(w) + gy*float64(y)/float64(h))
			bg[y*w+x] = math.Max(0.02, v)
		}
	}
	for range clutter {
		paint(bg, w, h, randomItem(rng, w, h))
	}
	return bg
}

// paint draws it into bg with 2×2 supersampling.
func paint(bg []float64, w, h int, it item) {
	c, s := math.Cos(it.ang), math.Sin(it.ang)
	r := math.Hypot(it.hw, it.hh)
	x0, x1 := max(0, int(it.cx-r)), min(w, int(it.cx+r)+1)
	y0, y1 := max(0, int(it.cy-r)), min(h, int(it.cy+r)+1)
	for y := y0; y < y1; y++ {
		for x := x0; x < x1; x++ {
			sum, in := 0.0, 0
			for sy := range 2 {
				for sx := range 2 {
					dx := float64(x) + 0.25 + 0.5*float64(sx) - it.cx
					dy := float64(y) + 0.25 + 0.5*float64(sy) - it.cy
					lx, ly := dx*c+dy*s, -dx*s+dy*c
					if math.Abs(lx) > it.hw || math.Abs(ly) > it.hh {
						continue
					}
					if v, ok := it.at(lx+it.hw, ly+it.hh); ok {
						sum += v
						in++
					}
				}
			}
			if in > 0 {
				i := y*w + x
				bg[i] = (sum + bg[i]*float64(4-in)) / 4
			}
		}
	}
}

// randomItem draws one thing a camera at a gate sees that is not a QR
// code.
func randomItem(rng *rand.Rand, w, h int) item {
	it := item{
		cx:  between(rng, 0, float64(w)),
		cy:  between(rng, 0, float64(h)),
		hw:  between(rng, 15, float64(w)/5),
		hh:  between(rng, 15, float64(h)/5),
		ang: 0,
	}
	if rng.IntN(2) == 0 {
		it.ang = signed(rng, 0, math.Pi/2)
	} else {
		it.ang = signed(rng, 0, 0.05)
	}
	dark, light := between(rng, 0.02, 0.25), between(rng, 0.5, 0.9)
	if rng.IntN(4) == 0 {
		dark, light = light, dark
	}
	switch rng.IntN(10) {
	case 0: // a plain panel
		it.at = func(x, y float64) (float64, bool) { return light, true }
	case 1: // stripes
		period, duty := between(rng, 3, 24), between(rng, 0.2, 0.8)
		it.at = func(x, y float64) (float64, bool) {
			if math.Mod(x, period) < duty*period {
				return dark, true
			}
			return light, true
		}
	case 2: // a grid of lines, like tiles or a form
		period, lw := between(rng, 6, 40), between(rng, 1, 3)
		it.at = func(x, y float64) (float64, bool) {
			if math.Mod(x, period) < lw || math.Mod(y, period) < lw {
				return dark, true
			}
			return light, true
		}
	case 3: // a regular checkerboard
		cell := between(rng, 3, 16)
		it.at = func(x, y float64) (float64, bool) {
			if (int(x/cell)+int(y/cell))%2 == 0 {
				return dark, true
			}
			return light, true
		}
	case 4: // random cells: the texture of a code without its finders
		cell := between(rng, 2, 7)
		nz := newNoise(rng, 1)
		it.at = func(x, y float64) (float64, bool) {
			if nz.lattice(int(x/cell), int(y/cell)) > 0 {
				return dark, true
			}
			return light, true
		}
	case 5, 6: // a block of text
		px := between(rng, 0.7, 3) // pixels per glyph cell
		f := newFont(rng)
		it.at = func(x, y float64) (float64, bool) {
			if f.ink(x/px, y/px) {
				return dark, true
			}
			return light, true
		}
	case 7: // a keyboard: rows of keys, a glyph on each
		key, gap := between(rng, 18, 50), between(rng, 3, 9)
		face, edge := light, dark
		f := newFont(rng)
		it.hw, it.hh = between(rng, 3, 7)*(key+gap), between(rng, 2, 4)*(key+gap)
		it.at = func(x, y float64) (float64, bool) {
			row := int(y / (key + gap))
			x += float64(row) * key / 3 // staggered rows
			kx, ky := math.Mod(x, key+gap), math.Mod(y, key+gap)
			if kx > key || ky > key {
				return edge, true
			}
			gs := key / 14
			if f.ink((kx-key*0.3)/gs+float64(int(x/(key+gap)))*6, (ky-key*0.25)/gs) && kx > key*0.3 && kx < key*0.3+5*gs && ky > key*0.25 && ky < key*0.25+7*gs {
				return edge * 0.8, true
			}
			return face, true
		}
	case 8: // concentric squares: a target, sometimes with a finder's 1:1:3:1:1
		unit := between(rng, 2, 10)
		widths := []float64{1, 1, 3, 1, 1}
		if rng.IntN(2) == 0 {
			for i := range widths {
				widths[i] = between(rng, 0.6, 3)
			}
		}
		total := 0.0
		for _, wd := range widths {
			total += wd
		}
		it.hw = total * unit / 2
		it.hh = it.hw
		it.at = func(x, y float64) (float64, bool) {
			d := math.Min(math.Min(x, y), math.Min(2*it.hw-x, 2*it.hh-y)) / unit
			acc := 0.0
			for i, wd := range widths[:3] {
				acc += wd
				if d < acc {
					if i%2 == 0 {
						return dark, true
					}
					return light, true
				}
			}
			return dark, true
		}
	default: // a linear barcode
		nb := newNoise(rng, 1)
		bar := between(rng, 1, 4)
		it.hh = between(rng, 15, 60)
		it.at = func(x, y float64) (float64, bool) {
			if nb.lattice(int(x/bar), 7) > 0.1 {
				return dark, true
			}
			return light, true
		}
	}
	return it
}

// renderEmpty draws a cluttered scene without a code through the camera
// model.
func renderEmpty(s Spec, p params, rng *rand.Rand) Frame {
	w, h := s.Width, s.Height
	p.clutter = 10 + rng.IntN(20)
	bg := background(w, h, p.clutter, rng)
	p.modulePx = 4
	cam, _ := newCamera(&p, 21, w, h, float64(w)/2, float64(h)/2)
	ill := lighting(&p, w, h, &cam, 21)
	for i := range bg {
		bg[i] *= ill[i]
	}
	img := expose(&p, bg, w, h, sensorRNG(s, rng))
	return Frame{Img: img, Params: fmt.Sprintf("clutter=%d gauss=%.2f fw=%.0f read=%.1f gamma=%.2f sharpen=%.2f jpeg=%d", p.clutter, p.gauss, p.fullWell, p.readNoise, p.gamma, p.sharpen, p.jpegQ)}
}
