package camera

import (
	"errors"
	"fmt"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// The decoder reads grids at sizes it guesses (gozxing's estimate and its
// neighbours, the version information's size, our own triples), on
// several thresholds and planes per frame: every extra grid is one more
// chance for a wrong grid to reach the Reed-Solomon decoder. Only Reed-
// Solomon (and the format information's BCH code) stands between such a
// grid and a false decode, which at a gate opens a door with the wrong
// person's code. TestNoFalseDecodes soaks the whole decoder in frames made
// to tempt it, from a fixed seed, and fails on any text that is not the
// frame's truth:
//   - clutter without a code: noise, checkerboards and stripes at any
//     angle, and finder-like concentric squares placed as a code's three;
//   - fake codes: a real code's finders, timing, format and version
//     information with random modules everywhere else, which no decoder
//     may read;
//   - real codes with modules flipped, up to twice what their error
//     correction repairs, or a block of them overwritten with noise,
//     which may be read only as what they say.

// soakModules returns the module matrix of payload at level ecl.
func soakModules(t testing.TB, payload, ecl string) [][]bool {
	t.Helper()
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: ecl,
		gozxing.EncodeHintType_MARGIN:           0,
	}
	m, err := qrcode.NewQRCodeWriter().Encode(payload, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		t.Fatalf("encode %q: %v", payload, err)
	}
	n := m.GetWidth()
	mods := make([][]bool, n)
	for y := range mods {
		mods[y] = make([]bool, n)
		for x := range mods[y] {
			mods[y][x] = m.Get(x, y)
		}
	}
	return mods
}

// soakFunction reports whether module (x, y) of a code of n modules is
// part of its finders, separators, format information, timing patterns
// or version information: what a fake code keeps of a real one.
func soakFunction(n, x, y int) bool {
	switch {
	case x <= 8 && y <= 8, x >= n-8 && y <= 8, x <= 8 && y >= n-8:
		return true
	case x == 6 || y == 6:
		return true
	case n >= 45 && x >= n-11 && x <= n-9 && y <= 5,
		n >= 45 && y >= n-11 && y <= n-9 && x <= 5:
		return true
	}
	return false
}

// soakRender draws mods into a w×h frame: modules of s pixels, turned by
// angle about the frame's centre shifted by (dx, dy), dark ink on a light
// ground, with Gaussian noise of sigma grey levels.
func soakRender(rng *rand.Rand, mods [][]bool, w, h int, s, angle, dx, dy, sigma float64) *image.Gray {
	n := float64(len(mods))
	img := image.NewGray(image.Rect(0, 0, w, h))
	cs, sn := math.Cos(angle), math.Sin(angle)
	cx, cy := float64(w)/2+dx, float64(h)/2+dy
	dark, light := 20+rng.Float64()*60, 170+rng.Float64()*80
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			px, py := float64(x)+0.5-cx, float64(y)+0.5-cy
			u := (cs*px+sn*py)/s + n/2
			v := (-sn*px+cs*py)/s + n/2
			g := light
			if u >= 0 && v >= 0 && u < n && v < n && mods[int(v)][int(u)] {
				g = dark
			}
			g += rng.NormFloat64() * sigma
			img.Pix[y*img.Stride+x] = uint8(max(0, min(255, g)))
		}
	}
	return img
}

const soakAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz:/.-"

func soakPayload(rng *rand.Rand) string {
	b := make([]byte, 4+rng.IntN(150))
	for i := range b {
		b[i] = soakAlphabet[rng.IntN(len(soakAlphabet))]
	}
	return string(b)
}

