package camera

import (
	"image"
	"image/draw"
	"math/rand/v2"
	"testing"
)

// TestLargeModulesReadAtQuarterScale renders a version 17 code at 20
// pixels a module in a 1860×1860 image, as some certificates come, and
// checks that the decoder reads it at quarter scale, before any pass on
// the half-scale or full plane (each binarises and searches 865,000 or
// 3.5 million pixels), and that the same image with a code of 3 pixels a
// module, which the quarter plane cannot hold, is still read by the
// passes.
func TestLargeModulesReadAtQuarterScale(t *testing.T) {
	rng := rand.New(rand.NewPCG(1860, 4))
	mods, want := dccModules(t, rng, 330, "Q")
	big := renderModules(mods, 20, 4)
	var d Decoder
	r, err := d.Decode(big)
	if err != nil || string(r.Payload) != string(want) {
		t.Fatalf("%dx%d image, 20 px a module: %v", big.Rect.Dx(), big.Rect.Dy(), err)
	}
	if d.passes != 0 {
		t.Errorf("20 px a module: read after %d passes on the half-scale or full plane, want at quarter scale before any", d.passes)
	}
	// The same image size, the code small in a corner.
	small := renderModules(mods, 3, 4)
	canvas := image.NewGray(big.Rect)
	draw.Draw(canvas, canvas.Rect, image.NewUniform(small.At(0, 0)), image.Point{}, draw.Src)
	draw.Draw(canvas, small.Rect.Add(image.Pt(200, 300)), small, image.Point{}, draw.Src)
	r, err = d.Decode(canvas)
	if err != nil || string(r.Payload) != string(want) {
		t.Fatalf("%dx%d image, 3 px a module: %v", canvas.Rect.Dx(), canvas.Rect.Dy(), err)
	}
	if d.passes == 0 {
		t.Error("3 px a module: read at quarter scale, where a module spans under a pixel")
	}
}
