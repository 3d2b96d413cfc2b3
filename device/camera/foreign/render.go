package foreign

import (
	"bytes"
	"image"
	"image/jpeg"
	"math"
	"math/rand/v2"
)

// camera maps points of the code's plane (in modules, origin at the
// code's top-left module corner) to frame pixels and back: a pinhole
// camera (homography) followed by radial barrel distortion.
type camera struct {
	h, hi  [3][3]float64
	cx, cy float64 // distortion centre
	norm   float64 // distortion radius unit, pixels
	k1     float64
}

func (c *camera) project(u, v float64) (float64, float64) {
	w := c.h[2][0]*u + c.h[2][1]*v + c.h[2][2]
	x := (c.h[0][0]*u + c.h[0][1]*v + c.h[0][2]) / w
	y := (c.h[1][0]*u + c.h[1][1]*v + c.h[1][2]) / w
	dx, dy := (x-c.cx)/c.norm, (y-c.cy)/c.norm
	f := 1 + c.k1*(dx*dx+dy*dy)
	return c.cx + dx*f*c.norm, c.cy + dy*f*c.norm
}

// unproject returns the plane point seen at frame point (x, y), and false
// when the point is behind the camera.
func (c *camera) unproject(x, y float64) (float64, float64, bool) {
	dx, dy := (x-c.cx)/c.norm, (y-c.cy)/c.norm
	ux, uy := dx, dy
	if c.k1 != 0 {
		for range 6 {
			f := 1 + c.k1*(ux*ux+uy*uy)
			ux, uy = dx/f, dy/f
		}
	}
	x, y = c.cx+ux*c.norm, c.cy+uy*c.norm
	w := c.hi[2][0]*x + c.hi[2][1]*y + c.hi[2][2]
	if w <= 0 {
		return 0, 0, false
	}
	return (c.hi[0][0]*x + c.hi[0][1]*y + c.hi[0][2]) / w, (c.hi[1][0]*x + c.hi[1][1]*y + c.hi[1][2]) / w, true
}

func mul3(a, b [3][3]float64) [3][3]float64 {
	var c [3][3]float64
	for i := range 3 {
		for j := range 3 {
			for k := range 3 {
				c[i][j] += a[i][k] * b[k][j]
			}
		}
	}
	return c
}

func inv3(m [3][3]float64) ([3][3]float64, bool) {
	a, b, c := m[0][0], m[0][1], m[0][2]
	d, e, f := m[1][0], m[1][1], m[1][2]
	g, h, i := m[2][0], m[2][1], m[2][2]
	det := a*(e*i-f*h) - b*(d*i-f*g) + c*(d*h-e*g)
	if math.Abs(det) < 1e-12 {
		return m, false
	}
	return [3][3]float64{
		{(e*i - f*h) / det, (c*h - b*i) / det, (b*f - c*e) / det},
		{(f*g - d*i) / det, (a*i - c*g) / det, (c*d - a*f) / det},
		{(d*h - e*g) / det, (b*g - a*h) / det, (a*e - b*d) / det},
	}, true
}

// newCamera builds the camera that shows the code (side modules, its
// centre at (side/2, side/2)) with its centre at frame point (px, py).
func newCamera(p *params, side float64, w, h int, px, py float64) (camera, bool) {
	f := float64(w) / 2 / math.Tan(p.fov/2)
	cr, sr := math.Cos(p.roll), math.Sin(p.roll)
	cyw, syw := math.Cos(p.yaw), math.Sin(p.yaw)
	cp, sp := math.Cos(p.pitch), math.Sin(p.pitch)
	rz := [3][3]float64{{cr, -sr, 0}, {sr, cr, 0}, {0, 0, 1}}
	ry := [3][3]float64{{cyw, 0, syw}, {0, 1, 0}, {-syw, 0, cyw}}
	rx := [3][3]float64{{1, 0, 0}, {0, cp, -sp}, {0, sp, cp}}
	r := mul3(rx, mul3(ry, rz))
	z := f / p.modulePx
	cx, cy := float64(w)/2, float64(h)/2
	t := [3]float64{(px - cx) * z / f, (py - cy) * z / f, z}
	// Plane point (u, v, 1) with the code centre at the origin of the
	// rotation: X = r·(u-side/2, v-side/2, 0) + t.
	k := [3][3]float64{{f, 0, cx}, {0, f, cy}, {0, 0, 1}}
	m := [3][3]float64{
		{r[0][0], r[0][1], t[0] - side/2*(r[0][0]+r[0][1])},
		{r[1][0], r[1][1], t[1] - side/2*(r[1][0]+r[1][1])},
		{r[2][0], r[2][1], t[2] - side/2*(r[2][0]+r[2][1])},
	}
	hm := mul3(k, m)
	hi, ok := inv3(hm)
	return camera{h: hm, hi: hi, cx: cx, cy: cy, norm: math.Hypot(cx, cy), k1: p.barrel}, ok
}

