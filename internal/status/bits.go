package status

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// bitWriter appends bits most significant first.
type bitWriter struct {
	buf  []byte
	acc  uint64 // pending bits, right-aligned
	nacc uint   // number of pending bits (< 8 after each call)
}

// write appends the low n bits of v (n ≤ 32).
func (w *bitWriter) write(v uint64, n uint) {
	if n == 0 {
		return
	}
	w.acc = w.acc<<n | v&(1<<n-1)
	w.nacc += n
	for w.nacc >= 8 {
		w.nacc -= 8
		w.buf = append(w.buf, byte(w.acc>>w.nacc))
	}
	w.acc &= 1<<w.nacc - 1
}

// writeRice appends v as a Rice code with parameter k: the quotient v>>k in
// unary (ones ended by a zero), then the k low bits.
func (w *bitWriter) writeRice(v uint64, k uint) {
	for q := v >> k; q > 0; {
		n := min(q, 32)
		w.write(1<<n-1, uint(n))
		q -= n
	}
	w.write(0, 1)
	w.write(v, k)
}

// bytes flushes the last partial byte (zero-padded) and returns the buffer.
func (w *bitWriter) bytes() []byte {
	if w.nacc > 0 {
		w.buf = append(w.buf, byte(w.acc<<(8-w.nacc)))
		w.acc, w.nacc = 0, 0
	}
	return w.buf
}

// bitReader reads bits most significant first, never past the end.
type bitReader struct {
	buf []byte
	pos uint64 // bit position
}

func (r *bitReader) left() uint64 { return uint64(len(r.buf))*8 - r.pos }

// read returns the next n bits (n ≤ 32), or false past the end.
func (r *bitReader) read(n uint) (uint64, bool) {
	if uint64(n) > r.left() {
		return 0, false
	}
	v := readBitsAt(r.buf, r.pos, n)
	r.pos += uint64(n)
	return v, true
}

// readRice reads a Rice code with parameter k whose value is at most limit.
func (r *bitReader) readRice(k uint, limit uint64) (uint64, bool) {
	// Fast path: the whole code within the 57 or more bits one 64-bit load
	// at the current byte gives (nearly every code: the quotient is a few
	// bits for the parameter riceEncode picks).
	if i := r.pos / 8; i+8 <= uint64(len(r.buf)) {
		w := binary.BigEndian.Uint64(r.buf[i:]) << (r.pos % 8)
		q := uint(bits.LeadingZeros64(^w))
		if n := q + 1 + k; n <= 57 {
			// k == 0 shifts by 64, which gives 0: no low bits.
			v := uint64(q)<<k | w<<(q+1)>>(64-k)
			if v > limit {
				return 0, false
			}
			r.pos += uint64(n)
			return v, true
		}
	}
	return r.readRiceSlow(k, limit)
}

// readRiceSlow is readRice a byte at a time, for codes near the end of the
// buffer or longer than one load.
func (r *bitReader) readRiceSlow(k uint, limit uint64) (uint64, bool) {
	var q uint64
	maxQ := limit >> k
	for {
		if r.left() == 0 {
			return 0, false
		}
		// Count the ones in the current byte from pos on.
		byteIdx, off := r.pos/8, uint(r.pos%8)
		b := r.buf[byteIdx] << off
		ones := uint(bits.LeadingZeros8(^b))
		avail := 8 - off
		if ones >= avail {
			q += uint64(avail)
			r.pos += uint64(avail)
		} else {
			q += uint64(ones)
			r.pos += uint64(ones) + 1 // the terminating zero
			break
		}
		if q > maxQ {
			return 0, false
		}
	}
	if q > maxQ {
		return 0, false
	}
	low, ok := r.read(k)
	if !ok {
		return 0, false
	}
	v := q<<k | low
	if v > limit {
		return 0, false
	}
	return v, true
}

