package camera

import (
	"github.com/makiuchi-d/gozxing"
)

// Binarisation follows gozxing's hybrid binarizer (8×8 blocks, a black
// point per block, a threshold from the 5×5 block neighbourhood) with the
// dynamic range below which a block counts as flat made a parameter:
// gozxing's 24 loses low-contrast codes, a lower value finds them.

const (
	blockPower = 3
	blockSize  = 1 << blockPower
)

// binarizer keeps scratch buffers between frames.
type binarizer struct {
	black  []int
	thr    []int
	colSum []int
	row    *gozxing.BitArray
}

// binarize returns the black matrix of p: true for dark pixels.
func (b *binarizer) binarize(p plane, minRange int) *gozxing.BitMatrix {
	w, h := p.w, p.h
	m, _ := gozxing.NewBitMatrix(w, h)
	if w < blockSize*5 || h < blockSize*5 {
		b.global(p, m)
		return m
	}
	sw := (w + blockSize - 1) >> blockPower
	sh := (h + blockSize - 1) >> blockPower
	if cap(b.black) < sw*sh {
		b.black = make([]int, sw*sh)
	}
	bp := b.black[:sw*sh]
	maxX, maxY := w-blockSize, h-blockSize
	for by := 0; by < sh; by++ {
		yo := min(by<<blockPower, maxY)
		for bx := 0; bx < sw; bx++ {
			xo := min(bx<<blockPower, maxX)
			sum, lo, hi := 0, 255, 0
			for yy := 0; yy < blockSize; yy++ {
				row := p.pix[(yo+yy)*p.stride+xo : (yo+yy)*p.stride+xo+blockSize]
				for _, v := range row {
					sum += int(v)
					lo = min(lo, int(v))
					hi = max(hi, int(v))
				}
			}
			avg := sum >> (2 * blockPower)
			if hi-lo <= minRange {
				avg = lo / 2
				if by > 0 && bx > 0 {
					nb := (bp[(by-1)*sw+bx] + 2*bp[by*sw+bx-1] + bp[(by-1)*sw+bx-1]) / 4
					if lo < nb {
						avg = nb
					}
				}
			}
			bp[by*sw+bx] = avg
		}
	}
	if b.row == nil || b.row.GetSize() != w {
		b.row = gozxing.NewBitArray(w)
	}
	words := b.row.GetBitArray()
	if cap(b.thr) < sw {
		b.thr = make([]int, sw)
	}
	thr := b.thr[:sw]
	for by := 0; by < sh; by++ {
		yo := min(by<<blockPower, maxY)
		top := min(max(by, 2), sh-3)
		for bx := range thr {
			left := min(max(bx, 2), sw-3)
			sum := 0
			for z := -2; z <= 2; z++ {
				r := bp[(top+z)*sw:]
				sum += r[left-2] + r[left-1] + r[left] + r[left+1] + r[left+2]
			}
			thr[bx] = sum / 25
		}
		for yy := 0; yy < blockSize; yy++ {
			y := yo + yy
			clear(words)
			for bx, t := range thr {
				xo := min(bx<<blockPower, maxX)
				row := p.pix[y*p.stride+xo : y*p.stride+xo+blockSize]
				for x, v := range row {
					if int(v) <= t {
						xx := xo + x
						words[xx>>5] |= 1 << uint(xx&31)
					}
				}
			}
			m.SetRow(y, b.row)
		}
	}
	return m
}

// global thresholds a small image at the mean of its darkest and
// lightest pixels.
func (b *binarizer) global(p plane, m *gozxing.BitMatrix) {
	lo, hi := 255, 0
	for y := 0; y < p.h; y++ {
		for _, v := range p.pix[y*p.stride : y*p.stride+p.w] {
			lo = min(lo, int(v))
			hi = max(hi, int(v))
		}
	}
	if hi-lo < 8 {
		return
	}
	t := (lo + hi) / 2
	for y := 0; y < p.h; y++ {
		for x, v := range p.pix[y*p.stride : y*p.stride+p.w] {
			if int(v) <= t {
				m.Set(x, y)
			}
		}
	}
}

// downscale2 halves p with a 2×2 box filter into dst.
func downscale2(dst []byte, p plane) ([]byte, plane) {
	w, h := p.w/2, p.h/2
	if cap(dst) < w*h {
		dst = make([]byte, w*h)
	}
	dst = dst[:w*h]
	for y := 0; y < h; y++ {
		r0 := p.pix[2*y*p.stride:]
		r1 := p.pix[(2*y+1)*p.stride:]
		out := dst[y*w : (y+1)*w]
		for x := range out {
			out[x] = byte((int(r0[2*x]) + int(r0[2*x+1]) + int(r1[2*x]) + int(r1[2*x+1]) + 2) >> 2)
		}
	}
	return dst, plane{pix: dst, w: w, h: h, stride: w}
}

// smooth3 writes the 3×3 box mean of p into dst, to quiet sensor noise
// before a binarisation that keeps faint contrasts.
func (b *binarizer) smooth3(dst []byte, p plane) ([]byte, plane) {
	w, h := p.w, p.h
	if cap(dst) < w*h {
		dst = make([]byte, w*h)
	}
	dst = dst[:w*h]
	if cap(b.colSum) < w {
		b.colSum = make([]int, w)
	}
	col := b.colSum[:w]
	for y := 0; y < h; y++ {
		r0 := p.pix[max(y-1, 0)*p.stride:]
		r1 := p.pix[y*p.stride:]
		r2 := p.pix[min(y+1, h-1)*p.stride:]
		for x := range col {
			col[x] = int(r0[x]) + int(r1[x]) + int(r2[x])
		}
		out := dst[y*w : (y+1)*w]
		for x := range out {
			s := col[max(x-1, 0)] + col[x] + col[min(x+1, w-1)]
			out[x] = byte((s + 4) / 9)
		}
	}
	return dst, plane{pix: dst, w: w, h: h, stride: w}
}
