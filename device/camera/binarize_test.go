package camera

import (
	"encoding/binary"
	"math/rand/v2"
	"reflect"
	"testing"
)

// refBinarize is the hybrid binarisation written out pixel by pixel,
// without kept block statistics or packed bits.
func refBinarize(p plane, minRange int) [][]bool {
	sw, sh := (p.w+blockSize-1)/blockSize, (p.h+blockSize-1)/blockSize
	maxX, maxY := p.w-blockSize, p.h-blockSize
	bp := make([]int, sw*sh)
	for by := 0; by < sh; by++ {
		for bx := 0; bx < sw; bx++ {
			xo, yo := min(bx*blockSize, maxX), min(by*blockSize, maxY)
			sum, lo, hi := 0, 255, 0
			for y := yo; y < yo+blockSize; y++ {
				for x := xo; x < xo+blockSize; x++ {
					v := int(p.pix[y*p.stride+x])
					sum += v
					lo, hi = min(lo, v), max(hi, v)
				}
			}
			avg := sum / (blockSize * blockSize)
			if hi-lo <= minRange {
				avg = lo / 2
				if by > 0 && bx > 0 {
					if nb := (bp[(by-1)*sw+bx] + 2*bp[by*sw+bx-1] + bp[(by-1)*sw+bx-1]) / 4; lo < nb {
						avg = nb
					}
				}
			}
			bp[by*sw+bx] = avg
		}
	}
	out := make([][]bool, p.h)
	for y := range out {
		out[y] = make([]bool, p.w)
	}
	for by := 0; by < sh; by++ {
		for bx := 0; bx < sw; bx++ {
			top, left := min(max(by, 2), sh-3), min(max(bx, 2), sw-3)
			sum := 0
			for z := -2; z <= 2; z++ {
				for k := -2; k <= 2; k++ {
					sum += bp[(top+z)*sw+left+k]
				}
			}
			t := sum / 25
			xo, yo := min(bx*blockSize, maxX), min(by*blockSize, maxY)
			for y := yo; y < yo+blockSize; y++ {
				for x := xo; x < xo+blockSize; x++ {
					if int(p.pix[y*p.stride+x]) <= t {
						out[y][x] = true
					}
				}
			}
		}
	}
	return out
}

// TestBinarizeMatchesReference checks the packed, branch-free threshold
// and the block statistics kept between binarisations of one plane
// against refBinarize, on widths whose last block straddles a 32-bit
// word, and that forget drops statistics a reused buffer made stale.
func TestBinarizeMatchesReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	var b binarizer
	for _, sz := range [][2]int{{203, 157}, {64, 40}, {200, 48}, {256, 41}, {279, 279}, {640, 360}} {
		w, h := sz[0], sz[1]
		stride := w + 5
		buf := make([]byte, stride*h)
		for round := 0; round < 2; round++ {
			// Blocks of faint texture beside contrasted ones.
			for y := 0; y < h; y++ {
				for x := 0; x < w; x++ {
					v := 120 + rng.IntN(9)
					if (x/11+y/13+round)%3 == 0 {
						v = 40 + rng.IntN(180)
					}
					buf[y*stride+x] = byte(v)
				}
			}
			p := plane{pix: buf, w: w, h: h, stride: stride}
			b.forget()
			for _, r := range []int{normalRange, lowRange, smoothRange} {
				m, words := b.binarize(p, r, nil)
				want := refBinarize(p, r)
				for y := 0; y < h; y++ {
					for x := 0; x < w; x++ {
						if m.Get(x, y) != want[y][x] {
							t.Fatalf("%dx%d, round %d, range %d: pixel (%d, %d) is %v, want %v", w, h, round, r, x, y, m.Get(x, y), want[y][x])
						}
					}
				}
				// The words kept are the matrix's.
				var rows bitRows
				rows.load(m)
				if !reflect.DeepEqual(words, rows.words) {
					t.Fatalf("%dx%d, round %d, range %d: the words kept are not the matrix's", w, h, round, r)
				}
			}
		}
	}
}

