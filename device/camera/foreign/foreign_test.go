package foreign

import (
	"bytes"
	"image"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	qr "github.com/skip2/go-qrcode"
)

// TestEncoderMakesReadableCodes checks the other encoder and the payload
// sizing: for every version 1-25, level and payload kind, the payload
// lands in the version drawn, and gozxing reads the module matrix drawn
// plainly back to the payload.
func TestEncoderMakesReadableCodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	reader := qrcode.NewQRCodeReader()
	for version := 1; version <= 25; version++ {
		for li, l := range levels {
			kind := kinds[(version+li)%len(kinds)]
			text := payload(rng, kind, version, l.level)
			code, err := qr.New(text, l.level)
			if err != nil {
				t.Fatalf("v%d-%s %s: %v", version, l.name, kind, err)
			}
			if code.VersionNumber != version {
				t.Errorf("v%d-%s %s: %d characters encode into version %d", version, l.name, kind, len(text), code.VersionNumber)
			}
			code.DisableBorder = true
			img := plain(code.Bitmap(), 3)
			src := gozxing.NewLuminanceSourceFromImage(img)
			bm, _ := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
			got, err := reader.Decode(bm, map[gozxing.DecodeHintType]any{gozxing.DecodeHintType_PURE_BARCODE: true})
			if err != nil {
				t.Errorf("v%d-%s %s: gozxing cannot read the code: %v", version, l.name, kind, err)
				continue
			}
			if got.GetText() != text {
				t.Errorf("v%d-%s %s: read %q, want %q", version, l.name, kind, got.GetText(), text)
			}
		}
	}
}

// plain draws mods at scale pixels per module with a 4-module quiet zone.
func plain(mods [][]bool, scale int) *image.Gray {
	n := len(mods)
	side := (n + 8) * scale
	img := image.NewGray(image.Rect(0, 0, side, side))
	for i := range img.Pix {
		img.Pix[i] = 255
	}
	for y := range n * scale {
		for x := range n * scale {
			if mods[y/scale][x/scale] {
				img.Pix[(y+4*scale)*side+x+4*scale] = 0
			}
		}
	}
	return img
}

// TestDrawRanges checks that the draws cover what the package promises:
// versions 1-25, every level, quiet zones under 2 modules, and each
// variant's own distortion.
func TestDrawRanges(t *testing.T) {
	var versions [26]int
	var lvls [4]int
	minQuiet := math.Inf(1)
	for seed := range uint64(3000) {
		v := Variants[seed%uint64(len(Variants))]
		p := draw(Spec{Width: 1280, Height: 720, Variant: v, Seed: seed}, rand.New(rand.NewPCG(seed, 0xf0e1)))
		if p.version < 1 || p.version > 25 {
			t.Fatalf("%s seed %d: version %d", v, seed, p.version)
		}
		versions[p.version]++
		lvls[p.level]++
		minQuiet = math.Min(minQuiet, p.quiet)
		switch v {
		case Gauss:
			if !(p.gauss <= -0.3 && p.gauss >= -0.7) {
				t.Errorf("%s: gauss %v modules", v, -p.gauss)
			}
		case JPEG:
			if p.jpegQ < 30 || p.jpegQ > 80 {
				t.Errorf("%s: quality %d", v, p.jpegQ)
			}
		case Shot:
			if p.fullWell > 200 {
				t.Errorf("%s: full well %v", v, p.fullWell)
			}
		case Dense:
			if p.version < 15 {
				t.Errorf("%s: version %d", v, p.version)
			}
		case Screen:
			if !p.screen {
				t.Errorf("%s: not a screen", v)
			}
		}
	}
	for v := 1; v <= 25; v++ {
		if versions[v] == 0 {
			t.Errorf("version %d never drawn", v)
		}
	}
	for l, c := range lvls {
		if c == 0 {
			t.Errorf("level %s never drawn", levels[l].name)
		}
	}
	if minQuiet > 1 {
		t.Errorf("smallest quiet zone %.2f modules, want some under 1", minQuiet)
	}
}

