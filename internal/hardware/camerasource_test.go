package hardware_test

import (
	"context"
	"image"
	"math/rand/v2"
	"testing"
	"time"

	"sentinel/internal/demo"
	"sentinel/internal/hardware"
)

// Every frame decoded in full is reported, the frames without a code as
// well: they are most of a camera's work.
func TestCameraSourceOnDecode(t *testing.T) {
	img, err := demo.RenderQR("HCN1:EXAMPLE", 4)
	if err != nil {
		t.Fatal(err)
	}
	blank := image.NewGray(img.Bounds())
	src := hardware.NewCameraSource("in-1 camera", &frames{[]*image.Gray{blank, blank, img}}, nil)
	var took []time.Duration
	src.OnDecode(func(d time.Duration) { took = append(took, d) })
	code, err := src.Next(context.Background())
	if err != nil || string(code.Text) != "HCN1:EXAMPLE" {
		t.Fatalf("got %q, %v; want the code", code.Text, err)
	}
	if len(took) != 3 {
		t.Fatalf("got %d decodings reported, want 3 (two blank frames and the code)", len(took))
	}
	for i, d := range took {
		if d <= 0 {
			t.Errorf("frame %d: got %v, want the time the decoder took", i, d)
		}
	}
	src.Next(context.Background()) // no more frames: nothing decoded
	if len(took) != 3 {
		t.Errorf("got %d decodings reported after the frames ended, want 3", len(took))
	}
}

// A fixed camera's unchanged frames are not decoded, and reported as
// such; the code that then comes into view is read from its first frame.
func TestCameraSourceSkipsUnchangedFrames(t *testing.T) {
	code, err := demo.RenderQR("HCN1:EXAMPLE", 4)
	if err != nil {
		t.Fatal(err)
	}
	// A wall with a shade across it, and the sensor's noise drawn afresh
	// in each frame; then the same wall with the code held up.
	scene := func(i int, withCode bool) *image.Gray {
		rng := rand.New(rand.NewPCG(uint64(i), 1))
		img := image.NewGray(image.Rect(0, 0, 320, 240))
		for y := range 240 {
			for x := range 320 {
				v := 90 + float64(x)/8 + 2*rng.NormFloat64()
				img.Pix[y*img.Stride+x] = uint8(min(255, max(0, v)))
			}
		}
		if withCode {
			b := code.Bounds()
			for y := range b.Dy() {
				copy(img.Pix[(60+y)*img.Stride+100:], code.Pix[y*code.Stride:y*code.Stride+b.Dx()])
			}
		}
		return img
	}
	var imgs []*image.Gray
	for i := range 10 {
		imgs = append(imgs, scene(i, false))
	}
	imgs = append(imgs, scene(10, true))
	src := hardware.NewCameraSource("in-1 camera", &frames{imgs}, nil)
	decoded, unchanged := 0, 0
	src.OnDecode(func(time.Duration) { decoded++ })
	src.OnUnchanged(func() { unchanged++ })
	got, err := src.Next(context.Background())
	if err != nil || string(got.Text) != "HCN1:EXAMPLE" {
		t.Fatalf("got %q, %v; want the code", got.Text, err)
	}
	if decoded+unchanged != 11 {
		t.Errorf("%d frames decoded and %d unchanged, want the 11 frames up to the code's first", decoded, unchanged)
	}
	if unchanged == 0 {
		t.Error("every frame of the still wall was decoded, want them skipped after the first few")
	}
}
