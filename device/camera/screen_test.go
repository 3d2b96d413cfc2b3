package camera

import (
	"bytes"
	"errors"
	"image"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"sentinel/device/camera/camtest"
	"sentinel/device/camera/foreign"
)

// TestScreenLosesNoCode decodes frames of the benchmark set with and
// without the screen that rejects frames without finder patterns: the
// screen must not lose a code the passes read, nor make a false decode,
// and must reject most empty frames at both sizes (the empty scenes hold
// checkerboards of module-sized cells, stripes and sensor noise).
// SENTINEL_SCREEN_ALL=1 runs the whole set instead of the first rep's
// 640×480 frames and empty frames.
func TestScreenLosesNoCode(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("renders and decodes a hundred frames twice; run without -short and -race")
	}
	all := os.Getenv("SENTINEL_SCREEN_ALL") == "1"
	with, without := NewDecoder(), NewDecoder()
	without.noScreen = true
	var frames, decoded int
	empty, rejected := map[int]int{}, map[int]int{}
	var specs []camtest.Spec
	for i, s := range camtest.Set() {
		if all || ((s.Width == 640 || s.Want() == nil) && i < len(camtest.Set())/camtest.SetReps) {
			specs = append(specs, s)
		}
	}
	// And the empty scenes of the tuning draw.
	for _, sz := range camtest.Sizes {
		for _, s := range camtest.Tuning(sz.X, sz.Y, 8) {
			if s.Variant == camtest.Empty {
				specs = append(specs, s)
			}
		}
	}
	for _, s := range specs {
		img, err := camtest.Render(s)
		if err != nil {
			t.Fatal(err)
		}
		frames++
		before := with.screen.rejected
		r1, err1 := with.Decode(img)
		if with.screen.rejected > before && s.Want() == nil {
			rejected[s.Width]++
		}
		r2, err2 := without.Decode(img)
		if s.Want() == nil {
			empty[s.Width]++
			if err1 == nil || err2 == nil {
				t.Errorf("%s: empty frame decoded to %.20q / %.20q", s.Name(), r1.Payload, r2.Payload)
			}
			continue
		}
		if err1 == nil && !bytes.Equal(r1.Payload, s.Want()) {
			t.Errorf("%s: false decode %.20q", s.Name(), r1.Payload)
		}
		if err2 == nil && err1 != nil {
			t.Errorf("%s: the passes read the code but the screen rejected the frame (%v)", s.Name(), err1)
		}
		if err1 != nil && !errors.Is(err1, ErrNoCode) {
			t.Errorf("%s: %v", s.Name(), err1)
		}
		if err1 == nil {
			decoded++
		}
	}
	t.Logf("%d frames: %d codes decoded; the screen rejected %d of %d empty 640×480 frames and %d of %d 1280×720", frames, decoded, rejected[640], empty[640], rejected[1280], empty[1280])
	// Before the screen asked for three finders in a code's geometry,
	// split rows at edges and weighed ring contrast against the frame's
	// noise, it passed every 640×480 empty frame (sensor noise on a plain
	// wall and random cells made finder-like runs at full scale) and a
	// quarter of the 720p ones. Before it checked the lines between a
	// place's row, column and diagonals (betweenLines), it still passed a
	// quarter of the 640×480 ones (11 of 14 rejected here); today none.
	if 10*rejected[640] < 9*empty[640] {
		t.Errorf("the screen rejected %d of %d empty 640×480 frames, want at least nine tenths", rejected[640], empty[640])
	}
	if 10*rejected[1280] < 9*empty[1280] {
		t.Errorf("the screen rejected %d of %d empty 1280×720 frames, want at least nine tenths", rejected[1280], empty[1280])
	}
}