// TestDarkBits checks darkBits against a byte-by-byte comparison on
// every threshold, random pixels and the extremes 0, t and t+1, 255.
func TestDarkBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for thr := 0; thr <= 255; thr++ {
		for round := 0; round < 200; round++ {
			var px [8]byte
			for k := range px {
				switch rng.IntN(4) {
				case 0:
					px[k] = byte(thr)
				case 1:
					px[k] = byte(min(thr+1, 255))
				case 2:
					px[k] = []byte{0, 255}[rng.IntN(2)]
				default:
					px[k] = byte(rng.IntN(256))
				}
			}
			var want uint8
			for k, v := range px {
				if int(v) <= thr {
					want |= 1 << k
				}
			}
			if got := darkBits(binary.LittleEndian.Uint64(px[:]), thr); got != want {
				t.Fatalf("threshold %d, pixels %v: %08b, want %08b", thr, px, got, want)
			}
		}
	}
}

func TestDiv9(t *testing.T) {
	for v := uint32(0); v <= 9*255+4; v++ {
		if got := div9(v); uint32(got) != v/9 {
			t.Fatalf("div9(%d) = %d, want %d", v, got, v/9)
		}
	}
}

// TestSmoothAndHalveMatchReference checks smooth3 and downscale2 against
// their definitions (a 3×3 box mean with the edge rows and columns
// repeated, a 2×2 box mean, both rounded) on odd and even sizes and a
// stride wider than the plane.
func TestSmoothAndHalveMatchReference(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	var b binarizer
	for _, sz := range [][2]int{{1, 1}, {1, 5}, {2, 3}, {7, 9}, {8, 3}, {9, 2}, {15, 4}, {16, 5}, {33, 17}, {640, 48}} {
		w, h := sz[0], sz[1]
		stride := w + 3
		buf := make([]byte, stride*h)
		for i := range buf {
			buf[i] = byte(rng.IntN(256))
		}
		p := plane{pix: buf, w: w, h: h, stride: stride}
		at := func(x, y int) int {
			x, y = min(max(x, 0), w-1), min(max(y, 0), h-1)
			return int(buf[y*stride+x])
		}
		_, sm := b.smooth3(nil, p)
		for y := 0; y < h; y++ {
			for x := 0; x < w; x++ {
				sum := 0
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						sum += at(x+dx, y+dy)
					}
				}
				if got := int(sm.pix[y*sm.stride+x]); got != (sum+4)/9 {
					t.Fatalf("%dx%d: smoothed (%d, %d) = %d, want %d", w, h, x, y, got, (sum+4)/9)
				}
			}
		}
		_, hf := downscale2(nil, p)
		if hf.w != w/2 || hf.h != h/2 {
			t.Fatalf("%dx%d: halved to %dx%d", w, h, hf.w, hf.h)
		}
		for y := 0; y < hf.h; y++ {
			for x := 0; x < hf.w; x++ {
				want := (at(2*x, 2*y) + at(2*x+1, 2*y) + at(2*x, 2*y+1) + at(2*x+1, 2*y+1) + 2) / 4
				if got := int(hf.pix[y*hf.stride+x]); got != want {
					t.Fatalf("%dx%d: halved (%d, %d) = %d, want %d", w, h, x, y, got, want)
				}
			}
		}
	}
}

// TestBlockStats8 checks the lane-wise block statistics against a pixel
// by pixel sum, minimum and maximum, on random blocks, flat ones and
// ones holding 0 and 255.
func TestBlockStats8(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	const stride = 13
	pix := make([]byte, 7*stride+8)
	for round := 0; round < 20000; round++ {
		base, spread := rng.IntN(256), 1+rng.IntN(256)
		for i := range pix {
			switch rng.IntN(16) {
			case 0:
				pix[i] = 0
			case 1:
				pix[i] = 255
			default:
				pix[i] = byte(min(255, base+rng.IntN(spread)))
			}
		}
		sum, lo, hi := 0, 255, 0
		for y := 0; y < 8; y++ {
			for _, v := range pix[y*stride : y*stride+8] {
				sum += int(v)
				lo, hi = min(lo, int(v)), max(hi, int(v))
			}
		}
		if s, l, h := blockStats8(pix, stride); s != sum || l != lo || h != hi {
			t.Fatalf("round %d: got sum %d, lo %d, hi %d; want %d, %d, %d", round, s, l, h, sum, lo, hi)
		}
	}
}