// renderCode draws a frame with the code mods (true: dark) in it.
func renderCode(s Spec, p *params, mods [][]bool, rng *rand.Rand) *image.Gray {
	w, h := s.Width, s.Height
	n := float64(len(mods))
	band := 0.0
	if p.nearText {
		band = between(rng, 2, 6)
	}
	edge := p.quiet + p.margin // card beyond the code, modules
	if p.modulePx < 0 {
		p.modulePx = -p.modulePx * float64(h) / (n + 2*p.quiet)
	}
	// Shrink the code until the card (and its band) is inside the frame,
	// at a place drawn at random.
	var cam camera
	for try := 0; ; try++ {
		px := float64(w) * between(rng, 0.3, 0.7)
		py := float64(h) * between(rng, 0.3, 0.7)
		var ok bool
		cam, ok = newCamera(p, n, w, h, px, py)
		ext := edge + band
		inside := ok
		for _, c := range [][2]float64{{-ext, -ext}, {n + ext, -ext}, {-ext, n + ext}, {n + ext, n + ext}, {n / 2, -ext}, {n / 2, n + ext}, {-ext, n / 2}, {n + ext, n / 2}} {
			x, y := cam.project(c[0], c[1])
			if !(x >= 2 && y >= 2 && x <= float64(w)-2 && y <= float64(h)-2) {
				inside = false
			}
		}
		if inside || try > 60 {
			break
		}
		if try%3 == 2 {
			p.modulePx = math.Max(1.5, p.modulePx*0.92)
		}
	}
	if p.gauss < 0 {
		p.gauss *= -p.modulePx
	}
	if p.motionLen < 0 {
		p.motionLen *= -p.modulePx
	}
	if p.defocus < 0 {
		p.defocus *= -p.modulePx
	}

	bg := background(w, h, p.clutter, rng)
	tex := newTexture(p, mods, edge, band, rng)
	ill := lighting(p, w, h, &cam, n)

	// Where the card is: its projected bounding box.
	x0, y0, x1, y1 := float64(w), float64(h), 0.0, 0.0
	ext := edge + band
	for i := 0; i <= 16; i++ {
		t := -ext + (n+2*ext)*float64(i)/16
		for _, c := range [][2]float64{{t, -ext}, {t, n + ext}, {-ext, t}, {n + ext, t}} {
			x, y := cam.project(c[0], c[1])
			x0, y0, x1, y1 = math.Min(x0, x), math.Min(y0, y), math.Max(x1, x), math.Max(y1, y)
		}
	}
	ix0, iy0 := max(0, int(x0)-1), max(0, int(y0)-1)
	ix1, iy1 := min(w, int(x1)+2), min(h, int(y1)+2)

	ss := 2
	if p.screen {
		ss = 4
	}
	for y := iy0; y < iy1; y++ {
		for x := ix0; x < ix1; x++ {
			i := y*w + x
			sum, in := 0.0, 0
			for sy := range ss {
				for sx := range ss {
					u, v, ok := cam.unproject(float64(x)+(float64(sx)+0.5)/float64(ss), float64(y)+(float64(sy)+0.5)/float64(ss))
					if !ok || u < -ext || v < -ext || u > n+ext || v > n+ext {
						continue
					}
					in++
					if p.screen {
						sum += screenAt(p, mods, u, v, edge)
					} else {
						sum += tex.at(u, v)
					}
				}
			}
			if in == 0 {
				continue
			}
			a := sum / float64(in)
			frac := float64(in) / float64(ss*ss)
			if p.screen {
				// Emission does not depend on the room's light; the
				// glass reflects a little of it.
				e := a*p.screenLum*p.exposure + p.reflect*ill[i]
				bg[i] = frac*e/ill[i] + (1-frac)*bg[i]
				continue
			}
			bg[i] = frac*a + (1-frac)*bg[i]
		}
	}
	rad := bg
	for i := range rad {
		rad[i] *= ill[i]
	}
	addGlare(p, rad, w, h, &cam, n)
	return expose(p, rad, w, h, sensorRNG(s, rng))
}

