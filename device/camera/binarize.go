package camera

import (
	"encoding/binary"

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
	black []int
	thr   []darkThr
	// colSums holds a block row's column sums of black points over the
	// five block rows around it.
	colSums []int
	row     *gozxing.BitArray
	// stats holds the block statistics of the planes binarised since
	// forget, so that a plane binarised again with another dynamic range
	// is not read again.
	stats [2]blockStats
	// read counts the pixels read since forget: twice a plane for a
	// binarisation (once when its block statistics are kept), once for
	// a smoothing.
	read int
}

// blockStats are the mean, darkest and lightest levels of each 8×8 block
// of a plane.
type blockStats struct {
	pix     *byte // the plane's first pixel; nil when unused
	w, h    int
	avg, lo []int32
	hi      []int32
}

// forget drops the block statistics kept: a new frame may reuse the
// buffers of the last.
func (b *binarizer) forget() {
	b.read = 0
	for i := range b.stats {
		b.stats[i].pix = nil
	}
}

// statsOf returns the block statistics of p, computing them unless they
// are kept from an earlier binarisation of p since forget.
func (b *binarizer) statsOf(p plane, sw, sh int) *blockStats {
	slot := -1
	for i := range b.stats {
		st := &b.stats[i]
		if st.pix == &p.pix[0] && st.w == p.w && st.h == p.h {
			return st
		}
		if slot < 0 && st.pix == nil {
			slot = i
		}
	}
	if slot < 0 {
		slot = 0
	}
	st := &b.stats[slot]
	n := sw * sh
	if cap(st.avg) < n {
		st.avg, st.lo, st.hi = make([]int32, n), make([]int32, n), make([]int32, n)
	}
	st.avg, st.lo, st.hi = st.avg[:n], st.lo[:n], st.hi[:n]
	maxX, maxY := p.w-blockSize, p.h-blockSize
	for by := 0; by < sh; by++ {
		yo := min(by<<blockPower, maxY)
		for bx := 0; bx < sw; bx++ {
			xo := min(bx<<blockPower, maxX)
			sum, lo, hi := blockStats8(p.pix[yo*p.stride+xo:], p.stride)
			i := by*sw + bx
			st.avg[i], st.lo[i], st.hi[i] = int32(sum>>(2*blockPower)), int32(lo), int32(hi)
		}
	}
	st.pix, st.w, st.h = &p.pix[0], p.w, p.h
	b.read += p.w * p.h
	return st
}

// blockStats8 returns the sum, the darkest and the lightest level of
// the 8×8 block whose top-left pixel is pix[0], rows stride apart. A
// row's eight pixels are written out: the loop over them cost more than
// the sums and comparisons.
func blockStats8(pix []byte, stride int) (sum, lo, hi int) {
	lo = 255
	for y := 0; y < blockSize; y++ {
		r := (*[blockSize]byte)(pix[y*stride : y*stride+blockSize])
		v0, v1, v2, v3 := int(r[0]), int(r[1]), int(r[2]), int(r[3])
		v4, v5, v6, v7 := int(r[4]), int(r[5]), int(r[6]), int(r[7])
		sum += v0 + v1 + v2 + v3 + v4 + v5 + v6 + v7
		lo = min(lo, min(v0, v1, v2, v3), min(v4, v5, v6, v7))
		hi = max(hi, max(v0, v1, v2, v3), max(v4, v5, v6, v7))
	}
	return sum, lo, hi
}

// cost returns the work units binarising p takes: a pass over p for the
// block statistics (unless kept since forget) and one to threshold.
func (b *binarizer) cost(p plane) int {
	c := p.w * p.h / pixelsPerUnitRead
	for i := range b.stats {
		if st := &b.stats[i]; p.w > 0 && st.pix == &p.pix[0] && st.w == p.w && st.h == p.h {
			return c
		}
	}
	return 2 * c
}

