package camera

import (
	"cmp"
	"errors"
	"fmt"
	"image"
	"math"
	"slices"
	"time"
)

// ErrUnchanged is what [Still.Decode] returns for a frame it did not
// decode because nothing in view moved since the last frame it decoded in
// full, which held no code. It matches ErrNoCode (errors.Is): for the
// caller, the frame holds no code.
var ErrUnchanged = fmt.Errorf("%w: the view has not changed since the last frame decoded", ErrNoCode)

// DefaultStillRefresh is how often Still decodes a frame in full while
// the view stays unchanged, unless StillConfig says otherwise.
const DefaultStillRefresh = time.Second

// StillConfig tunes a Still. The zero value is ready to use.
type StillConfig struct {
	// Refresh is the longest time between two frames decoded in full
	// while the view stays unchanged (default DefaultStillRefresh).
	Refresh time.Duration
	// Now reads the clock (default time.Now).
	Now func() time.Time
}

// Still decodes the frames of a fixed camera and spares the decoder the
// frames in which nothing moved. A gate's camera sees the same empty
// scene most of the time, and a frame that holds no code but shows a
// busy scene is the most expensive one to decode (every pass runs), so
// an idle gate would keep a core busy for nothing.
//
// Still keeps a coarse copy of the last frame that it decoded in full and
// that held no code: every 4th pixel of every 4th row, in blocks of 32×32
// pixels. A new frame is compared with it block by block, after
// compensating a uniform change of the light (the median ratio of the
// block means). The noise level is measured on the same comparison, for
// each eighth of the blocks by texture (sharpening and JPEG keep more
// noise where the scene is busy): the median block's mean absolute
// difference, since a code entering the view changes a minority of the
// blocks. A block whose difference lies beyond what that noise explains
// (six standard deviations of a block's mean absolute difference), or a
// noise level that doubled since the reference was taken, makes the frame
// changed. A phone or card coming
// into view changes the blocks it covers by far more than that, even a
// small or faint code.
//
// A frame is skipped (ErrUnchanged) only when it is unchanged, the view
// has been unchanged over the last two frames decoded in full (so a code
// that comes to rest unread is still tried a few times), and a frame was
// decoded in full less than Refresh ago. A frame that holds a code clears
// the reference: the next frame is decoded in full, so a code held still
// is read again at every frame, as without Still.
//
// The comparison reads one pixel in sixteen: about 0.15 ms for a 720p
// frame on a desktop core, against 11 ms for decoding a busy scene
// without a code. A Still is not safe for
// concurrent use.
type Still struct {
	dec     *Decoder
	refresh time.Duration
	now     func() time.Time

	// The sampling grid of the reference: nx×ny samples in bx×by blocks
	// of a frame of w×h pixels; n holds the samples of each block.
	w, h   int
	nx, ny int
	bx, by int
	n      []int32

	ref, cur       []uint8 // samples of the reference and of this frame
	refSum, curSum []int32 // per block
	diff           []float32
	sorted         []float32

	// group is each block's texture group in the reference: its rank by
	// texture in groups equal in number (groups of them, at most
	// stillGroups), smoothest first.
	group   []uint8
	groups  int
	texture []float32
	order   []int32

	// noise is each group's noise level in the last comparison, refNoise
	// in the comparison that made the reference (<0: unknown).
	noise, refNoise [stillGroups]float64

	hasRef bool
	calm   int // unchanged frames decoded in full in a row, ending with ref
	last   time.Time

	frames, skipped uint64

	// probe holds the figures of the last comparison, for tests.
	probe stillProbe
}

type stillProbe struct {
	gain  float64              // light's gain compensated
	noise [stillGroups]float64 // median block's mean absolute difference, per group
	worst float64              // largest block difference in standard deviations beyond noise
	moved int                  // blocks beyond the threshold
}

// The grid and thresholds of the comparison.
const (
	stillStride = 4 // pixels between samples, across and down
	stillBlock  = 8 // samples along a block's side (32 pixels)
	// stillZ is how many standard deviations of a block's mean
	// absolute difference, under noise alone, a block's difference must
	// exceed the noise level by to count as moved.
	stillZ = 6
	// stillQuant is the difference, in grey levels, that a block may show
	// beyond the noise on top of that: 8-bit frames round every pixel.
	stillQuant = 1.0
	// stillSettle is how many unchanged frames must have been decoded in
	// full in a row before frames are skipped.
	stillSettle = 2
	// stillGroups is the number of groups of blocks by texture that
	// take their own noise level: sharpening and JPEG keep more of the
	// noise in busy blocks than in smooth ones. A group holds at least
	// stillGroupBlocks blocks, so that its median is the noise's.
	stillGroups      = 8
	stillGroupBlocks = 32
	// stillMinSide is the smallest frame side Still compares; smaller
	// frames are always decoded.
	stillMinSide = 64
)