// texture is the card rasterised: paper, ink with dot gain, paper grain
// and specks, and for the Quiet variant text or a border right beside
// the quiet zone.
type texture struct {
	v       []float64
	side    int     // texels per row
	tpm     float64 // texels per module
	origin  float64 // plane coordinate of texel 0, modules
	bicubic bool
}

func newTexture(p *params, mods [][]bool, edge, band float64, rng *rand.Rand) *texture {
	n := len(mods)
	tpm := math.Min(12, math.Max(4, math.Ceil(p.modulePx*1.5)))
	ext := edge + band
	side := int(math.Ceil((float64(n) + 2*ext) * tpm))
	t := &texture{v: make([]float64, side*side), side: side, tpm: tpm, origin: -ext, bicubic: p.bicubic}
	dark := func(mx, my int) bool { return mx >= 0 && my >= 0 && mx < n && my < n && mods[my][mx] }
	grain := newNoise(rng, 2.5)     // paper's cloudiness, modules
	fine := newNoise(rng, 0.35)     // fibre, modules
	inkVar := newNoise(rng, 1.7)    // uneven ink
	borderW := between(rng, 0.5, 2) // Quiet: dark border's width, modules
	border := rng.IntN(2) == 0
	glyph := between(rng, 0.8, 2) // Quiet: text height, modules
	font := newFont(rng)
	for ty := range side {
		for tx := range side {
			sum := 0.0
			for sy := range 2 {
				for sx := range 2 {
					u := t.origin + (float64(tx)+0.25+0.5*float64(sx))/tpm
					v := t.origin + (float64(ty)+0.25+0.5*float64(sy))/tpm
					var ink bool
					switch {
					case u < -edge || v < -edge || u > float64(n)+edge || v > float64(n)+edge:
						// The band beside the card (Quiet only).
						d := math.Max(math.Max(-edge-u, u-float64(n)-edge), math.Max(-edge-v, v-float64(n)-edge))
						if border {
							ink = d < borderW
						} else {
							// Text rows running along the card.
							along := u
							if math.Abs(u-float64(n)/2) > math.Abs(v-float64(n)/2) {
								along = v
							}
							ink = font.ink(along/glyph*5, (d-0.3)/glyph*7)
						}
					default:
						ink = inked(dark, u, v, p.dotGain)
					}
					if ink {
						sum += p.inkAlb * (1 + 0.4*inkVar.at(u, v))
					} else {
						sum += p.cardAlb * (1 + p.paperTex*(grain.at(u, v)+0.5*fine.at(u, v)))
					}
				}
			}
			t.v[ty*side+tx] = sum / 4
		}
	}
	if p.speckle > 0 {
		specks := int(p.speckle * float64(side*side) / (tpm * tpm / 4))
		for range specks {
			x, y := rng.IntN(side), rng.IntN(side)
			r := 1 + rng.IntN(max(1, int(tpm/6)))
			lvl := p.inkAlb
			if rng.IntN(3) == 0 {
				lvl = p.cardAlb // a void in the ink
			}
			for dy := -r; dy <= r; dy++ {
				for dx := -r; dx <= r; dx++ {
					if xx, yy := x+dx, y+dy; dx*dx+dy*dy <= r*r && xx >= 0 && yy >= 0 && xx < side && yy < side {
						t.v[yy*side+xx] = lvl
					}
				}
			}
		}
	}
	return t
}

