package camera

import (
	"testing"

	"sentinel/device/camera/camtest"
	"sentinel/device/camera/foreign"
)

// decodeForeign renders specs with the independent generator
// (device/camera/foreign, which the decoder is never tuned on) and
// returns those the decoder does not read.
func decodeForeign(t *testing.T, specs []foreign.Spec) (missed []string) {
	t.Helper()
	d := NewDecoder()
	for _, s := range specs {
		fr, err := foreign.Render(s)
		if err != nil {
			t.Fatal(err)
		}
		r, err := d.Decode(fr.Img)
		if err != nil || string(r.Payload) != fr.Text {
			missed = append(missed, s.Name()+" ("+fr.Params+")")
		}
	}
	return missed
}

// checkReadsForeign fails the test unless the decoder reads every frame
// of specs, naming those it missed.
func checkReadsForeign(t *testing.T, specs []foreign.Spec) {
	t.Helper()
	if missed := decodeForeign(t, specs); len(missed) > 0 {
		t.Errorf("missed %d of %d:", len(missed), len(specs))
		for _, m := range missed {
			t.Log(m)
		}
	}
}

// TestDecodeSmallVersionsTurned reads version 1 and 2 codes turned by
// 30-45° in the image plane. A finder's runs along rows and columns
// measure its modules up to √2 too large at such angles, and the test
// that three finders could be one code's (finderCorner, in the screen
// and in the decoder) wanted their centres 12 modules apart: a version 1
// code's are 14, which came out as 10 and failed. camtest's codes are
// version 8 and up, so its frames never showed it.
func TestDecodeSmallVersionsTurned(t *testing.T) {
	var specs []foreign.Spec
	for i, c := range []struct {
		version int
		roll    float64
	}{{1, 30}, {1, 38}, {1, -35}, {1, -42}, {1, 125}, {2, 30}, {2, 45}, {2, -35}, {2, -42}, {2, 125}, {2, 140}} {
		specs = append(specs, foreign.Spec{Width: 640, Height: 480, Variant: foreign.Clean, Seed: 9300 + uint64(i), Version: c.version, Roll: c.roll})
	}
	checkReadsForeign(t, specs)
}

// TestOwnTriplesBehindTaller reads a code whose finder candidates rank
// behind those of a barcode beside it. Candidates are ranked by the rows
// that confirm them, which grows with a pattern's size and height: a
// barcode's bars (or large print) beside a code make candidates that
// outrank the code's own finders, and locateOwnZX weighed the triples of
// the first maxCandidates only. camtest's code frames have a plain
// background, so this never showed; in a frame of the independent
// generator it did (a printed code whose finders ranked 7th to 9th
// behind a barcode's candidates).
func TestOwnTriplesBehindTaller(t *testing.T) {
	img := encodeQR(t, "https://example.org/a/path?with=a&query=1", "M", "", 4, 400, 400)
	d := NewDecoder()
	m, _ := d.bin.binarize(plane{pix: img.Pix, w: 400, h: 400, stride: img.Stride}, normalRange, nil)
	own := d.findFinders(m)
	if len(own) < 3 {
		t.Fatalf("%d finder candidates in a clean code", len(own))
	}
	// A barcode's worth of candidates in a row, confirmed on more rows.
	var cands []finder
	for i := range 8 {
		cands = append(cands, finder{c: vec{20 + 9*float64(i), 12}, ms: 4, cnt: 40})
	}
	cands = append(cands, own...)
	var zx zxTry
	if _, ok := d.locateOwnZX(m, cands, &zx); !ok {
		t.Error("the code's triple, behind 8 taller candidates, was not weighed")
	}
}

// TestDecodeSmallModules720 reads 1280×720 frames of small codes, modules
// of 1.8-3 pixels. The screen reads such frames at half scale, where the
// modules span 0.9-1.5 pixels: box averaging and its [1 2 1]/4 smoothing
// leave a finder's one-module rings too faint and mixed to show 1:1:3:1:1,
// so it rejected every one of these frames as empty and no pass ran.
// finderHintSmall now looks again at full scale around the half-scale
// rows busy with short runs.
func TestDecodeSmallModules720(t *testing.T) {
	var specs []foreign.Spec
	for _, seed := range []uint64{7101, 7104, 7106, 7109, 7113, 7127} {
		specs = append(specs, foreign.Spec{Width: 1280, Height: 720, Variant: foreign.Small, Seed: seed})
	}
	for _, seed := range []uint64{7104, 7109, 7119} {
		specs = append(specs, foreign.Spec{Width: 1280, Height: 720, Variant: foreign.JPEG, Seed: seed})
	}
	checkReadsForeign(t, specs)
}

// TestDecodeSmallModulesDiagonals reads 640×480 frames of small codes,
// modules of 1.8-2.8 pixels, most of them sharpened. The screen wanted
// the finder pattern along both diagonals of a place whose rings'
// contrast is high; with rings of a pixel or two, a diagonal through their
// corners often loses it to sharpening's overshoot or JPEG ringing (it
// showed along one diagonal or the other as the centre moved by a
// pixel), and each of these frames was rejected as empty. Below
// screenAcrossMin one diagonal now suffices, with the four lines between
// them.
func TestDecodeSmallModulesDiagonals(t *testing.T) {
	var specs []foreign.Spec
	for _, seed := range []uint64{7215, 7223, 7237, 7364, 7396} {
		specs = append(specs, foreign.Spec{Width: 640, Height: 480, Variant: foreign.Small, Seed: seed})
	}
	checkReadsForeign(t, specs)
}

// TestScreenSmallRejectsEmpty checks that the full-scale look for small
// codes passes none of camtest's empty 1280×720 frames (its cost on an
// empty frame is bounded by the busy spans, see finderHintSmall).
func TestScreenSmallRejectsEmpty(t *testing.T) {
	d := NewDecoder()
	n := 0
	for _, s := range camtest.Set() {
		if s.Variant != camtest.Empty || s.Width != 1280 {
			continue
		}
		img, err := camtest.Render(s)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Decode(img); err == nil {
			t.Errorf("%s: decoded a code in an empty frame", s.Name())
		}
		n++
	}
	if d.screen.small > 0 {
		t.Errorf("the full-scale look passed %d of %d empty frames", d.screen.small, n)
	}
}