// soakClutter renders a frame without a code.
func soakClutter(rng *rand.Rand, w, h int) (*image.Gray, string) {
	img := image.NewGray(image.Rect(0, 0, w, h))
	kind := rng.IntN(4)
	period := 2 + rng.Float64()*14
	angle := rng.Float64() * math.Pi
	cs, sn := math.Cos(angle), math.Sin(angle)
	sigma := rng.Float64() * 20
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			u, v := (cs*float64(x)+sn*float64(y))/period, (-sn*float64(x)+cs*float64(y))/period
			var g float64
			switch kind {
			case 0: // noise
				g = rng.Float64() * 255
			case 1: // checkerboard
				g = 40
				if (int(math.Floor(u))+int(math.Floor(v)))&1 == 0 {
					g = 220
				}
			case 2: // stripes
				g = 40
				if int(math.Floor(u))&1 == 0 {
					g = 220
				}
			case 3: // light ground for squares
				g = 220
			}
			img.Pix[y*img.Stride+x] = uint8(max(0, min(255, g+rng.NormFloat64()*sigma)))
		}
	}
	if kind == 3 {
		// Three finder-like 7×7 squares at a right angle, random
		// modules between them: all a code has but its data.
		ms := 2 + rng.Float64()*5
		side := 14 + rng.IntN(30)
		x0, y0 := rng.IntN(max(1, w-int(float64(side+7)*ms))), rng.IntN(max(1, h-int(float64(side+7)*ms)))
		n := side + 7
		mods := make([][]bool, n)
		for y := range mods {
			mods[y] = make([]bool, n)
			for x := range mods[y] {
				mods[y][x] = rng.IntN(2) == 0
			}
		}
		for _, o := range [3][2]int{{0, 0}, {n - 7, 0}, {0, n - 7}} {
			for y := -1; y <= 7; y++ {
				for x := -1; x <= 7; x++ {
					mx, my := o[0]+x, o[1]+y
					if mx < 0 || my < 0 || mx >= n || my >= n {
						continue
					}
					d := max(abs(x-3), abs(y-3))
					mods[my][mx] = d != 2 && d != 4
				}
			}
		}
		for y := 0; y < int(float64(n)*ms) && y0+y < h; y++ {
			for x := 0; x < int(float64(n)*ms) && x0+x < w; x++ {
				if mods[int(float64(y)/ms)][int(float64(x)/ms)] {
					img.Pix[(y0+y)*img.Stride+x0+x] = 30
				}
			}
		}
	}
	return img, fmt.Sprintf("clutter kind %d period %.1f angle %.2f sigma %.1f", kind, period, angle, sigma)
}

func TestNoFalseDecodes(t *testing.T) {
	perKind := 100
	if testing.Short() || raceEnabled {
		perKind = 20
	}
	rng := rand.New(rand.NewPCG(0x50a6, 14))
	d := NewDecoder()
	levels := []string{"L", "M", "Q", "H"}
	var frames, read, falses int
	check := func(img *image.Gray, truth, what string) {
		frames++
		r, err := d.Decode(img)
		if err != nil {
			return
		}
		if string(r.Payload) != truth {
			falses++
			t.Errorf("false decode: %s: read %q, want %q", what, r.Payload, truth)
			return
		}
		read++
	}
	size := func() (int, int) { return 200 + rng.IntN(240), 200 + rng.IntN(240) }

	for i := range perKind {
		w, h := size()
		img, what := soakClutter(rng, w, h)
		check(img, "", fmt.Sprintf("frame %d, %dx%d %s", i, w, h, what))
	}
	for i := range perKind {
		ecl := levels[rng.IntN(len(levels))]
		mods := soakModules(t, soakPayload(rng), ecl)
		n := len(mods)
		for y := range n {
			for x := range n {
				if !soakFunction(n, x, y) {
					mods[y][x] = rng.IntN(2) == 0
				}
			}
		}
		w, h := size()
		s := min(float64(min(w, h))/float64(n+4), 2+rng.Float64()*4)
		img := soakRender(rng, mods, w, h, s, rng.Float64()*2*math.Pi, 0, 0, rng.Float64()*12)
		check(img, "", fmt.Sprintf("fake code %d, %d modules, level %s", i, n, ecl))
	}
	for i := range perKind {
		ecl := levels[rng.IntN(len(levels))]
		text := soakPayload(rng)
		mods := soakModules(t, text, ecl)
		n := len(mods)
		// Up to about twice as many wrong codewords as level H repairs
		// (a codeword is eight modules; H repairs some 30% of them).
		flips := rng.IntN(1 + n*n*3/40)
		what := fmt.Sprintf("%d flips", flips)
		if rng.IntN(3) == 0 {
			flips = 0
			bx, by, bw := rng.IntN(n), rng.IntN(n), 3+rng.IntN(n/2)
			for y := by; y < min(n, by+bw); y++ {
				for x := bx; x < min(n, bx+bw); x++ {
					mods[y][x] = rng.IntN(2) == 0
				}
			}
			what = fmt.Sprintf("%d-module block of noise at %d,%d", bw, bx, by)
		}
		for range flips {
			x, y := rng.IntN(n), rng.IntN(n)
			if !soakFunction(n, x, y) {
				mods[y][x] = !mods[y][x]
			}
		}
		w, h := size()
		s := min(float64(min(w, h))/float64(n+4), 2+rng.Float64()*4)
		img := soakRender(rng, mods, w, h, s, rng.Float64()*2*math.Pi, 0, 0, rng.Float64()*12)
		check(img, text, fmt.Sprintf("corrupt code %d, %d modules, level %s, %s", i, n, ecl, what))
	}
	t.Logf("%d frames, %d read as their truth, %d false decodes", frames, read, falses)
}

