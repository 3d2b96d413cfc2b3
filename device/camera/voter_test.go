package camera

import (
	"context"
	"image"
	"io"
	"math/rand/v2"
	"testing"
)

// noisy returns a copy of img with Gaussian noise of sigma, seeded.
func noisy(img *image.Gray, sigma float64, seed uint64) *image.Gray {
	rng := rand.New(rand.NewPCG(seed, 3))
	out := image.NewGray(img.Rect)
	for i, v := range img.Pix {
		x := float64(v) + rng.NormFloat64()*sigma
		out.Pix[i] = uint8(min(255, max(0, x)))
	}
	return out
}

// frameSlice is a FrameSource over frames in memory.
type frameSlice []*image.Gray

func (f *frameSlice) Next(ctx context.Context) (*image.Gray, error) {
	if len(*f) == 0 {
		return nil, io.EOF
	}
	img := (*f)[0]
	*f = (*f)[1:]
	return img, nil
}

var _ FrameSource = (*frameSlice)(nil)

func TestFrameVoterReportsOnce(t *testing.T) {
	code := encodeQR(t, "HC1:VOTE", "M", "", 4, 320, 240)
	blank := image.NewGray(code.Rect)
	for i := range blank.Pix {
		blank.Pix[i] = 200
	}
	// Code, code, code, gone for a window, back.
	frames := []*image.Gray{code, code, code, blank, blank, blank, blank, blank, code, code}
	wantAt := map[int]bool{1: true, 9: true}
	v := NewFrameVoter(nil, VoterConfig{Votes: 2, Window: 5})
	for i, f := range frames {
		r, ok := v.Add(f)
		if ok != wantAt[i] {
			t.Errorf("frame %d: got reported=%v, want %v", i, ok, wantAt[i])
		}
		if ok && r.Text() != "HC1:VOTE" {
			t.Errorf("frame %d: got %q, want HC1:VOTE", i, r.Text())
		}
	}
}

// TestFrameVoterCombinesNoisyFrames shows the frame voter reading a code
// from frames so noisy that none decodes alone.
func TestFrameVoterCombinesNoisyFrames(t *testing.T) {
	const want = "HC1:NOISY-CAMERA"
	clean := encodeQR(t, want, "M", "", 4, 200, 200)
	const sigma = 110
	var frames frameSlice
	d := NewDecoder()
	for i := 0; i < 6; i++ {
		f := noisy(clean, sigma, uint64(i))
		if _, err := d.Decode(f); err == nil {
			t.Fatalf("frame %d decodes alone at sigma %d; make the noise stronger", i, sigma)
		}
		frames = append(frames, f)
	}
	v := NewFrameVoter(nil, VoterConfig{Votes: 1})
	var got []string
	err := v.Run(context.Background(), &frames, func(r Result) { got = append(got, r.Text()) })
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0] != want {
		t.Fatalf("got %q, want one result %q", got, want)
	}
}

func TestFrameVoterRestartsAverageOnMotion(t *testing.T) {
	a := encodeQR(t, "HC1:STILL", "M", "", 4, 200, 200)
	moved := image.NewGray(a.Rect)
	copy(moved.Pix[4*moved.Stride+4:], a.Pix) // the code moved by 4 pixels
	v := NewFrameVoter(nil, VoterConfig{})
	tests := []struct {
		name string
		img  *image.Gray
		want bool // the average holds more than this frame
	}{
		{"first", a, false},
		{"still", noisy(a, 20, 1), true},
		{"moved", moved, false},
		{"still again", noisy(moved, 20, 2), true},
	}
	for _, tt := range tests {
		if got := v.accumulate(tt.img); got != tt.want {
			t.Errorf("%s: got %v, want %v", tt.name, got, tt.want)
		}
	}
}