// readBitsAt returns the n bits (n ≤ 32) at bit position pos of buf; the
// caller checks bounds.
func readBitsAt(buf []byte, pos uint64, n uint) uint64 {
	if i := pos / 8; i+8 <= uint64(len(buf)) {
		// One load holds the at most 7+32 bits. n == 0 shifts by 64: 0.
		return binary.BigEndian.Uint64(buf[i:]) << (pos % 8) >> (64 - n)
	}
	return readBitsAtSlow(buf, pos, n)
}

// readBitsAtSlow is readBitsAt a byte at a time, for the last bytes of buf.
func readBitsAtSlow(buf []byte, pos uint64, n uint) uint64 {
	if n == 0 {
		return 0
	}
	var v uint64
	i := pos / 8
	off := uint(pos % 8)
	need := off + n // bits to take from buf[i:]
	var got uint
	for got < need {
		v = v<<8 | uint64(buf[i])
		i++
		got += 8
	}
	v >>= got - need
	return v & (1<<n - 1)
}

// packedLen is the number of bytes count fixed-width values of width bits take.
func packedLen(count uint64, width uint) uint64 { return (count*uint64(width) + 7) / 8 }

// riceEncode encodes strictly increasing values as Rice-coded gaps
// (the first value itself, then each value minus the previous minus one),
// choosing the parameter that gives the fewest bits.
func riceEncode(vals []uint32) (data []byte, k uint) {
	if len(vals) == 0 {
		return nil, 0
	}
	mean := (uint64(vals[len(vals)-1]) + 1) / uint64(len(vals))
	est := uint(0)
	if mean > 1 {
		est = uint(bits.Len64(mean)) - 1
	}
	best, bestBits := est, uint64(1<<63)
	for c := max(int(est)-2, 0); c <= min(int(est)+2, 31); c++ {
		n := riceBits(vals, uint(c))
		if n < bestBits {
			best, bestBits = uint(c), n
		}
	}
	w := bitWriter{buf: make([]byte, 0, (bestBits+7)/8)}
	prev := int64(-1)
	for _, v := range vals {
		w.writeRice(uint64(int64(v)-prev-1), best)
		prev = int64(v)
	}
	return w.bytes(), best
}

func riceBits(vals []uint32, k uint) uint64 {
	var n uint64
	prev := int64(-1)
	for _, v := range vals {
		g := uint64(int64(v) - prev - 1)
		n += g>>k + 1 + uint64(k)
		prev = int64(v)
	}
	return n
}

// riceDecode decodes count strictly increasing uint32 values. The caller has
// checked count against the size of data. The padding after the last code
// must be zero and shorter than a byte.
func riceDecode(data []byte, count uint64, k uint) ([]uint32, error) {
	if k > 31 {
		return nil, fmt.Errorf("decode members: rice parameter %d: %w", k, ErrMalformed)
	}
	out := make([]uint32, 0, count)
	r := bitReader{buf: data}
	next := uint64(0) // smallest value the next one may take
	for i := uint64(0); i < count; i++ {
		if next > 1<<32-1 {
			return nil, fmt.Errorf("decode members: index past 2^32-1: %w", ErrMalformed)
		}
		g, ok := r.readRice(k, 1<<32-1-next)
		if !ok {
			return nil, fmt.Errorf("decode members: entry %d truncated or out of range: %w", i, ErrMalformed)
		}
		v := next + g
		out = append(out, uint32(v))
		next = v + 1
	}
	if err := checkPadding(&r); err != nil {
		return nil, fmt.Errorf("decode members: %w", err)
	}
	return out, nil
}

func checkPadding(r *bitReader) error {
	left := r.left()
	if left >= 8 {
		return fmt.Errorf("%d trailing bytes: %w", left/8, ErrMalformed)
	}
	if v, _ := r.read(uint(left)); v != 0 {
		return fmt.Errorf("nonzero padding: %w", ErrMalformed)
	}
	return nil
}