// TestDecodeOddShapes decodes images of shapes no camera gives (one pixel
// wide or tall, just under and over the sizes where the half- and
// quarter-scale planes start, sub-images with a stride far wider than
// their width) holding noise, a flat grey or a code: none may panic, and
// a code may be read only as what it says.
func TestDecodeOddShapes(t *testing.T) {
	rng := rand.New(rand.NewPCG(0x0dd, 5))
	const text = "HC1:ODD-SHAPES"
	d := NewDecoder()
	shapes := [][2]int{
		{1, 1}, {1, 7}, {7, 1}, {1, 4000}, {4000, 1}, {2, 3000}, {3000, 2},
		{3, 3}, {20, 20}, {239, 239}, {240, 240}, {241, 239}, {240, 3000},
		{3000, 240}, {1921, 1081}, {2000, 1200},
	}
	for _, sh := range shapes {
		w, h := sh[0], sh[1]
		for fill := range 3 {
			// A parent image wider than the shape, so the sub-image's
			// stride exceeds its width and rows start at odd offsets.
			pw, ph := w+17, h+3
			parent := image.NewGray(image.Rect(0, 0, pw, ph))
			for i := range parent.Pix {
				switch fill {
				case 0:
					parent.Pix[i] = uint8(rng.IntN(256))
				case 1:
					parent.Pix[i] = 128
				case 2:
					parent.Pix[i] = 255
				}
			}
			if fill == 2 && w >= 100 && h >= 100 {
				s := min(w, h) / 30
				qr := encodeQR(t, text, "M", "", s, 0, 0)
				for y := 0; y < qr.Rect.Dy() && y+1 < ph; y++ {
					copy(parent.Pix[(y+1)*parent.Stride+5:(y+1)*parent.Stride+5+min(w, qr.Rect.Dx())], qr.Pix[y*qr.Stride:])
				}
			}
			img := parent.SubImage(image.Rect(5, 1, 5+w, 1+h)).(*image.Gray)
			r, err := d.Decode(img)
			if err == nil && string(r.Payload) != text {
				t.Errorf("%dx%d fill %d: read %q", w, h, fill, r.Payload)
			}
			if err != nil && !errors.Is(err, ErrNoCode) {
				t.Errorf("%dx%d fill %d: %v, want ErrNoCode", w, h, fill, err)
			}
		}
	}
}