// madSD is the standard deviation of |X| over its mean for a normal X,
// sqrt(π/2 - 1): a block of n samples' mean absolute difference under
// noise alone spreads by madSD/√n of its mean.
var madSD = math.Sqrt(math.Pi/2 - 1)

// NewStill returns a Still that decodes with d (a new Decoder if nil).
func NewStill(d *Decoder, cfg StillConfig) *Still {
	if d == nil {
		d = NewDecoder()
	}
	if cfg.Refresh <= 0 {
		cfg.Refresh = DefaultStillRefresh
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	s := &Still{dec: d, refresh: cfg.Refresh, now: cfg.Now}
	s.forget()
	return s
}

// Decode decodes img, or returns ErrUnchanged without decoding it when
// the view has not changed (see Still). Otherwise it is Decoder.Decode.
func (s *Still) Decode(img *image.Gray) (Result, error) {
	s.frames++
	now := s.now()
	still := s.compare(img)
	if still && s.calm >= stillSettle && now.Sub(s.last) < s.refresh && !now.Before(s.last) {
		s.skipped++
		return Result{}, ErrUnchanged
	}
	r, err := s.dec.Decode(img)
	s.last = now
	if errors.Is(err, ErrNoCode) && s.sampled(img) {
		// Decoded in full without a code: this frame is the new
		// reference.
		s.take(img, still)
		return r, err
	}
	// A code (or a code too large, or an image Still does not
	// compare): decode the next frame in full.
	s.forget()
	return r, err
}

// forget drops the reference: the next frame is decoded in full.
func (s *Still) forget() {
	s.hasRef = false
	s.calm = 0
	for g := range s.refNoise {
		s.refNoise[g] = -1
	}
}

// take makes the frame just compared the reference. still says whether
// it showed the previous reference's view: then the noise of that
// comparison is the noise of the new reference's groups.
func (s *Still) take(img *image.Gray, still bool) {
	s.ref, s.cur = s.cur, s.ref
	s.refSum, s.curSum = s.curSum, s.refSum
	s.hasRef = true
	// Each block's texture: the mean absolute difference between a
	// sample and its neighbours right and below, where sharpening and
	// JPEG keep the most noise.
	clear(s.texture)
	for sj := 0; sj < s.ny; sj++ {
		y := stillStride/2 + sj*stillStride
		below := 1
		if y+1 >= s.h {
			below = -1 // the last row: the row above
		}
		row := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y):][:s.w]
		next := img.Pix[img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+y+below):][:s.w]
		brow := (sj / stillBlock) * s.bx
		for bi := 0; bi < s.bx; bi++ {
			var t int32
			for i := bi * stillBlock; i < min((bi+1)*stillBlock, s.nx); i++ {
				x := stillStride/2 + i*stillStride
				right := x + 1
				if right >= s.w {
					right = x - 1
				}
				v := int32(row[x])
				t += abs32(v-int32(row[right])) + abs32(v-int32(next[x]))
			}
			s.texture[brow+bi] += float32(t)
		}
	}
	for b := range s.texture {
		s.texture[b] /= float32(s.n[b])
	}
	slices.SortFunc(s.order, func(a, b int32) int {
		return cmp.Compare(s.texture[a], s.texture[b])
	})
	for rank, b := range s.order {
		s.group[b] = uint8(rank * s.groups / len(s.order))
	}
	if !still {
		s.calm = 0
		for g := range s.refNoise {
			s.refNoise[g] = -1
		}
		return
	}
	s.calm++
	for g := range s.groups {
		// A frame shown twice (a replay, a camera repeating a frame)
		// has no noise; the noise level known stays.
		if n := s.groupNoise(g); n > 0 || s.refNoise[g] < 0 {
			s.refNoise[g] = n
		}
	}
}

// groupNoise returns the noise level of group g in the last comparison:
// the median of its blocks' mean absolute differences.
func (s *Still) groupNoise(g int) float64 {
	v := s.sorted[:0]
	for b, d := range s.diff {
		if int(s.group[b]) == g {
			v = append(v, d)
		}
	}
	if len(v) == 0 {
		return 0
	}
	return float64(median(v))
}

// Skipped returns the frames given to Decode and how many of them were
// skipped as unchanged.
func (s *Still) Skipped() (frames, skipped uint64) { return s.frames, s.skipped }

// sampled reports whether img was sampled into cur by compare.
func (s *Still) sampled(img *image.Gray) bool {
	return img.Rect.Dx() == s.w && img.Rect.Dy() == s.h && s.w >= stillMinSide && s.h >= stillMinSide
}

