package hardware_test

import (
	"context"
	"image"
	"testing"
	"time"

	"sentinel/internal/demo"
	"sentinel/internal/hardware"
)

// Every frame's decoding is reported, the frames without a code as well:
// they are most of a camera's work.
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