// TestScreenRejectsRandomCells screens frames holding a grid of random
// module-sized cells (the texture of a code's data, without its finders)
// on a plain wall, drawn here, not by camtest: at full scale such a grid
// shows 1:1:3:1:1 along a row, a column and both diagonals through a
// place often enough that three places formed a code's triangle in about
// a quarter of camtest's 640×480 empty scenes. The lines between those
// four (betweenLines) must reject them.
func TestScreenRejectsRandomCells(t *testing.T) {
	const frames = 60
	var s screenScratch
	passed := 0
	for seed := range uint64(frames) {
		rng := rand.New(rand.NewPCG(seed, 14))
		w, h := 640, 480
		img := image.NewGray(image.Rect(0, 0, w, h))
		wall := 60 + rng.IntN(120)
		for i := range img.Pix {
			img.Pix[i] = byte(wall + rng.IntN(5))
		}
		cell := 3 + rng.IntN(6)
		n := 25 + rng.IntN(25)
		x0, y0 := rng.IntN(w-n*cell), rng.IntN(h-n*cell)
		dark, light := 20+rng.IntN(40), 190+rng.IntN(50)
		for cy := range n {
			for cx := range n {
				v := light
				if rng.IntN(2) == 0 {
					v = dark
				}
				for y := y0 + cy*cell; y < y0+(cy+1)*cell; y++ {
					for x := x0 + cx*cell; x < x0+(cx+1)*cell; x++ {
						img.Pix[y*img.Stride+x] = byte(v + rng.IntN(5))
					}
				}
			}
		}
		p, err := planeOf(img)
		if err != nil {
			t.Fatal(err)
		}
		if s.finderHint(p) {
			passed++
		}
	}
	t.Logf("%d of %d grids of random cells passed the screen", passed, frames)
	if passed > frames/20 {
		t.Errorf("%d of %d grids of random cells passed the screen, want at most %d", passed, frames, frames/20)
	}
}

// TestScreenKeepsSlantedFinders screens frames holding a code-like grid of
// 33×33 modules (three finder patterns with their separators, random
// modules elsewhere) seen through an affine map: rotated by 0-45°,
// stretched along one axis by up to 40 % and sheared, modules of 3-7
// pixels, with sensor noise. Every line through a finder's centre keeps
// the 1:1:3:1:1 ratio under such a map, so the screen must pass them all
// (a fixed-radius light-ring check did not: see betweenLines).
func TestScreenKeepsSlantedFinders(t *testing.T) {
	const frames = 40
	var s screenScratch
	for seed := range uint64(frames) {
		rng := rand.New(rand.NewPCG(seed, 41))
		mods := slantTestModules(rng, 33)
		ms := 3 + 4*rng.Float64()
		angle := rng.Float64() * math.Pi / 4
		stretch := 1 + 0.4*rng.Float64()
		shear := 0.3 * (2*rng.Float64() - 1)
		// Module coordinates to pixels: rotate(scale(stretch, 1)·shear).
		c, si := math.Cos(angle), math.Sin(angle)
		a := [2][2]float64{{ms * stretch, ms * shear}, {0, ms}}
		m := [2][2]float64{
			{c*a[0][0] - si*a[1][0], c*a[0][1] - si*a[1][1]},
			{si*a[0][0] + c*a[1][0], si*a[0][1] + c*a[1][1]},
		}
		det := m[0][0]*m[1][1] - m[0][1]*m[1][0]
		inv := [2][2]float64{{m[1][1] / det, -m[0][1] / det}, {-m[1][0] / det, m[0][0] / det}}
		w, h := 640, 480
		img := image.NewGray(image.Rect(0, 0, w, h))
		noise := 2 + 10*rng.Float64()
		for y := range h {
			for x := range w {
				// Four samples a pixel, the code centred in the frame.
				sum := 0.0
				for _, o := range [4][2]float64{{0.25, 0.25}, {0.75, 0.25}, {0.25, 0.75}, {0.75, 0.75}} {
					px, py := float64(x)+o[0]-float64(w)/2, float64(y)+o[1]-float64(h)/2
					u := inv[0][0]*px + inv[0][1]*py + 16.5
					v := inv[1][0]*px + inv[1][1]*py + 16.5
					level := 200.0
					if u >= 0 && v >= 0 && u < 33 && v < 33 && mods[int(v)][int(u)] {
						level = 40
					}
					sum += level
				}
				img.Pix[y*img.Stride+x] = byte(max(0, min(255, sum/4+noise*rng.NormFloat64())))
			}
		}
		p, err := planeOf(img)
		if err != nil {
			t.Fatal(err)
		}
		if !s.finderHint(p) {
			t.Errorf("seed %d: three finders with modules of %.1f px, turned %.0f°, stretched %.2f, sheared %.2f, noise %.1f: the screen rejected the frame",
				seed, ms, angle*180/math.Pi, stretch, shear, noise)
		}
	}
}

// slantTestModules returns an n×n module grid with a code's three finder
// patterns, their light separators, and random modules elsewhere.
func slantTestModules(rng *rand.Rand, n int) [][]bool {
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
				yy, xx := o[1]+y, o[0]+x
				if yy < 0 || xx < 0 || yy >= n || xx >= n {
					continue
				}
				d := max(abs(x-3), abs(y-3))
				mods[yy][xx] = d <= 1 || d == 3
			}
		}
	}
	return mods
}