// TestCameraRoundTrip checks that unproject inverts project, barrel
// distortion included.
func TestCameraRoundTrip(t *testing.T) {
	p := params{fov: 1.4, roll: 0.7, yaw: 0.5, pitch: -0.4, modulePx: 5, barrel: 0.15}
	cam, ok := newCamera(&p, 33, 1280, 720, 600, 400)
	if !ok {
		t.Fatal("no camera")
	}
	for _, pt := range [][2]float64{{0, 0}, {33, 0}, {16.5, 16.5}, {-4, 37}, {20, 3}} {
		x, y := cam.project(pt[0], pt[1])
		u, v, ok := cam.unproject(x, y)
		if !ok || math.Abs(u-pt[0]) > 1e-3 || math.Abs(v-pt[1]) > 1e-3 {
			t.Errorf("(%v, %v) -> (%.2f, %.2f) -> (%.4f, %.4f) %v", pt[0], pt[1], x, y, u, v, ok)
		}
	}
	if x, y := cam.project(16.5, 16.5); math.Abs(x-600) > 30 || math.Abs(y-400) > 30 {
		t.Errorf("code centre at (%.1f, %.1f), want near (600, 400)", x, y)
	}
}

// TestRenderIsDeterministic renders a frame of each kind of path (paper,
// screen, empty) twice: the same seed gives the same pixels, the next
// seed others.
func TestRenderIsDeterministic(t *testing.T) {
	if testing.Short() {
		t.Skip("renders frames")
	}
	for _, v := range []Variant{Print, Screen, Empty} {
		s := Spec{Width: 320, Height: 240, Variant: v, Seed: 77}
		a, err := Render(s)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Render(s)
		s.Seed++
		c, _ := Render(s)
		if !bytes.Equal(a.Img.Pix, b.Img.Pix) || a.Text != b.Text {
			t.Errorf("%s: two renders of one spec differ", v)
		}
		if bytes.Equal(a.Img.Pix, c.Img.Pix) {
			t.Errorf("%s: seeds 77 and 78 render the same frame", v)
		}
		if (v == Empty) != (a.Text == "") {
			t.Errorf("%s: text %q", v, a.Text)
		}
		if a.Img.Rect.Dx() != 320 || a.Img.Rect.Dy() != 240 {
			t.Errorf("%s: frame %v", v, a.Img.Rect)
		}
	}
}

// TestFrameDrawsFreshNoise renders three frames of one still scene, with
// and without a code: they differ pixel by pixel as a sensor's noise
// does, but their 16×16 block means agree to within the noise, and
// frame 0 is the set's frame.
func TestFrameDrawsFreshNoise(t *testing.T) {
	if testing.Short() {
		t.Skip("renders frames")
	}
	for _, v := range []Variant{Clean, Empty} {
		s := Spec{Width: 320, Height: 240, Variant: v, Seed: 78}
		set, err := Render(s)
		if err != nil {
			t.Fatal(err)
		}
		var frames []Frame
		for i := range 3 {
			s.Frame = i
			f, err := Render(s)
			if err != nil {
				t.Fatal(err)
			}
			frames = append(frames, f)
		}
		if !bytes.Equal(frames[0].Img.Pix, set.Img.Pix) {
			t.Errorf("%s: frame 0 is not the set's frame", v)
		}
		for i := 1; i < len(frames); i++ {
			a, b := frames[i-1].Img, frames[i].Img
			if frames[i].Text != set.Text {
				t.Errorf("%s frame %d: the code changed", v, i)
			}
			if bytes.Equal(a.Pix, b.Pix) {
				t.Errorf("%s frames %d and %d: the same noise", v, i-1, i)
			}
			var worst float64
			for by := 0; by < 240; by += 16 {
				for bx := 0; bx < 320; bx += 16 {
					var sa, sb int
					for y := by; y < by+16; y++ {
						for x := bx; x < bx+16; x++ {
							sa += int(a.Pix[y*a.Stride+x])
							sb += int(b.Pix[y*b.Stride+x])
						}
					}
					worst = math.Max(worst, math.Abs(float64(sa-sb))/256)
				}
			}
			// Noise of a few levels a pixel moves a block's mean by a
			// fraction of a level; any change of the scene by far more.
			if worst > 2 {
				t.Errorf("%s frames %d and %d: a block's mean moved by %.2f levels, want the same scene", v, i-1, i, worst)
			}
		}
	}
}
