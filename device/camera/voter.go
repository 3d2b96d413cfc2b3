package camera

import (
	"bytes"
	"context"
	"errors"
	"image"
	"io"
)

// VoterConfig tunes a FrameVoter.
type VoterConfig struct {
	// Votes is how many of the last Window frames must decode to the same
	// payload before it is reported (default 2). Each decode has passed
	// the code's Reed-Solomon check; a second agreeing frame makes a
	// wrong payload even less likely and skips codes that only flash by.
	Votes int
	// Window is the number of recent frames that count (default 5).
	Window int
	// Average is how many still frames are averaged, at most, when no
	// single frame decodes (default 6; 1 turns averaging off): sensor
	// noise and screen flicker differ from frame to frame, a code held
	// still does not.
	Average int
	// Motion is the mean absolute difference of 8×8 block means above
	// which a frame counts as moved and the average starts again
	// (default 12 grey levels).
	Motion float64
}

func (c *VoterConfig) defaults() {
	if c.Votes <= 0 {
		c.Votes = 2
	}
	if c.Window < c.Votes {
		c.Window = max(5, c.Votes)
	}
	if c.Average <= 0 {
		c.Average = 6
	}
	if c.Motion <= 0 {
		c.Motion = 12
	}
}

// FrameVoter decodes consecutive frames of a camera and reports each code
// once: when enough recent frames agree on it, and again only after it
// has left the view for a whole window. When a frame does not decode on
// its own, the voter decodes the average of the recent frames that show
// the same still scene. A FrameVoter is not safe for concurrent use.
type FrameVoter struct {
	dec      *Decoder
	cfg      VoterConfig
	recent   [][]byte // payloads of the last Window frames, nil for none
	reported []byte   // the payload reported last, while it stays in view
	sum      []float32
	n        int // frames in sum
	avg      *image.Gray
}

// NewFrameVoter returns a FrameVoter that decodes with d (a new Decoder
// if nil).
func NewFrameVoter(d *Decoder, cfg VoterConfig) *FrameVoter {
	if d == nil {
		d = NewDecoder()
	}
	cfg.defaults()
	return &FrameVoter{dec: d, cfg: cfg}
}

// Add decodes one frame. It returns a result and true when this frame
// confirms a code.
func (v *FrameVoter) Add(img *image.Gray) (Result, bool) {
	r, err := v.dec.Decode(img)
	if v.accumulate(img) && err != nil && v.n >= 2 {
		r, err = v.dec.Decode(v.avg)
	}
	var payload []byte
	if err == nil {
		payload = r.Payload
	}
	v.recent = append(v.recent, payload)
	if len(v.recent) > v.cfg.Window {
		v.recent = v.recent[1:]
	}
	if v.reported != nil && v.count(v.reported) == 0 {
		v.reported = nil // it left the view
	}
	if payload == nil || bytes.Equal(payload, v.reported) || v.count(payload) < v.cfg.Votes {
		return Result{}, false
	}
	v.reported = payload
	return r, true
}

func (v *FrameVoter) count(p []byte) int {
	n := 0
	for _, q := range v.recent {
		if bytes.Equal(p, q) {
			n++
		}
	}
	return n
}

// accumulate adds img to the running average of still frames and reports
// whether the average holds more than this frame. A frame of another size
// or one that moved starts the average again.
func (v *FrameVoter) accumulate(img *image.Gray) bool {
	if v.cfg.Average < 2 {
		return false
	}
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	if w <= 0 || h <= 0 {
		return false
	}
	if v.avg == nil || v.avg.Rect.Dx() != w || v.avg.Rect.Dy() != h {
		v.avg = image.NewGray(image.Rect(0, 0, w, h))
		v.sum = make([]float32, w*h)
		v.n = 0
	}
	if v.n > 0 && v.meanDiff(img) > v.cfg.Motion {
		v.n = 0
	}
	if v.n >= v.cfg.Average {
		// Keep the weight of older frames at Average-1 frames.
		f := float32(v.cfg.Average-1) / float32(v.n)
		for i := range v.sum {
			v.sum[i] *= f
		}
		v.n = v.cfg.Average - 1
	}
	for y := 0; y < h; y++ {
		row := img.Pix[img.PixOffset(b.Min.X, b.Min.Y+y):][:w]
		sum := v.sum[y*w : (y+1)*w]
		if v.n == 0 {
			for x, p := range row {
				sum[x] = float32(p)
			}
		} else {
			for x, p := range row {
				sum[x] += float32(p)
			}
		}
	}
	v.n++
	inv := 1 / float32(v.n)
	for i, s := range v.sum {
		v.avg.Pix[i] = uint8(s*inv + 0.5)
	}
	return v.n > 1
}

// meanDiff is the mean absolute difference between the 8×8 block means
// of img and of the current average: block means see motion but not the
// noise that averaging is for.
func (v *FrameVoter) meanDiff(img *image.Gray) float64 {
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	const bs = 8
	var d float64
	n := 0
	for by := 0; by+bs <= h; by += bs {
		for bx := 0; bx+bs <= w; bx += bs {
			var si, sa int
			for y := by; y < by+bs; y++ {
				row := img.Pix[img.PixOffset(b.Min.X+bx, b.Min.Y+y):][:bs]
				avg := v.avg.Pix[y*w+bx : y*w+bx+bs]
				for x := range row {
					si += int(row[x])
					sa += int(avg[x])
				}
			}
			diff := float64(si-sa) / (bs * bs)
			if diff < 0 {
				diff = -diff
			}
			d += diff
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return d / float64(n)
}

// Run reads frames from src until ctx is done or src fails, and calls
// found for each confirmed code. It returns nil when src ends (io.EOF).
func (v *FrameVoter) Run(ctx context.Context, src FrameSource, found func(Result)) error {
	for {
		img, err := src.Next(ctx)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		if r, ok := v.Add(img); ok {
			found(r)
		}
	}
}
