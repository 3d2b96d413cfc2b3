package camera

import (
	"github.com/makiuchi-d/gozxing"
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
	sharp []float32 // scratch for sharpen
	cols  []float32 // scratch for threshold: per-column window statistics
}

// sample reads the grey level of every module of a dim×dim grid through
// t: the mean of five bilinear samples around the module's centre. It
// reports false when a sizeable part of the grid falls outside the image.
func (s *sampler) sample(p plane, t pointMapper, dim int) bool {
	n := dim * dim
	if cap(s.vals) < n {
		s.vals = make([]float32, n)
	}
	s.vals = s.vals[:n]
	offs := [5][2]float64{{0.5, 0.5}, {0.3, 0.3}, {0.7, 0.3}, {0.3, 0.7}, {0.7, 0.7}}
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

// threshold turns the sampled values into a module matrix.
// With inv set, light modules count as dark.
//
// The window statistics are separable: for each row of modules, the
// extremes (or sums) of every column's 2r+1 modules first, then those of
// 2r+1 neighbouring columns, 2(2r+1) reads a module instead of (2r+1)².
// The extremes are those of the whole window, bit for bit; the sums are
// added in another order (float32 rounding only).
func (s *sampler) threshold(dim, mode int, inv bool) *gozxing.BitMatrix {
	m, _ := gozxing.NewSquareBitMatrix(dim)
	v := s.vals
	r := 3
	if mode != threshMidrange {
		r = 2
	}
	if cap(s.cols) < 2*dim {
		s.cols = make([]float32, 2*dim)
	}
	// lo and hi: a column's extremes; for the means, lo holds its sum.
	lo, hi := s.cols[:dim], s.cols[dim:2*dim]
	for y := 0; y < dim; y++ {
		y0, y1 := max(0, y-r), min(dim-1, y+r)
		if mode == threshMidrange {
			copy(lo, v[y0*dim:y0*dim+dim])
			copy(hi, lo)
			for yy := y0 + 1; yy <= y1; yy++ {
				for x, w := range v[yy*dim : yy*dim+dim] {
					lo[x] = min(lo[x], w)
					hi[x] = max(hi[x], w)
				}
			}
		} else {
			copy(lo, v[y0*dim:y0*dim+dim])
			for yy := y0 + 1; yy <= y1; yy++ {
				for x, w := range v[yy*dim : yy*dim+dim] {
					lo[x] += w
				}
			}
		}
		rows := float32(y1 - y0 + 1)
		for x := 0; x < dim; x++ {
			x0, x1 := max(0, x-r), min(dim-1, x+r)
			var t float32
			if mode == threshMidrange {
				l, h := float32(255), float32(0)
				for xx := x0; xx <= x1; xx++ {
					l = min(l, lo[xx])
					h = max(h, hi[xx])
				}
				t = (l + h) / 2
			} else {
				sum := float32(0)
				for _, w := range lo[x0 : x1+1] {
					sum += w
				}
				t = sum / (rows * float32(x1-x0+1))
			}
			if (v[y*dim+x] < t) != inv {
				m.Set(x, y)
			}
		}
	}
	return m
}