// inked reports whether plane point (u, v) is inked: inside a dark
// module grown by gain modules (shrunk when gain < 0).
func inked(dark func(int, int) bool, u, v, gain float64) bool {
	mx, my := int(math.Floor(u)), int(math.Floor(v))
	fx, fy := u-float64(mx), v-float64(my)
	in := dark(mx, my)
	g := math.Abs(gain)
	if g == 0 {
		return in
	}
	// Distance from (fx, fy) to the nearest module of the other colour.
	d := math.Inf(1)
	for dy := -1; dy <= 1; dy++ {
		for dx := -1; dx <= 1; dx++ {
			if (dx == 0 && dy == 0) || dark(mx+dx, my+dy) == in {
				continue
			}
			ex, ey := 0.0, 0.0
			switch dx {
			case -1:
				ex = fx
			case 1:
				ex = 1 - fx
			}
			switch dy {
			case -1:
				ey = fy
			case 1:
				ey = 1 - fy
			}
			d = math.Min(d, math.Hypot(ex, ey))
		}
	}
	if gain > 0 {
		return in || d < g
	}
	return in && d >= g
}

// at samples the texture at plane point (u, v), bilinear or bicubic.
func (t *texture) at(u, v float64) float64 {
	x := (u-t.origin)*t.tpm - 0.5
	y := (v-t.origin)*t.tpm - 0.5
	ix, iy := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := x-float64(ix), y-float64(iy)
	get := func(x, y int) float64 {
		x = min(max(x, 0), t.side-1)
		y = min(max(y, 0), t.side-1)
		return t.v[y*t.side+x]
	}
	if !t.bicubic {
		a := get(ix, iy)*(1-fx) + get(ix+1, iy)*fx
		b := get(ix, iy+1)*(1-fx) + get(ix+1, iy+1)*fx
		return a*(1-fy) + b*fy
	}
	wx, wy := catmullRom(fx), catmullRom(fy)
	sum := 0.0
	for j := range 4 {
		row := 0.0
		for i := range 4 {
			row += wx[i] * get(ix-1+i, iy-1+j)
		}
		sum += wy[j] * row
	}
	return math.Max(0, sum)
}

func catmullRom(t float64) [4]float64 {
	t2, t3 := t*t, t*t*t
	return [4]float64{
		(-t3 + 2*t2 - t) / 2,
		(3*t3 - 5*t2 + 2) / 2,
		(-3*t3 + 4*t2 + t) / 2,
		(t3 - t2) / 2,
	}
}

// screenAt is a phone screen's emission at plane point (u, v): the code
// at the screen's pixel resolution, each pixel three vertical subpixel
// stripes of unequal brightness with dark gaps between them and between
// rows. The mean over a pixel is the module's level.
func screenAt(p *params, mods [][]bool, u, v, edge float64) float64 {
	n := len(mods)
	sx, sy := (u+edge)*p.screenPx, (v+edge)*p.screenPx
	// The module this screen pixel shows.
	mx := int(math.Floor((math.Floor(sx)+0.5)/p.screenPx - edge))
	my := int(math.Floor((math.Floor(sy)+0.5)/p.screenPx - edge))
	dark := mx >= 0 && my >= 0 && mx < n && my < n && mods[my][mx]
	if p.screenDark {
		dark = !dark
	}
	level := 1.0
	if dark {
		level = 0.03
	}
	fx, fy := sx-math.Floor(sx), sy-math.Floor(sy)
	if fy > 0.82 {
		return 0.01
	}
	// Red, green and blue stripes as a grey sensor sees them, scaled so
	// that a lit pixel averages to level.
	var lum float64
	switch {
	case fx < 0.3:
		lum = 0.30
	case fx > 1.0/3 && fx < 0.3+1.0/3:
		lum = 0.59
	case fx > 2.0/3 && fx < 0.3+2.0/3:
		lum = 0.11
	default:
		return 0.01
	}
	return level * lum * 3 / 0.9 / 0.82
}