// binarize returns the black matrix of p: true for dark pixels; and its
// words, in dst when it is large enough (see bitRows), or nil for a plane
// too small for blocks, which is thresholded as a whole.
func (b *binarizer) binarize(p plane, minRange int, dst []uint32) (*gozxing.BitMatrix, []uint32) {
	w, h := p.w, p.h
	m, _ := gozxing.NewBitMatrix(w, h)
	if w < blockSize*5 || h < blockSize*5 {
		b.global(p, m)
		return m, nil
	}
	stride := (w + 31) / 32
	if cap(dst) < stride*h {
		dst = make([]uint32, stride*h)
	}
	dst = dst[:stride*h]
	sw := (w + blockSize - 1) >> blockPower
	sh := (h + blockSize - 1) >> blockPower
	st := b.statsOf(p, sw, sh)
	b.read += w * h
	if cap(b.black) < sw*sh {
		b.black = make([]int, sw*sh)
	}
	bp := b.black[:sw*sh]
	maxX, maxY := w-blockSize, h-blockSize
	for by := 0; by < sh; by++ {
		for bx := 0; bx < sw; bx++ {
			i := by*sw + bx
			avg, lo := int(st.avg[i]), int(st.lo[i])
			if int(st.hi[i])-lo <= minRange {
				avg = lo / 2
				if by > 0 && bx > 0 {
					nb := (bp[(by-1)*sw+bx] + 2*bp[by*sw+bx-1] + bp[(by-1)*sw+bx-1]) / 4
					if lo < nb {
						avg = nb
					}
				}
			}
			bp[i] = avg
		}
	}
	if b.row == nil || b.row.GetSize() != w {
		b.row = gozxing.NewBitArray(w)
	}
	words := b.row.GetBitArray()
	if cap(b.thr) < sw {
		b.thr, b.colSums = make([]darkThr, sw), make([]int, sw)
	}
	thr := b.thr[:sw]
	// aligned blocks start on a multiple of 8; full words hold four.
	aligned := w / blockSize
	full := aligned / 4
	for by := 0; by < sh; by++ {
		yo := min(by<<blockPower, maxY)
		top := min(max(by, 2), sh-3)
		// The 5×5 neighbourhood's sum from the columns' sums over the
		// five block rows, the window clamped at the edges.
		cs := b.colSums[:sw]
		r0, r1, r2 := bp[(top-2)*sw:][:sw], bp[(top-1)*sw:][:sw], bp[top*sw:][:sw]
		r3, r4 := bp[(top+1)*sw:][:sw], bp[(top+2)*sw:][:sw]
		for bx := range cs {
			cs[bx] = r0[bx] + r1[bx] + r2[bx] + r3[bx] + r4[bx]
		}
		win := cs[0] + cs[1] + cs[2] + cs[3] + cs[4]
		for bx := range thr {
			if left := bx - 2; left > 0 && bx+2 < sw {
				win += cs[bx+2] - cs[left-1]
			}
			thr[bx] = thresholdOf(win / 25)
		}
		for yy := 0; yy < blockSize; yy++ {
			y := yo + yy
			row := p.pix[y*p.stride : y*p.stride+w]
			// The blocks that start on a multiple of 8, four to a
			// word, then the last one's at w-8 when w is not a
			// multiple of 8, OR'ed over the bits of the one before.
			k := 0
			for ; k < full; k++ {
				r := (*[4 * blockSize]byte)(row[k*4*blockSize:])
				t := (*[4]darkThr)(thr[4*k:])
				words[k] = uint32(t[0].dark(binary.LittleEndian.Uint64(r[0:]))) |
					uint32(t[1].dark(binary.LittleEndian.Uint64(r[8:])))<<8 |
					uint32(t[2].dark(binary.LittleEndian.Uint64(r[16:])))<<16 |
					uint32(t[3].dark(binary.LittleEndian.Uint64(r[24:])))<<24
			}
			if k < len(words) {
				var acc uint32
				for bx := 4 * k; bx < aligned; bx++ {
					acc |= uint32(thr[bx].dark(binary.LittleEndian.Uint64(row[bx*blockSize:]))) << (8 * (bx & 3))
				}
				words[k] = acc
			}
			if aligned < sw {
				bits := uint64(thr[sw-1].dark(binary.LittleEndian.Uint64(row[maxX:]))) << (maxX & 31)
				words[maxX>>5] |= uint32(bits)
				if hi := uint32(bits >> 32); hi != 0 {
					words[maxX>>5+1] |= hi
				}
			}
			m.SetRow(y, b.row)
			copy(dst[y*stride:(y+1)*stride], words)
		}
	}
	return m, dst
}

// darkBits returns one bit per byte of the eight pixels in x (the first
// pixel in the lowest byte) at or below the threshold t (0 to 255), the
// first pixel's in bit 0: all eight compared at once (see darkThr).
func darkBits(x uint64, t int) uint8 { return thresholdOf(t).dark(x) }

// darkThr is a threshold t as dark compares eight pixels with it: sub
// holds t's low seven bits plus one in every byte, and hi every byte's
// top bit when t's is set.
type darkThr struct{ sub, hi uint64 }

func thresholdOf(t int) darkThr {
	var hi uint64
	if t >= 0x80 {
		hi = top
	}
	return darkThr{sub: uint64(t&0x7F+1) * bytes1, hi: hi}
}

// dark returns a bit per byte of x at or below the threshold, as
// darkBits. Setting each byte's top bit and subtracting sub leaves the
// top bit set where the pixel's low seven bits exceed t's, and no byte
// borrows from the next. A pixel is above t when, in addition, its top
// bit is set (t ≥ 128), or when either is (t < 128). A multiply gathers
// the eight top bits: byte i's, shifted to bit 8i, moves to bit 56+i,
// and no two of the products share a bit.
func (d darkThr) dark(x uint64) uint8 {
	const gather = 0x0102040810204080
	gt := ((x | top) - d.sub) & top
	above := gt&x | (gt|x)&^d.hi
	return uint8((^above & top) >> 7 * gather >> 56)
}

