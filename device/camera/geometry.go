package camera

import "math"

// homography maps module coordinates (u, v) to image coordinates:
// x = (h0 u + h1 v + h2) / (h6 u + h7 v + h8), y likewise with h3..h5.
type homography [9]float64

// TransformPoints maps (u, v) pairs in place, as gozxing's
// PerspectiveTransform does, so that both can drive the sampler.
func (h *homography) TransformPoints(pts []float64) {
	for i := 0; i+1 < len(pts); i += 2 {
		u, v := pts[i], pts[i+1]
		w := h[6]*u + h[7]*v + h[8]
		pts[i] = (h[0]*u + h[1]*v + h[2]) / w
		pts[i+1] = (h[3]*u + h[4]*v + h[5]) / w
	}
}

func (h *homography) apply(u, v float64) (float64, float64) {
	w := h[6]*u + h[7]*v + h[8]
	return (h[0]*u + h[1]*v + h[2]) / w, (h[3]*u + h[4]*v + h[5]) / w
}

// correspondence pairs a point in module space with its image position.
type correspondence struct {
	u, v, x, y float64
}

// fitHomography solves for the homography that maps the module points onto
// the image points in the least-squares sense (normalised DLT with h8
// fixed at 1). It needs at least four points, not three on a line.
func fitHomography(cs []correspondence) (homography, bool) {
	if len(cs) < 4 {
		return homography{}, false
	}
	// Normalise both point sets for a well-conditioned system.
	nu, nv, su := normaliser(cs, func(c correspondence) (float64, float64) { return c.u, c.v })
	nx, ny, sx := normaliser(cs, func(c correspondence) (float64, float64) { return c.x, c.y })
	var ata [8][8]float64
	var atb [8]float64
	for _, c := range cs {
		u, v := (c.u-nu)*su, (c.v-nv)*su
		x, y := (c.x-nx)*sx, (c.y-ny)*sx
		rows := [2][8]float64{
			{u, v, 1, 0, 0, 0, -u * x, -v * x},
			{0, 0, 0, u, v, 1, -u * y, -v * y},
		}
		rhs := [2]float64{x, y}
		for r := 0; r < 2; r++ {
			for i := 0; i < 8; i++ {
				atb[i] += rows[r][i] * rhs[r]
				for j := 0; j < 8; j++ {
					ata[i][j] += rows[r][i] * rows[r][j]
				}
			}
		}
	}
	sol, ok := solve8(ata, atb)
	if !ok {
		return homography{}, false
	}
	// Undo the normalisation: H = Tx⁻¹ · Hn · Tu.
	hn := [3][3]float64{{sol[0], sol[1], sol[2]}, {sol[3], sol[4], sol[5]}, {sol[6], sol[7], 1}}
	tu := [3][3]float64{{su, 0, -su * nu}, {0, su, -su * nv}, {0, 0, 1}}
	txInv := [3][3]float64{{1 / sx, 0, nx}, {0, 1 / sx, ny}, {0, 0, 1}}
	m := mul33(txInv, mul33(hn, tu))
	var h homography
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			h[3*i+j] = m[i][j]
		}
	}
	for _, v := range h {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return homography{}, false
		}
	}
	return h, true
}

func normaliser(cs []correspondence, f func(correspondence) (float64, float64)) (mx, my, scale float64) {
	for _, c := range cs {
		x, y := f(c)
		mx += x
		my += y
	}
	mx /= float64(len(cs))
	my /= float64(len(cs))
	d := 0.0
	for _, c := range cs {
		x, y := f(c)
		d += math.Hypot(x-mx, y-my)
	}
	d /= float64(len(cs))
	if d < 1e-9 {
		return mx, my, 1
	}
	return mx, my, math.Sqrt2 / d
}

func mul33(a, b [3][3]float64) [3][3]float64 {
	var c [3][3]float64
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 3; k++ {
				c[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return c
}

// solve8 solves a·x = b by Gaussian elimination with partial pivoting.
func solve8(a [8][8]float64, b [8]float64) ([8]float64, bool) {
	const n = 8
	for col := 0; col < n; col++ {
		piv := col
		for r := col + 1; r < n; r++ {
			if math.Abs(a[r][col]) > math.Abs(a[piv][col]) {
				piv = r
			}
		}
		if math.Abs(a[piv][col]) < 1e-12 {
			return b, false
		}
		a[col], a[piv] = a[piv], a[col]
		b[col], b[piv] = b[piv], b[col]
		for r := col + 1; r < n; r++ {
			f := a[r][col] / a[col][col]
			for c := col; c < n; c++ {
				a[r][c] -= f * a[col][c]
			}
			b[r] -= f * b[col]
		}
	}
	var x [8]float64
	for r := n - 1; r >= 0; r-- {
		s := b[r]
		for c := r + 1; c < n; c++ {
			s -= a[r][c] * x[c]
		}
		x[r] = s / a[r][r]
	}
	return x, true
}

// fitAffine solves for the affine map (no perspective) that takes the
// module points onto the image points in the least-squares sense.
func fitAffine(cs []correspondence) (homography, bool) {
	if len(cs) < 3 {
		return homography{}, false
	}
	var a [3][3]float64
	var bx, by [3]float64
	for _, c := range cs {
		r := [3]float64{c.u, c.v, 1}
		for i := 0; i < 3; i++ {
			bx[i] += r[i] * c.x
			by[i] += r[i] * c.y
			for j := 0; j < 3; j++ {
				a[i][j] += r[i] * r[j]
			}
		}
	}
	ai, ok := inverse33(a)
	if !ok {
		return homography{}, false
	}
	var h homography
	for i := 0; i < 3; i++ {
		for j := 0; j < 3; j++ {
			h[i] += ai[i][j] * bx[j]
			h[3+i] += ai[i][j] * by[j]
		}
	}
	h[8] = 1
	return h, true
}

func inverse33(m [3][3]float64) ([3][3]float64, bool) {
	det := m[0][0]*(m[1][1]*m[2][2]-m[1][2]*m[2][1]) -
		m[0][1]*(m[1][0]*m[2][2]-m[1][2]*m[2][0]) +
		m[0][2]*(m[1][0]*m[2][1]-m[1][1]*m[2][0])
	if math.Abs(det) < 1e-12 {
		return m, false
	}
	var r [3][3]float64
	r[0][0] = (m[1][1]*m[2][2] - m[1][2]*m[2][1]) / det
	r[0][1] = (m[0][2]*m[2][1] - m[0][1]*m[2][2]) / det
	r[0][2] = (m[0][1]*m[1][2] - m[0][2]*m[1][1]) / det
	r[1][0] = (m[1][2]*m[2][0] - m[1][0]*m[2][2]) / det
	r[1][1] = (m[0][0]*m[2][2] - m[0][2]*m[2][0]) / det
	r[1][2] = (m[0][2]*m[1][0] - m[0][0]*m[1][2]) / det
	r[2][0] = (m[1][0]*m[2][1] - m[1][1]*m[2][0]) / det
	r[2][1] = (m[0][1]*m[2][0] - m[0][0]*m[2][1]) / det
	r[2][2] = (m[0][0]*m[1][1] - m[0][1]*m[1][0]) / det
	return r, true
}
