package camera

import (
	"math"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// pointMapper maps module-space points to image points in place; both
// gozxing's PerspectiveTransform and homography implement it.
type pointMapper interface {
	TransformPoints(pts []float64)
}

// sampler reads module values from the grey image and thresholds them.
type sampler struct {
	pts   []float64
	vals  []float32
	got   []uint8   // scratch for sample: points of a module on the image
	sharp []float32 // scratch for sharpen
	ext   []int32   // scratch for threshold: window extremes (see windowExtremes)
	sat   []float64 // scratch for threshold: window sums
	ink   []uint8   // scratch for deblur
	res   []float64 // scratch for deblur: levels without ink, residuals
	dirty []bool    // scratch for deblur: modules to judge again
	// fn holds the function modules of a code of fnDim modules (see
	// functionModules).
	fn    []int8
	fnDim int
}

// sampleOffsets are the five points of a module sample reads, in
// module coordinates from its top-left corner.
var sampleOffsets = [5][2]float64{{0.5, 0.5}, {0.3, 0.3}, {0.7, 0.3}, {0.3, 0.7}, {0.7, 0.7}}

// sample reads the grey level of every module of a dim×dim grid through
// t: the mean of five bilinear samples around the module's centre. It
// reports false when a sizeable part of the grid falls outside the image.
//
// Along a row of the grid, a homography's numerators and denominator are
// affine in u: each of the five points' three terms steps by a constant
// from one module to the next, and a point takes one division (see
// sampleRow). gozxing's transform is turned into a homography first.
func (s *sampler) sample(p plane, t pointMapper, dim int) bool {
	n := dim * dim
	if cap(s.vals) < n {
		s.vals = make([]float32, n)
	}
	s.vals = s.vals[:n]
	if cap(s.got) < dim {
		s.got = make([]uint8, dim)
	}
	h, ok := t.(*homography)
	if !ok {
		var hh homography
		if hh, ok = homographyOf(t, dim); !ok {
			return s.sampleMapped(p, t, dim)
		}
		h = &hh
	}
	outside := 0
	for y := 0; y < dim; y++ {
		outside += sampleRow(p, h, y, s.vals[y*dim:y*dim+dim], s.got[:dim])
	}
	return outside*10 < n
}

// sampleRow reads row y of a grid through h into vals (see sample) and
// returns the number of its modules wholly outside the image; got is
// scratch of len(vals).
//
// Point k of module x sits at u = x + ou_k, v = y + ov_k; its image
// coordinates less half a pixel (bilinear's pixel centres) are
// (nx/w, ny/w), where nx, ny and w are affine in u with slopes h0 − h6/2,
// h3 − h6/2 and h6. They are stepped by adding the slopes, so a point
// takes three additions, a division and two multiplications where
// TransformPoints takes six of each and two divisions; the rounding this
// changes moves a point by some 1e-11 pixels. The row is read one point
// k at a time, so that its terms stay in registers; each module's
// samples are still added in the order of k.
func sampleRow(p plane, h *homography, y int, vals []float32, got []uint8) int {
	clear(vals)
	clear(got)
	got = got[:len(vals)]
	dx, dy, dw := h[0]-0.5*h[6], h[3]-0.5*h[6], h[6]
	xmax, ymax := float64(p.w-1), float64(p.h-1)
	pix, stride := p.pix, p.stride
	for _, o := range sampleOffsets {
		u, v := o[0], float64(y)+o[1]
		w := h[6]*u + h[7]*v + h[8]
		nx := h[0]*u + h[1]*v + h[2] - 0.5*w
		ny := h[3]*u + h[4]*v + h[5] - 0.5*w
		for x := range vals {
			r := 1 / w
			fx, fy := nx*r, ny*r
			nx += dx
			ny += dy
			w += dw
			if !(fx >= 0 && fy >= 0 && fx < xmax && fy < ymax) {
				continue
			}
			ix, iy := int(fx), int(fy)
			ax, ay := float32(fx-float64(ix)), float32(fy-float64(iy))
			i := iy*stride + ix
			top, bot := pix[i:i+2], pix[i+stride:i+stride+2]
			a, b := float32(top[0]), float32(top[1])
			c, d := float32(bot[0]), float32(bot[1])
			t := a + (b-a)*ax
			vals[x] += t + (c+(d-c)*ax-t)*ay
			got[x]++
		}
	}
	outside := 0
	for x, n := range got {
		if n == 0 {
			outside++
			vals[x] = 255
			continue
		}
		vals[x] /= float32(n)
	}
	return outside
}

// homographyOf returns the homography of the transform t over a grid of
// dim modules: the one through the images of the grid's four corners.
func homographyOf(t pointMapper, dim int) (homography, bool) {
	n := float64(dim)
	pts := []float64{0, 0, n, 0, 0, n, n, n}
	t.TransformPoints(pts)
	cs := make([]correspondence, 4)
	for i := range cs {
		cs[i] = correspondence{u: n * float64(i&1), v: n * float64(i>>1), x: pts[2*i], y: pts[2*i+1]}
	}
	return fitHomography(cs)
}

// sampleMapped is sample through any transform, point by point.
func (s *sampler) sampleMapped(p plane, t pointMapper, dim int) bool {
	n := dim * dim
	if cap(s.vals) < n {
		s.vals = make([]float32, n)
	}
	s.vals = s.vals[:n]
	offs := sampleOffsets
	if cap(s.pts) < 2*dim*len(offs) {
		s.pts = make([]float64, 2*dim*len(offs))
	}
	pts := s.pts[:2*dim*len(offs)]
	outside := 0
	for y := 0; y < dim; y++ {
		for x := 0; x < dim; x++ {
			for k, o := range offs {
				pts[2*(x*len(offs)+k)] = float64(x) + o[0]
				pts[2*(x*len(offs)+k)+1] = float64(y) + o[1]
			}
		}
		t.TransformPoints(pts)
		for x := 0; x < dim; x++ {
			sum, got := float32(0), 0
			for k := range offs {
				v, ok := bilinear(p, pts[2*(x*len(offs)+k)], pts[2*(x*len(offs)+k)+1])
				if ok {
					sum += v
					got++
				}
			}
			if got == 0 {
				outside++
				s.vals[y*dim+x] = 255
				continue
			}
			s.vals[y*dim+x] = sum / float32(got)
		}
	}
	return outside*10 < n
}

// bilinear interpolates p at (x, y) in pixel coordinates, where pixel
// (i, j) covers [i, i+1)×[j, j+1).
func bilinear(p plane, x, y float64) (float32, bool) {
	x -= 0.5
	y -= 0.5
	if !(x >= 0 && y >= 0 && x < float64(p.w-1) && y < float64(p.h-1)) {
		return 0, false
	}
	ix, iy := int(x), int(y)
	fx, fy := float32(x-float64(ix)), float32(y-float64(iy))
	o := iy*p.stride + ix
	a, b := float32(p.pix[o]), float32(p.pix[o+1])
	c, d := float32(p.pix[o+p.stride]), float32(p.pix[o+p.stride+1])
	top := a + (b-a)*fx
	bot := c + (d-c)*fx
	return top + (bot-top)*fy, true
}

// sharpGain is the gain of sharpen: 4×0.11/0.47 ≈ 0.9 undoes a blur of
// half a module, more a stronger one; chosen on the tuning draw
// (camtest.Tuning), where 1.5 reads the most blurred codes.
const sharpGain = 1.5

// threshold modes for sampled modules.
const (
	threshMidrange = iota // midpoint of the darkest and lightest module within 3 modules
	threshMean            // mean of the modules within 2 modules
	threshSharp           // threshMean of the modules sharpened against their neighbours
	numThresh
)

// sharpen replaces the sampled values by v + sharpGain·(v − mean of the
// four neighbours). Out of focus, a module takes part of its neighbours'
// level (a Gaussian blur of half a module leaves it 47 % of its own and
// 11 % of each neighbour's), so that a light module among dark ones reads
// dark; this undoes most of that.
func (s *sampler) sharpen(dim int) {
	if cap(s.sharp) < len(s.vals) {
		s.sharp = make([]float32, len(s.vals))
	}
	sh := s.sharp[:len(s.vals)]
	v := s.vals
	for y := 0; y < dim; y++ {
		for x := 0; x < dim; x++ {
			i := y*dim + x
			c := v[i]
			n := [4]float32{c, c, c, c}
			if x > 0 {
				n[0] = v[i-1]
			}
			if x+1 < dim {
				n[1] = v[i+1]
			}
			if y > 0 {
				n[2] = v[i-dim]
			}
			if y+1 < dim {
				n[3] = v[i+dim]
			}
			sh[i] = c + sharpGain*(c-(n[0]+n[1]+n[2]+n[3])/4)
		}
	}
	s.vals, s.sharp = sh, v
}

// unsharpen puts back the values sharpen replaced.
func (s *sampler) unsharpen() { s.vals, s.sharp = s.sharp, s.vals }

// threshold turns the sampled values into a module matrix.
// With inv set, light modules count as dark.
//
// threshMidrange compares a module with the midpoint of the darkest and
// lightest module within 3 modules (windowExtremes), the mean modes with
// the mean of the modules within 2 (a table of sums).
func (s *sampler) threshold(dim, mode int, inv bool) *gozxing.BitMatrix {
	m, _ := gozxing.NewSquareBitMatrix(dim)
	v := s.vals
	if mode == threshMidrange {
		lo, hi := s.windowExtremes(dim)
		for y := 0; y < dim; y++ {
			for x := 0; x < dim; x++ {
				l := min(fromKey(lo[y*dim+x]), 255)
				h := max(fromKey(hi[y*dim+x]), 0)
				if (v[y*dim+x] < (l+h)/2) != inv {
					m.Set(x, y)
				}
			}
		}
		return m
	}
	// sat[(y+1)(dim+1)+x+1] is the sum of the values above and left of
	// (x, y), inclusive. float64 holds the sums of float32 values
	// exactly (up to values under 2⁻⁶ in magnitude), so that a window's
	// sum from four entries is its sum in any order.
	const r = 2
	w := dim + 1
	if cap(s.sat) < w*w {
		s.sat = make([]float64, w*w)
	}
	sat := s.sat[:w*w]
	clear(sat[:w])
	for y := 0; y < dim; y++ {
		row := 0.0
		sat[(y+1)*w] = 0
		for x, g := range v[y*dim : y*dim+dim] {
			row += float64(g)
			sat[(y+1)*w+x+1] = sat[y*w+x+1] + row
		}
	}
	for y := 0; y < dim; y++ {
		y0, y1 := max(0, y-r), min(dim-1, y+r)+1
		for x := 0; x < dim; x++ {
			x0, x1 := max(0, x-r), min(dim-1, x+r)+1
			sum := sat[y1*w+x1] - sat[y0*w+x1] - sat[y1*w+x0] + sat[y0*w+x0]
			t := sum / float64((y1-y0)*(x1-x0))
			if (float64(v[y*dim+x]) < t) != inv {
				m.Set(x, y)
			}
		}
	}
	return m
}

// windowExtremes returns, as keys (see key), the least and the greatest
// of the sampled values within 3 modules of each module (rows y−3 to
// y+3 and columns x−3 to x+3, clipped to the grid), row-major.
//
// The window is separable, and along a line the extremes of 7 come from
// those of 2, 4 and 7 in turn (each the extreme of two overlapping
// shorter ones), 3 comparisons a value instead of 7. The grid is padded
// by 3 values that no value passes, and the keys are integers, compared
// without the floating point's care for NaN and signed zeros.
func (s *sampler) windowExtremes(dim int) (lo, hi []int32) {
	const r = 3
	sd := dim + 2*r
	if cap(s.ext) < 2*sd*sd {
		s.ext = make([]int32, 2*sd*sd)
	}
	lo, hi = s.ext[:sd*sd], s.ext[sd*sd:2*sd*sd]
	for i := range lo {
		lo[i], hi[i] = math.MaxInt32, math.MinInt32
	}
	for y := 0; y < dim; y++ {
		for x, g := range s.vals[y*dim : y*dim+dim] {
			k := key(g)
			lo[(y+r)*sd+x+r], hi[(y+r)*sd+x+r] = k, k
		}
	}
	// Along the rows: entry x becomes the extreme of entries x to x+6,
	// the columns x−3 to x+3 of the grid.
	for y := r; y < dim+r; y++ {
		l, h := lo[y*sd:y*sd+sd], hi[y*sd:y*sd+sd]
		for _, d := range [3]int{1, 2, 3} {
			for x := 0; x+d < len(l); x++ {
				l[x] = min(l[x], l[x+d])
				h[x] = max(h[x], h[x+d])
			}
		}
	}
	// Along the columns, the same in the grid's columns: row y becomes
	// rows y−3 to y+3.
	for _, d := range [3]int{1, 2, 3} {
		for y := 0; y+d < sd; y++ {
			l, ld := lo[y*sd:y*sd+dim], lo[(y+d)*sd:(y+d)*sd+dim]
			h, hd := hi[y*sd:y*sd+dim], hi[(y+d)*sd:(y+d)*sd+dim]
			for x := range l {
				l[x] = min(l[x], ld[x])
				h[x] = max(h[x], hd[x])
			}
		}
	}
	// Row y's window now starts at row y and column x: pack them.
	for y := 0; y < dim; y++ {
		copy(lo[y*dim:y*dim+dim], lo[y*sd:y*sd+dim])
		copy(hi[y*dim:y*dim+dim], hi[y*sd:y*sd+dim])
	}
	return lo[:dim*dim], hi[:dim*dim]
}

// key maps a float32 to an int32 of the same order (negative values'
// magnitude bits reversed); -0 comes just before +0.
func key(f float32) int32 {
	b := int32(math.Float32bits(f))
	return b ^ int32(uint32(b>>31)>>1)
}

// fromKey is key's inverse.
func fromKey(k int32) float32 {
	return math.Float32frombits(uint32(k ^ int32(uint32(k>>31)>>1)))
}

// deblur thresholds the sampled values (unsharpened, see sharpen) of a
// code of dim modules by the blur the code's own function patterns show.
//
// Out of focus or moving, a module's sampled level is a weighted sum of
// its own and its eight neighbours' inks, with weights set by the blur
// (a motion streak weighs the neighbours along it only), and a level
// that drifts across the code with the light. The finder and alignment
// patterns, the separators and the timing patterns are known modules;
// wherever a known module's eight neighbours are known too, its level is
// one equation for those weights and the light's drift, solved by least
// squares. Each unknown module then takes the ink whose predicted level,
// given its neighbours' current inks, is nearer its own, in a few
// sweeps from the mean threshold's answer (decision feedback); then a
// module's ink changes wherever that lowers the squared differences
// between the predicted and sampled levels of the nine modules it
// enters (iterated conditional modes). A
// sharpening with a fixed gain (threshSharp) undoes a blur of one
// strength and no direction; this one undoes the blur the code shows.
// It reports false when the patterns do not determine the weights or
// the weights do not explain them (see deblurMinFit), and when spend
// refuses the sweeps' work units.
func (s *sampler) deblur(dim int, start *gozxing.BitMatrix, inv bool, spend func(int) bool) (*gozxing.BitMatrix, bool) {
	known := s.functionModules(dim)
	v := s.vals
	level := func(i int) float64 {
		if inv {
			return 255 - float64(v[i])
		}
		return float64(v[i])
	}
	// knownAround reports whether module i (not on the grid's edge) and
	// its eight neighbours are all known: an equation for the weights.
	knownAround := func(i int) bool {
		for k := 0; k < 9; k++ {
			if known[i+(k/3-1)*dim+k%3-1] < 0 {
				return false
			}
		}
		return true
	}
	// Unknowns: a level, its drift along x and y, and the 3×3 weights
	// of dark ink (row-major, centre at 4).
	const nu = 12
	var ata [nu][nu]float64
	var atb [nu]float64
	var row [nu]float64
	eqs := 0
	for y := 1; y < dim-1; y++ {
		for x := 1; x < dim-1; x++ {
			i := y*dim + x
			if !knownAround(i) {
				continue
			}
			row[0], row[1], row[2] = 1, float64(x)/float64(dim)-0.5, float64(y)/float64(dim)-0.5
			for k := 0; k < 9; k++ {
				row[3+k] = float64(known[i+(k/3-1)*dim+k%3-1])
			}
			b := level(i)
			for a := range nu {
				for c := range nu {
					ata[a][c] += row[a] * row[c]
				}
				atb[a] += row[a] * b
			}
			eqs++
		}
	}
	if eqs < 2*nu {
		return nil, false
	}
	for a := range nu {
		ata[a][a] += 1e-3 * float64(eqs)
	}
	sol, ok := solve(ata, atb)
	if !ok {
		return nil, false
	}
	c0, cx, cy := sol[0], sol[1], sol[2]
	wk := sol[3:]
	// How well the blur explains the known modules: a grid sampled off
	// the code (a wrong finder triple, a wrong size) puts data modules
	// where the pattern should be, which no weights explain.
	var sum, sum2, sse float64
	for y := 1; y < dim-1; y++ {
		for x := 1; x < dim-1; x++ {
			i := y*dim + x
			if !knownAround(i) {
				continue
			}
			p := c0 + cx*(float64(x)/float64(dim)-0.5) + cy*(float64(y)/float64(dim)-0.5)
			for k := 0; k < 9; k++ {
				p += wk[k] * float64(known[i+(k/3-1)*dim+k%3-1])
			}
			b := level(i)
			sum += b
			sum2 += b * b
			sse += (b - p) * (b - p)
		}
	}
	if ss := sum2 - sum*sum/float64(eqs); ss <= 0 || sse > (1-deblurMinFit)*ss {
		return nil, false
	}
	// Dark ink must lower a module's own level.
	if wk[4] >= -4 {
		return nil, false
	}
	// A blur whose neighbours' weights add up to well under the
	// module's own leaves every module on its side of the mean
	// threshold, which read the grid already if anything could.
	spread := 0.0
	for k, w := range wk {
		if k != 4 {
			spread += math.Abs(w)
		}
	}
	if spread < deblurMinSpread*-wk[4] {
		return nil, false
	}
	if !spend(deblurCost * dim * dim) {
		return nil, false
	}
	if cap(s.ink) < dim*dim {
		s.ink = make([]uint8, dim*dim)
	}
	ink := s.ink[:dim*dim]
	for y := 0; y < dim; y++ {
		for x := 0; x < dim; x++ {
			i := y*dim + x
			switch {
			case known[i] >= 0:
				ink[i] = uint8(known[i])
			case start.Get(x, y):
				ink[i] = 1
			default:
				ink[i] = 0
			}
		}
	}
	// base is each module's level without ink, res its level less the
	// blur of the current inks (the residual).
	if cap(s.res) < 2*dim*dim {
		s.res = make([]float64, 2*dim*dim)
	}
	base, res := s.res[:dim*dim], s.res[dim*dim:2*dim*dim]
	if cap(s.dirty) < dim*dim {
		s.dirty = make([]bool, dim*dim)
	}
	dirty := s.dirty[:dim*dim]
	for y := 0; y < dim; y++ {
		for x := 0; x < dim; x++ {
			i := y*dim + x
			base[i] = c0 + cx*(float64(x)/float64(dim)-0.5) + cy*(float64(y)/float64(dim)-0.5)
			dirty[i] = known[i] < 0
		}
	}
	// mark makes the unknown modules within r of (x, y) be judged again.
	mark := func(x, y, r int) {
		for ny := max(0, y-r); ny <= min(dim-1, y+r); ny++ {
			for nx := max(0, x-r); nx <= min(dim-1, x+r); nx++ {
				dirty[ny*dim+nx] = known[ny*dim+nx] < 0
			}
		}
	}
	// First each module by its own level: the ink whose predicted
	// level, given its neighbours' current inks, is nearer (decision
	// feedback). A module is judged again only when a neighbour's ink
	// changed.
	for sweep := 0; sweep < deblurSweeps; sweep++ {
		changed := 0
		for y := 0; y < dim; y++ {
			for x := 0; x < dim; x++ {
				i := y*dim + x
				if !dirty[i] {
					continue
				}
				dirty[i] = false
				pred := base[i]
				for k := 0; k < 9; k++ {
					nx, ny := x+k%3-1, y+k/3-1
					if k != 4 && nx >= 0 && ny >= 0 && nx < dim && ny < dim && ink[ny*dim+nx] == 1 {
						pred += wk[k]
					}
				}
				var n uint8
				if level(i) < pred+wk[4]/2 {
					n = 1
				}
				if n != ink[i] {
					ink[i] = n
					changed++
					mark(x, y, 1)
					dirty[i] = false
				}
			}
		}
		if changed == 0 {
			break
		}
	}
	for y := 0; y < dim; y++ {
		for x := 0; x < dim; x++ {
			i := y*dim + x
			p := base[i]
			for k := 0; k < 9; k++ {
				nx, ny := x+k%3-1, y+k/3-1
				if nx >= 0 && ny >= 0 && nx < dim && ny < dim && ink[ny*dim+nx] == 1 {
					p += wk[k]
				}
			}
			res[i] = level(i) - p
			dirty[i] = known[i] < 0
		}
	}
	// A module's ink enters the levels of its neighbours as well as its
	// own: it changes when that lowers the squared residuals of all nine
	// (iterated conditional modes). Judging a module by its own level
	// alone settles on wrong inks all along a streak, where a
	// neighbour's weight is close to the module's own. A change moves
	// the residuals of the 3×3 modules around it, and so the gains of
	// the 5×5.
	for sweep := 0; sweep < deblurSweeps; sweep++ {
		changed := 0
		for yy := 0; yy < dim; yy++ {
			y := yy
			if sweep%2 == 1 {
				y = dim - 1 - yy
			}
			for xx := 0; xx < dim; xx++ {
				x := xx
				if sweep%2 == 1 {
					x = dim - 1 - xx
				}
				i := y*dim + x
				if !dirty[i] {
					continue
				}
				dirty[i] = false
				// Ink at i adds wk[k] to the level of the module at
				// offset −k from it.
				delta := 1.0
				if ink[i] == 1 {
					delta = -1
				}
				gain := 0.0
				for k := 0; k < 9; k++ {
					jx, jy := x-(k%3-1), y-(k/3-1)
					if jx < 0 || jy < 0 || jx >= dim || jy >= dim {
						continue
					}
					w := delta * wk[k]
					gain += w * (w - 2*res[jy*dim+jx])
				}
				if gain >= 0 {
					continue
				}
				ink[i] ^= 1
				changed++
				for k := 0; k < 9; k++ {
					jx, jy := x-(k%3-1), y-(k/3-1)
					if jx >= 0 && jy >= 0 && jx < dim && jy < dim {
						res[jy*dim+jx] -= delta * wk[k]
					}
				}
				mark(x, y, 2)
				dirty[i] = false
			}
		}
		if changed == 0 {
			break
		}
	}
	m, _ := gozxing.NewSquareBitMatrix(dim)
	for i, b := range ink {
		if b == 1 {
			m.Set(i%dim, i/dim)
		}
	}
	return m, true
}

// deblurMinFit is the share of the known modules' variance the blur
// must explain for deblur to go on. A grid sampled through the right
// geometry, however blurred, has 0.8 and more; one sampled off the
// code (a wrong triple or size), where data modules stand in for the
// patterns, 0.05-0.6 with a few near-misses above.
const deblurMinFit = 0.7

// deblurCost is the work units per module of deblur's fit and sweeps, in
// grey samples' time: about twice the cost of sampling the grid (five
// grey samples a module), measured on grids of a version 10 code with
// noise of a tenth to a third of its contrast.
const deblurCost = 10

// deblurMinSpread is the least sum of the neighbours' weights, as a
// share of the module's own, for which deblur sweeps the grid. Under it,
// a light module among dark ones (its level the dark neighbours' weights
// less than a dark module's among light ones) stays lighter than the
// mean around it, and the mean threshold reads what a blur of that
// strength leaves; codes deblur read on draws of the independent
// generator had 0.9 and more.
const deblurMinSpread = 0.75

// deblurSweeps bounds deblur's passes over the grid; each changes fewer
// modules than the last, and a few settle it.
const deblurSweeps = 6

// functionModules returns the modules every code of dim modules has in
// the same place (finder, separator, timing and alignment patterns, the
// dark module): 1 dark, 0 light, −1 not known.
func (s *sampler) functionModules(dim int) []int8 {
	if s.fnDim == dim {
		return s.fn
	}
	if cap(s.fn) < dim*dim {
		s.fn = make([]int8, dim*dim)
	}
	fn := s.fn[:dim*dim]
	for i := range fn {
		fn[i] = -1
	}
	set := func(x, y int, dark bool) {
		if x >= 0 && y >= 0 && x < dim && y < dim {
			fn[y*dim+x] = 0
			if dark {
				fn[y*dim+x] = 1
			}
		}
	}
	for _, o := range [3][2]int{{0, 0}, {dim - 7, 0}, {0, dim - 7}} {
		// The finder and its separator, a light ring one module out.
		for dy := -1; dy <= 7; dy++ {
			for dx := -1; dx <= 7; dx++ {
				r := max(abs(dx-3), abs(dy-3))
				set(o[0]+dx, o[1]+dy, r != 2 && r != 4)
			}
		}
	}
	for k := 8; k < dim-8; k++ {
		set(k, 6, k%2 == 0)
		set(6, k, k%2 == 0)
	}
	ver := (dim - 17) / 4
	if v, err := decoder.Version_GetVersionForNumber(ver); err == nil {
		cs := v.GetAlignmentPatternCenters()
		for _, cy := range cs {
			for _, cx := range cs {
				if (cx < 9 && cy < 9) || (cx > dim-10 && cy < 9) || (cx < 9 && cy > dim-10) {
					continue
				}
				for dy := -2; dy <= 2; dy++ {
					for dx := -2; dx <= 2; dx++ {
						set(cx+dx, cy+dy, max(abs(dx), abs(dy)) != 1)
					}
				}
			}
		}
	}
	set(8, dim-8, true)
	s.fn, s.fnDim = fn, dim
	return fn
}

// solve solves a·x = b by Gaussian elimination with partial pivoting.
func solve[A ~[12][12]float64, B ~[12]float64](a A, b B) ([12]float64, bool) {
	const n = 12
	for c := 0; c < n; c++ {
		p := c
		for r := c + 1; r < n; r++ {
			if math.Abs(a[r][c]) > math.Abs(a[p][c]) {
				p = r
			}
		}
		if math.Abs(a[p][c]) < 1e-9 {
			return [12]float64{}, false
		}
		a[c], a[p] = a[p], a[c]
		b[c], b[p] = b[p], b[c]
		for r := c + 1; r < n; r++ {
			f := a[r][c] / a[c][c]
			for k := c; k < n; k++ {
				a[r][k] -= f * a[c][k]
			}
			b[r] -= f * b[c]
		}
	}
	var x [12]float64
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for k := r + 1; k < n; k++ {
			s -= a[r][k] * x[k]
		}
		x[r] = s / a[r][r]
	}
	return x, true
}