// lighting returns the light falling on each pixel, relative to full
// scale: exposure, vignetting, a gradient and a shadow edge.
func lighting(p *params, w, h int, cam *camera, n float64) []float64 {
	ill := make([]float64, w*h)
	cx, cy := cam.project(n/2, n/2)
	ca, sa := math.Cos(p.shadowAng), math.Sin(p.shadowAng)
	off := p.shadowOff * p.modulePx
	rmax := math.Hypot(float64(w)/2, float64(h)/2)
	for y := range h {
		for x := range w {
			dx, dy := float64(x)-float64(w)/2, float64(y)-float64(h)/2
			r2 := (dx*dx + dy*dy) / (rmax * rmax)
			l := p.exposure * (1 - p.vignette*r2) * (1 + p.gradX*dx/float64(w)*2 + p.gradY*dy/float64(h)*2)
			if p.shadow > 0 {
				d := (float64(x)-cx)*ca + (float64(y)-cy)*sa - off
				s := 0.5 + 0.5*math.Tanh(d/math.Max(0.3, p.shadowSoft))
				l *= 1 - p.shadow*s
			}
			ill[y*w+x] = math.Max(0.005, l)
		}
	}
	return ill
}

// addGlare adds specular spots near the code, in radiance.
func addGlare(p *params, rad []float64, w, h int, cam *camera, n float64) {
	for _, g := range p.glare {
		gx, gy := cam.project(n/2+g.dx, n/2+g.dy)
		r := g.r * p.modulePx
		x0, x1 := max(0, int(gx-4*r)), min(w, int(gx+4*r)+1)
		y0, y1 := max(0, int(gy-4*r)), min(h, int(gy+4*r)+1)
		for y := y0; y < y1; y++ {
			for x := x0; x < x1; x++ {
				dx, dy := float64(x)-gx, float64(y)-gy
				rad[y*w+x] += g.amp * math.Exp(-(dx*dx+dy*dy)/(2*r*r))
			}
		}
	}
}

// expose runs the optics and the sensor over the radiance: blur, shot and
// read noise, gamma, sharpening, 8-bit levels, and JPEG.
func expose(p *params, rad []float64, w, h int, rng *rand.Rand) *image.Gray {
	gaussBlur(rad, w, h, p.gauss)
	if p.motionLen > 0 {
		rad = motionBlur(rad, w, h, p.motionLen, p.motionAng)
	}
	if p.defocus > 0 {
		rad = discBlur(rad, w, h, p.defocus)
	}
	out := make([]float64, w*h)
	for i, r := range rad {
		lambda := math.Min(math.Max(r, 0), 1.5) * p.fullWell
		e := poisson(rng, lambda) + rng.NormFloat64()*p.readNoise
		v := math.Min(math.Max(e/p.fullWell, 0), 1)
		out[i] = 255 * math.Pow(v, 1/p.gamma)
	}
	if p.sharpen > 0 {
		soft := append([]float64(nil), out...)
		gaussBlur(soft, w, h, 1.2)
		for i := range out {
			out[i] += p.sharpen * (out[i] - soft[i])
		}
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i, v := range out {
		img.Pix[i] = uint8(math.Min(255, math.Max(0, math.Round(v))))
	}
	if p.jpegQ > 0 {
		var buf bytes.Buffer
		if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: p.jpegQ}); err == nil {
			if d, err := jpeg.Decode(&buf); err == nil {
				if g, ok := d.(*image.Gray); ok {
					img = g
				}
			}
		}
	}
	return img
}

// poisson draws from a Poisson distribution of mean lambda: by counting
// for small means, by its normal approximation for large ones.
func poisson(rng *rand.Rand, lambda float64) float64 {
	if lambda <= 0 {
		return 0
	}
	if lambda > 40 {
		return math.Max(0, lambda+math.Sqrt(lambda)*rng.NormFloat64())
	}
	l, k, prod := math.Exp(-lambda), 0, rng.Float64()
	for prod > l {
		k++
		prod *= rng.Float64()
	}
	return float64(k)
}