// TestPixelLineMatchesHalfLine checks that pixelLine, which reads the
// screen's whole-pixel lines (columns, diagonals) straight from the
// plane, returns what halfLine returns through plane.halfAt, on a plane
// with a stride wider than its width, for every direction it serves,
// with and without smoothing across, at places near and beyond the
// plane's edges.
func TestPixelLineMatchesHalfLine(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 11))
	const w, h, stride = 37, 29, 41
	pix := make([]byte, h*stride)
	for i := range pix {
		pix[i] = byte(rng.IntN(256))
	}
	p := plane{pix: pix, w: w, h: h, stride: stride}
	var s1, s2 screenScratch
	for range 20000 {
		x, y := rng.IntN(w+8)-4, rng.IntN(h+8)-4
		d := [][2]int{{0, 2}, {2, 0}, {2, 2}, {2, -2}, {-2, 2}, {0, -2}}[rng.IntN(6)]
		reach := 1 + rng.IntN(30)
		across := rng.IntN(2) == 0
		if cap(s1.line) < 2*reach+1 {
			s1.line = make([]byte, 2*reach+1)
			s2.line = make([]byte, 2*reach+1)
		}
		s1.lineSamples, s2.lineSamples = 0, 0
		want, wc := s1.halfLine(p, x, y, d[0], d[1], reach, across)
		got, gc := s2.pixelLine(p, x, y, d[0]/2, d[1]/2, reach, across)
		if !bytes.Equal(got, want) || gc != wc || s1.lineSamples != s2.lineSamples {
			t.Fatalf("(%d,%d) dir %v reach %d across %v: pixelLine %v at %d (%d samples), halfLine %v at %d (%d samples)",
				x, y, d, reach, across, got, gc, s2.lineSamples, want, wc, s1.lineSamples)
		}
	}
}

// testLine is a row of pixels that a test of splitRuns builds run by run.
type testLine []byte

// add appends n pixels of grey v.
func (l *testLine) add(n int, v byte) {
	for range n {
		*l = append(*l, v)
	}
}

// checkFinderRuns fails the test unless the runs between edges are a
// quiet zone, a finder's five at 1:1:3:1:1, and a quiet zone.
func checkFinderRuns(t *testing.T, edges []int32) {
	t.Helper()
	var runs []int
	for k := 1; k < len(edges); k++ {
		runs = append(runs, int(edges[k]-edges[k-1]))
	}
	if len(runs) != 7 {
		t.Fatalf("runs %v, want 7: the quiet zone, the five of the finder, the quiet zone", runs)
	}
	if _, ok := finderRatio([5]int(runs[1:6])); !ok {
		t.Errorf("runs %v: the finder's five are not 1:1:3:1:1", runs)
	}
}

// TestSplitRunsIgnoresRingingInsideARing splits a row through a finder
// seen at 45° in a clean JPEG: rings of 10 pixels at a contrast of 150,
// with bumps of 7-9 grey levels inside the dark ones (ringing, a phone's
// sharpening), in a frame whose noise makes delta 6. Each bump split its
// ring into three runs, and no row showed 1:1:3:1:1.
func TestSplitRunsIgnoresRingingInsideARing(t *testing.T) {
	var line testLine
	line.add(20, 190)
	line.add(3, 40)
	line.add(1, 47) // a bump inside the outer dark ring
	line.add(6, 40)
	line.add(10, 190)
	line.add(12, 42)
	line.add(2, 51) // and inside the core
	line.add(16, 42)
	line.add(10, 190)
	line.add(10, 40)
	line.add(20, 190)
	edges, _, firstDark := splitRuns(nil, nil, line, 6)
	if firstDark {
		t.Fatal("first run dark, want light")
	}
	checkFinderRuns(t, edges)
	// A faint swing after a long run still splits: a strong edge does
	// not hide a faint code beside it.
	line = line[:0]
	line.add(10, 200)
	line.add(10, 40)
	line.add(40, 200)
	for range 4 {
		line.add(4, 185)
		line.add(4, 200)
	}
	edges, _, _ = splitRuns(nil, nil, line, 6)
	if n := len(edges) - 1; n != 11 {
		t.Errorf("%d runs, want 11: the faint modules after the long light run must split", n)
	}
}

// TestDecodeCleanTurnedJPEG reads a clean, turned version 1 code
// of the independent generator (JPEG, light sharpening) that the screen
// rejected: ringing split their finders' rings (see
// TestSplitRunsIgnoresRingingInsideARing).
func TestDecodeCleanTurnedJPEG(t *testing.T) {
	specs := []foreign.Spec{
		{Width: 640, Height: 480, Variant: foreign.Clean, Seed: 1900000002},
	}
	checkReadsForeign(t, specs)
}