// lanes masks the even bytes of a word into 16-bit lanes; ones has a 1
// in each lane, bytes1 in each byte, and top each byte's top bit.
const (
	lanes  = 0x00FF00FF00FF00FF
	ones   = 0x0001000100010001
	bytes1 = 0x0101010101010101
	top    = 0x8080808080808080
)

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
		r0 := p.pix[2*y*p.stride:][:2*w]
		r1 := p.pix[(2*y+1)*p.stride:][:2*w]
		out := dst[y*w : (y+1)*w]
		// Eight output pixels from sixteen bytes of each row at once,
		// four from each eight: the pairs' sums in 16-bit lanes,
		// rounded, halved twice, packed.
		x := 0
		for ; x+8 <= w; x += 8 {
			a := (*[16]byte)(r0[2*x : 2*x+16])
			b := (*[16]byte)(r1[2*x : 2*x+16])
			lo := halve4(binary.LittleEndian.Uint64(a[:8]), binary.LittleEndian.Uint64(b[:8]))
			hi := halve4(binary.LittleEndian.Uint64(a[8:]), binary.LittleEndian.Uint64(b[8:]))
			binary.LittleEndian.PutUint64(out[x:x+8], lo|hi<<32)
		}
		for ; x < w; x++ {
			out[x] = byte((int(r0[2*x]) + int(r0[2*x+1]) + int(r1[2*x]) + int(r1[2*x+1]) + 2) >> 2)
		}
	}
	return dst, plane{pix: dst, w: w, h: h, stride: w}
}

// halve4 returns the rounded means of the four pixel pairs of a above
// the pairs of b, packed in its low 32 bits.
func halve4(a, b uint64) uint64 {
	s := a&lanes + a>>8&lanes + b&lanes + b>>8&lanes + 2*ones
	s = s >> 2 & lanes
	s |= s >> 8
	return s&0xFFFF | s>>16&0xFFFF0000
}

// smooth3 writes the 3×3 box mean of p into dst, to quiet sensor noise
// before a binarisation that keeps faint contrasts.
func (b *binarizer) smooth3(dst []byte, p plane) ([]byte, plane) {
	w, h := p.w, p.h
	if cap(dst) < w*h {
		dst = make([]byte, w*h)
	}
	dst = dst[:w*h]
	b.read += w * h
	for y := 0; y < h; y++ {
		r0 := p.pix[max(y-1, 0)*p.stride:][:w]
		r1 := p.pix[y*p.stride:][:w]
		r2 := p.pix[min(y+1, h-1)*p.stride:][:w]
		out := dst[y*w:][:w]
		col := func(x int) uint32 { return uint32(r0[x]) + uint32(r1[x]) + uint32(r2[x]) }
		if w == 1 {
			out[0] = div9(3*col(0) + 4)
			continue
		}
		// Eight pixels at a time: the column sums of the even and odd
		// pixels go into 16-bit lanes (at most 765 each), and the
		// window's sums plus 4 too (at most 2299), with the sums left
		// and right of the eight; each is divided by 9 as div9 does,
		// two at a time in 32-bit lanes, whose products stay under
		// 2^24.
		const (
			half = 0x0000FFFF0000FFFF
			q    = 0x000000FF000000FF
		)
		x := 0
		prev := uint64(col(0)) // the column sum left of x; the edge counts twice
		sums := func(x int) (even, odd uint64) {
			a := binary.LittleEndian.Uint64(r0[x : x+8])
			b := binary.LittleEndian.Uint64(r1[x : x+8])
			c := binary.LittleEndian.Uint64(r2[x : x+8])
			return a&lanes + b&lanes + c&lanes, a>>8&lanes + b>>8&lanes + c>>8&lanes
		}
		var even, odd uint64
		if w >= 8 {
			even, odd = sums(0)
		}
		for ; x+8 <= w; x += 8 {
			// The next eight's sums give the one right of these.
			var ne, no, next uint64
			if x+16 <= w {
				ne, no = sums(x + 8)
				next = ne & 0xFFFF
			} else {
				next = uint64(col(min(x+8, w-1)))
			}
			mid := even + odd + 4*ones
			se := mid + (odd<<16 | prev)      // pixel 2k: odd k-1, even k, odd k
			so := mid + (even>>16 | next<<48) // pixel 2k+1: even k, odd k, even k+1
			v := (se&half)*7282>>16&q | (se>>16&half)*7282>>16&q<<16 |
				(so&half)*7282>>16&q<<8 | (so>>16&half)*7282>>16&q<<24
			binary.LittleEndian.PutUint64(out[x:x+8], v)
			prev = odd >> 48
			even, odd = ne, no
		}
		// The rest a pixel at a time, sliding a window of three column
		// sums along the row.
		if x == w {
			continue
		}
		a, c := uint32(prev), col(x)
		for ; x+1 < w; x++ {
			n := col(x + 1)
			out[x] = div9(a + c + n + 4)
			a, c = c, n
		}
		out[w-1] = div9(a + 2*c + 4)
	}
	return dst, plane{pix: dst, w: w, h: h, stride: w}
}

// div9 returns v/9 for v up to 9·255+4, by a multiply (exact in that
// range: TestDiv9).
func div9(v uint32) byte { return byte(v * 7282 >> 16) }