func gaussBlur(v []float64, w, h int, sigma float64) {
	if sigma < 0.2 {
		return
	}
	rad := int(math.Ceil(3 * sigma))
	k := make([]float64, 2*rad+1)
	sum := 0.0
	for i := range k {
		d := float64(i - rad)
		k[i] = math.Exp(-d * d / (2 * sigma * sigma))
		sum += k[i]
	}
	for i := range k {
		k[i] /= sum
	}
	tmp := make([]float64, len(v))
	for y := range h {
		row := v[y*w : y*w+w]
		for x := range w {
			acc := 0.0
			for i, kv := range k {
				acc += kv * row[min(max(x+i-rad, 0), w-1)]
			}
			tmp[y*w+x] = acc
		}
	}
	for y := range h {
		for x := range w {
			acc := 0.0
			for i, kv := range k {
				acc += kv * tmp[min(max(y+i-rad, 0), h-1)*w+x]
			}
			v[y*w+x] = acc
		}
	}
}

// motionBlur averages along a straight streak of length px at angle ang.
func motionBlur(v []float64, w, h int, length, ang float64) []float64 {
	taps := int(math.Ceil(length*2)) + 1
	dx, dy := math.Cos(ang), math.Sin(ang)
	out := make([]float64, len(v))
	at := func(x, y float64) float64 {
		ix, iy := int(math.Floor(x)), int(math.Floor(y))
		fx, fy := x-float64(ix), y-float64(iy)
		g := func(x, y int) float64 { return v[min(max(y, 0), h-1)*w+min(max(x, 0), w-1)] }
		return (g(ix, iy)*(1-fx)+g(ix+1, iy)*fx)*(1-fy) + (g(ix, iy+1)*(1-fx)+g(ix+1, iy+1)*fx)*fy
	}
	for y := range h {
		for x := range w {
			acc := 0.0
			for t := range taps {
				s := (float64(t)/float64(taps-1) - 0.5) * length
				acc += at(float64(x)+s*dx, float64(y)+s*dy)
			}
			out[y*w+x] = acc / float64(taps)
		}
	}
	return out
}

// discBlur convolves with a uniform disc of radius r (a defocused lens),
// its rim antialiased.
func discBlur(v []float64, w, h int, r float64) []float64 {
	rad := int(math.Ceil(r + 0.5))
	type tap struct {
		dx, dy int
		k      float64
	}
	var taps []tap
	sum := 0.0
	for dy := -rad; dy <= rad; dy++ {
		for dx := -rad; dx <= rad; dx++ {
			k := math.Min(1, math.Max(0, r+0.5-math.Hypot(float64(dx), float64(dy))))
			if k > 0 {
				taps = append(taps, tap{dx, dy, k})
				sum += k
			}
		}
	}
	out := make([]float64, len(v))
	for y := range h {
		for x := range w {
			acc := 0.0
			for _, t := range taps {
				acc += t.k * v[min(max(y+t.dy, 0), h-1)*w+min(max(x+t.dx, 0), w-1)]
			}
			out[y*w+x] = acc / sum
		}
	}
	return out
}

// noise is smooth value noise in [-1, 1] on a lattice of the given
// spacing.
type noise struct {
	spacing float64
	perm    [256]uint8
	val     [256]float64
}

func newNoise(rng *rand.Rand, spacing float64) *noise {
	n := &noise{spacing: spacing}
	for i := range n.perm {
		n.perm[i] = uint8(i)
		n.val[i] = rng.Float64()*2 - 1
	}
	rng.Shuffle(len(n.perm), func(i, j int) { n.perm[i], n.perm[j] = n.perm[j], n.perm[i] })
	return n
}

func (n *noise) lattice(x, y int) float64 {
	return n.val[n.perm[(int(n.perm[x&255])+y)&255]]
}

func (n *noise) at(u, v float64) float64 {
	x, y := u/n.spacing, v/n.spacing
	ix, iy := int(math.Floor(x)), int(math.Floor(y))
	fx, fy := x-float64(ix), y-float64(iy)
	sx, sy := fx*fx*(3-2*fx), fy*fy*(3-2*fy)
	a := n.lattice(ix, iy)*(1-sx) + n.lattice(ix+1, iy)*sx
	b := n.lattice(ix, iy+1)*(1-sx) + n.lattice(ix+1, iy+1)*sx
	return a*(1-sy) + b*sy
}