// compare samples img into cur and reports whether it shows the view of
// the reference unchanged.
func (s *Still) compare(img *image.Gray) bool {
	w, h := img.Rect.Dx(), img.Rect.Dy()
	if w < stillMinSide || h < stillMinSide || w > MaxPixels/h {
		s.forget()
		s.w, s.h = 0, 0
		return false
	}
	if w != s.w || h != s.h {
		s.grid(w, h)
	}
	s.sample(img)
	if !s.hasRef {
		return false
	}
	s.probe = stillProbe{}

	// The light's gain: the median ratio of the block sums, over blocks
	// bright enough for a ratio to mean something.
	ratios := s.sorted[:0]
	for b, rs := range s.refSum {
		if rs >= 16*s.n[b] {
			ratios = append(ratios, float32(s.curSum[b])/float32(rs))
		}
	}
	gain := 1.0
	if len(ratios) >= len(s.refSum)/4 {
		gain = float64(median(ratios))
	}
	s.probe.gain = gain
	if gain < 2.0/3 || gain > 1.5 {
		return false // the light changed, or the view was covered
	}

	// Each block's mean absolute difference from the reference under
	// that gain, in grey levels.
	const one = 1 << 10
	kq := int32(math.Round(gain * one))
	clear(s.diff)
	for sj := 0; sj < s.ny; sj++ {
		cur := s.cur[sj*s.nx : (sj+1)*s.nx]
		ref := s.ref[sj*s.nx : (sj+1)*s.nx]
		diff := s.diff[(sj/stillBlock)*s.bx : (sj/stillBlock+1)*s.bx]
		for bi := range diff {
			i0, i1 := bi*stillBlock, min((bi+1)*stillBlock, s.nx)
			var t int32
			for i := i0; i < i1; i++ {
				// The reference under the gain, clipped as the sensor
				// clips.
				d := int32(cur[i])*one - min(kq*int32(ref[i]), 255*one)
				if d < 0 {
					d = -d
				}
				t += d
			}
			diff[bi] += float32(t)
		}
	}
	for b := range s.diff {
		s.diff[b] /= float32(one) * float32(s.n[b])
	}
	still := true
	for g := range s.groups {
		s.noise[g] = s.groupNoise(g)
		if s.refNoise[g] >= 0 && s.noise[g] > 2*s.refNoise[g]+stillQuant {
			still = false // most of these blocks changed
		}
	}
	s.probe.noise = s.noise
	for b, d := range s.diff {
		noise := s.noise[s.group[b]]
		sd := noise * madSD / math.Sqrt(float64(s.n[b]))
		excess := float64(d) - noise - stillQuant
		if excess > stillZ*sd {
			s.probe.moved++
			still = false
		}
		if sd > 0 {
			s.probe.worst = max(s.probe.worst, excess/sd)
		}
	}
	return still
}

// grid sets up the sampling grid for frames of w×h pixels.
func (s *Still) grid(w, h int) {
	s.w, s.h = w, h
	s.nx = (w - stillStride/2 + stillStride - 1) / stillStride
	s.ny = (h - stillStride/2 + stillStride - 1) / stillStride
	s.bx = (s.nx + stillBlock - 1) / stillBlock
	s.by = (s.ny + stillBlock - 1) / stillBlock
	nb := s.bx * s.by
	s.n = make([]int32, nb)
	for sj := 0; sj < s.ny; sj++ {
		for si := 0; si < s.nx; si++ {
			s.n[(sj/stillBlock)*s.bx+si/stillBlock]++
		}
	}
	s.ref = make([]uint8, s.nx*s.ny)
	s.cur = make([]uint8, s.nx*s.ny)
	s.refSum = make([]int32, nb)
	s.curSum = make([]int32, nb)
	s.diff = make([]float32, nb)
	s.sorted = make([]float32, 0, nb)
	s.group = make([]uint8, nb)
	s.texture = make([]float32, nb)
	s.order = make([]int32, nb)
	s.groups = min(stillGroups, max(1, nb/stillGroupBlocks))
	for b := range s.order {
		s.order[b] = int32(b)
	}
	s.forget()
}

// sample copies the grid's pixels of img into cur and sums them per block
// into curSum.
func (s *Still) sample(img *image.Gray) {
	clear(s.curSum)
	for sj := 0; sj < s.ny; sj++ {
		off := img.PixOffset(img.Rect.Min.X, img.Rect.Min.Y+stillStride/2+sj*stillStride)
		row := img.Pix[off : off+s.w]
		out := s.cur[sj*s.nx : (sj+1)*s.nx]
		sums := s.curSum[(sj/stillBlock)*s.bx : (sj/stillBlock+1)*s.bx]
		for bi := range sums {
			i0, i1 := bi*stillBlock, min((bi+1)*stillBlock, s.nx)
			var t int32
			for i := i0; i < i1; i++ {
				v := row[stillStride/2+i*stillStride]
				out[i] = v
				t += int32(v)
			}
			sums[bi] += t
		}
	}
}

// median returns the median of v, reordering it.
func median(v []float32) float32 {
	slices.Sort(v)
	return v[len(v)/2]
}

func abs32(v int32) int32 {
	if v < 0 {
		return -v
	}
	return v
}
