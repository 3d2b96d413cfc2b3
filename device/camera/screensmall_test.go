package camera

import (
	"math"
	"testing"

	"sentinel/device/camera/foreign"
)

// drawFinder draws a finder pattern of modules ms pixels wide, turned by
// angle degrees, centred at (cx, cy) on a light plane, with its light
// separator, four samples a pixel.
func drawFinder(p plane, cx, cy, ms, angle float64) {
	c, s := math.Cos(angle*math.Pi/180), math.Sin(angle*math.Pi/180)
	r := int(6 * ms)
	for y := max(0, int(cy)-r); y < min(p.h, int(cy)+r); y++ {
		for x := max(0, int(cx)-r); x < min(p.w, int(cx)+r); x++ {
			sum := 0.0
			for _, o := range [4][2]float64{{0.25, 0.25}, {0.75, 0.25}, {0.25, 0.75}, {0.75, 0.75}} {
				dx, dy := float64(x)+o[0]-cx, float64(y)+o[1]-cy
				u, v := (c*dx+s*dy)/ms, (-s*dx+c*dy)/ms
				level := 200.0
				if d := max(math.Abs(u), math.Abs(v)); d < 1.5 || (d >= 2.5 && d < 3.5) {
					level = 40
				}
				sum += level
			}
			p.pix[y*p.stride+x] = byte(sum / 4)
		}
	}
}

// TestScreenSmallReadsFinders checks that the full-scale look for small
// codes (finderHintSmall) keeps a finder place around busy rows of the
// half-scale screen:
//
//   - A finder at the end of one busy span's window and inside the next
//     one's. Rows were read once, over the window of the first span
//     around them, and skipped for the next: the first cut the finder,
//     and the rows the next one read missed it. A version 1 code of 3.3
//     pixel modules in a 1280×720 JPEG frame was rejected so.
//   - A finder of 3.5-pixel modules turned by 45°, whose rows cross it
//     along its diagonal in 34 pixels: a finder of 4-pixel modules is up
//     to 40 wide along a row, and only 28 were taken.
func TestScreenSmallReadsFinders(t *testing.T) {
	for _, c := range []struct {
		name      string
		ms, angle float64
		spans     []busySpan
	}{
		{"across two spans' windows", 3, 0, []busySpan{{48, 100, 135}, {50, 130, 150}}},
		{"turned 45°", 3.5, 45, []busySpan{{50, 130, 150}}},
	} {
		pl := plane{pix: make([]byte, 480*240), w: 480, h: 240, stride: 480}
		for i := range pl.pix {
			pl.pix[i] = 200
		}
		drawFinder(pl, 300, 100, c.ms, c.angle)
		var s screenScratch
		s.busy = append(s.busy[:0], c.spans...)
		if s.finderHintSmall(pl) {
			t.Fatalf("%s: one finder passed as three", c.name)
		}
		found := false
		for _, h := range s.hits {
			found = found || h.c.sub(vec{300, 100}).norm() < 3*c.ms
		}
		if !found {
			t.Errorf("%s: no place at the finder (%d places: %v)", c.name, len(s.hits), s.hits)
		}
	}
}

// TestDecodeSmallCodesScreenedAtFullScale reads frames of the
// independent generator whose codes have modules of 2.3-4 pixels, so
// that the half-scale screen sees no finder and the full-scale look for
// small codes must (see TestScreenSmallReadsFinders): each was rejected
// as empty, and each is read without the screen.
func TestDecodeSmallCodesScreenedAtFullScale(t *testing.T) {
	specs := []foreign.Spec{
		// A finder cut by a busy span's window.
		{Width: 1280, Height: 720, Variant: foreign.JPEG, Seed: 3100000191},
		{Width: 1280, Height: 720, Variant: foreign.Shadow, Seed: 3100000198},
		{Width: 1280, Height: 720, Variant: foreign.Small, Seed: 3100000252},
		{Width: 1280, Height: 720, Variant: foreign.Small, Seed: 5500000007, Version: 2, Roll: 45},
		// Finders of 3.5-4 pixel modules turned by 43-45°.
		{Width: 1280, Height: 720, Variant: foreign.Shadow, Seed: 3100000194},
		{Width: 1280, Height: 720, Variant: foreign.JPEG, Seed: 5500000013, Version: 2, Roll: 43},
		{Width: 1280, Height: 720, Variant: foreign.JPEG, Seed: 5500000037, Version: 2, Roll: 43},
	}
	checkReadsForeign(t, specs)
}
