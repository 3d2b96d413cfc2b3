package camera

import (
	"bytes"
	"errors"
	"math"
	"math/rand/v2"
	"os"
	"testing"

	"sentinel/device/camera/camtest"
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
	// quarter of the 720p ones. Before it checked the light ring between
	// the four lines through a place (lightRingHolds), random cells at
	// full scale passed a quarter of the 640×480 ones. Today it passes
	// none of either size.
	if 10*rejected[640] < 9*empty[640] {
		t.Errorf("the screen rejected %d of %d empty 640×480 frames, want at least nine tenths", rejected[640], empty[640])
	}
	if 10*rejected[1280] < 9*empty[1280] {
		t.Errorf("the screen rejected %d of %d empty 1280×720 frames, want at least nine tenths", rejected[1280], empty[1280])
	}
}

// TestDecodeWorkBounded decodes frames of the tuning draw blurred beyond
// reading: every pass runs on them, and before the frame's allowance
// each pass could take maxSamplesPerPass grey samples (seven times as
// many in all). The frame must stay within maxSamplesPerFrame.
func TestDecodeWorkBounded(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("renders and decodes 720p frames; run without -short and -race")
	}
	d := NewDecoder()
	most := 0
	for _, s := range camtest.Tuning(1280, 720, 3) {
		if s.Variant != camtest.BlurHard {
			continue
		}
		img, err := camtest.Render(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Decode(img); err == nil {
			continue
		}
		spent := maxSamplesPerFrame - d.frameWork
		most = max(most, spent)
		if spent > maxSamplesPerFrame || d.frameWork < 0 {
			t.Errorf("%s: took %d grey samples, want at most %d", s.Name(), spent, maxSamplesPerFrame)
		}
	}
	if most == 0 {
		t.Fatal("no unread frame took samples: the test frames no longer exercise the bound")
	}
	t.Logf("the most samples an unread frame took: %d", most)
}

// TestLightRingHolds draws a finder pattern at several rotations, which
// must pass, and random module-sized cells that show the pattern along
// the four lines through a place but not the light ring between them,
// which must not: such cells passed the screen before it checked the
// ring.
func TestLightRingHolds(t *testing.T) {
	const w, h, ms = 120, 120, 5.0
	draw := func(level func(u, v float64) byte, angle float64) plane {
		pix := make([]byte, w*h)
		sin, cos := math.Sincos(angle)
		for y := range h {
			for x := range w {
				dx, dy := float64(x)+0.5-w/2, float64(y)+0.5-h/2
				u, v := (cos*dx+sin*dy)/ms, (-sin*dx+cos*dy)/ms
				pix[y*w+x] = level(u, v)
			}
		}
		return plane{pix: pix, w: w, h: h, stride: w}
	}
	finderLevel := func(u, v float64) byte {
		if c := max(math.Abs(u), math.Abs(v)); c < 1.5 || (c >= 2.5 && c < 3.5) {
			return 30
		}
		return 220
	}
	for _, deg := range []float64{0, 10, 22.5, 30, 45} {
		p := draw(finderLevel, deg*math.Pi/180)
		// The screen measures the module size as the shortest of four
		// lines: up to 8 % long.
		for _, m := range []float64{ms, 1.08 * ms} {
			if !lightRingHolds(p, w/2, h/2, m, 30, 190, true) {
				t.Errorf("finder rotated %v°, module %.1f: the light ring was not found", deg, m)
			}
		}
	}
	// Cells that hold the finder's pattern along the row, column and
	// diagonals through the centre (the cells the screen's four lines
	// see), with random cells elsewhere: they pass only when at most one
	// of the eight cells a knight's move from the centre is dark.
	rng := rand.New(rand.NewPCG(1, 2))
	for range 50 {
		cells := map[[2]int]bool{}
		darkKnights := 0
		for i := -8; i <= 8; i++ {
			for j := -8; j <= 8; j++ {
				c := max(abs(i), abs(j))
				if i == 0 || j == 0 || abs(i) == abs(j) {
					cells[[2]int{i, j}] = c <= 1 || c == 3
					continue
				}
				cells[[2]int{i, j}] = rng.IntN(2) == 0
				if c == 2 && cells[[2]int{i, j}] {
					darkKnights++
				}
			}
		}
		level := func(u, v float64) byte {
			if cells[[2]int{int(math.Floor(u + 0.5)), int(math.Floor(v + 0.5))}] {
				return 30
			}
			return 220
		}
		got := lightRingHolds(draw(level, 0), w/2, h/2, ms, 30, 190, true)
		if want := darkKnights <= 1; got != want {
			t.Errorf("random cells with %d of 8 knight cells dark: passed %v, want %v", darkKnights, got, want)
		}
	}
}
