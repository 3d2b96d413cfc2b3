package status

import (
	"encoding/binary"
	"fmt"
	"math/bits"
)

// Members of a group or removal travel in one of two encodings; the
// Builder picks the smaller. Rice-coded gaps suit scattered indexes (11
// bits an index at the benchmark's density, against roaring's 17);
// roaring's run containers suit ranges (4 bytes a run, where Rice takes a
// bit an index).
const (
	encRice    = 0
	encRoaring = 1
)

// Roaring's portable serialization (github.com/RoaringBitmap/RoaringFormatSpec).
const (
	roaringCookieRuns   = 12347 // low 16 bits; high 16 bits: containers - 1
	roaringCookieNoRuns = 12346 // followed by the container count
	roaringNoOffsetMin  = 4     // with runs, offsets only from 4 containers
	roaringArrayMax     = 4096  // an array container holds at most this many
	roaringBitmapBytes  = 8192
)

// roaringContainer is one container of a validated serialization: the
// high 16 bits of its values, how many it holds, its kind and where its
// data starts.
type roaringContainer struct {
	key  uint32
	card int
	kind uint8 // roaringArray, roaringBitmap or roaringRun
	pos  int
}

const (
	roaringArray = iota
	roaringBitmap
	roaringRun
)

// validateRoaring walks a portable roaring serialization and checks every
// size, order and count against the bytes. It returns the cardinality.
func validateRoaring(b []byte) (uint64, error) {
	_, card, err := parseRoaring(b)
	return card, err
}

// parseRoaring validates a portable roaring serialization and returns its
// containers and cardinality. Hostile bytes are refused here; nothing
// reads a container that it did not check.
func parseRoaring(b []byte) ([]roaringContainer, uint64, error) {
	bad := func(format string, args ...any) ([]roaringContainer, uint64, error) {
		return nil, 0, fmt.Errorf("roaring members: "+format+": %w", append(args, ErrMalformed)...)
	}
	if len(b) < 4 {
		return bad("%d bytes", len(b))
	}
	cookie := binary.LittleEndian.Uint32(b)
	pos := 4
	var n int
	var runFlags []byte
	switch {
	case cookie&0xffff == roaringCookieRuns:
		n = int(cookie>>16) + 1
		runFlags = b[pos:min(len(b), pos+(n+7)/8)]
		pos += (n + 7) / 8
		if len(runFlags) < (n+7)/8 {
			return bad("truncated run flags")
		}
	case cookie == roaringCookieNoRuns:
		if len(b) < 8 {
			return bad("truncated container count")
		}
		c := binary.LittleEndian.Uint32(b[4:])
		if c > 1<<16 {
			return bad("%d containers", c)
		}
		n = int(c)
		pos = 8
	default:
		return bad("cookie %#x", cookie)
	}
	isRun := func(i int) bool { return runFlags != nil && runFlags[i/8]&(1<<(i%8)) != 0 }
	header := pos
	if len(b)-pos < 4*n {
		return bad("truncated header")
	}
	pos += 4 * n
	withOffsets := runFlags == nil || n >= roaringNoOffsetMin
	offsets := pos
	if withOffsets {
		if len(b)-pos < 4*n {
			return bad("truncated offsets")
		}
		pos += 4 * n
	}
	cs := make([]roaringContainer, n)
	var total uint64
	prevKey := -1
	for i := range n {
		key := int(binary.LittleEndian.Uint16(b[header+4*i:]))
		card := int(binary.LittleEndian.Uint16(b[header+4*i+2:])) + 1
		if key <= prevKey {
			return bad("container keys not increasing")
		}
		prevKey = key
		if withOffsets && int(binary.LittleEndian.Uint32(b[offsets+4*i:])) != pos {
			return bad("container %d offset", i)
		}
		cs[i] = roaringContainer{key: uint32(key), card: card, pos: pos}
		switch {
		case isRun(i):
			cs[i].kind = roaringRun
			if len(b)-pos < 2 {
				return bad("truncated run container")
			}
			runs := int(binary.LittleEndian.Uint16(b[pos:]))
			pos += 2
			if runs == 0 || len(b)-pos < 4*runs {
				return bad("run container %d: %d runs", i, runs)
			}
			sum, next := 0, 0
			for r := range runs {
				start := int(binary.LittleEndian.Uint16(b[pos+4*r:]))
				length := int(binary.LittleEndian.Uint16(b[pos+4*r+2:])) + 1
				if start < next || start+length > 1<<16 {
					return bad("run container %d: runs overlap or overflow", i)
				}
				next = start + length + 1 // runs neither overlap nor touch
				sum += length
			}
			if sum != card {
				return bad("run container %d: %d values, header says %d", i, sum, card)
			}
			pos += 4 * runs
		case card <= roaringArrayMax:
			cs[i].kind = roaringArray
			if len(b)-pos < 2*card {
				return bad("truncated array container")
			}
			prev := -1
			for j := range card {
				v := int(binary.LittleEndian.Uint16(b[pos+2*j:]))
				if v <= prev {
					return bad("array container %d not increasing", i)
				}
				prev = v
			}
			pos += 2 * card
		default:
			cs[i].kind = roaringBitmap
			if len(b)-pos < roaringBitmapBytes {
				return bad("truncated bitmap container")
			}
			ones := 0
			for j := 0; j < roaringBitmapBytes; j += 8 {
				ones += bits.OnesCount64(binary.LittleEndian.Uint64(b[pos+j:]))
			}
			if ones != card {
				return bad("bitmap container %d: %d values, header says %d", i, ones, card)
			}
			pos += roaringBitmapBytes
		}
		total += uint64(card)
	}
	if pos != len(b) {
		return bad("%d trailing bytes", len(b)-pos)
	}
	return cs, total, nil
}

// roaringOf validates a roaring serialization of count values and returns
// an iterator over them.
func roaringOf(b []byte, count uint64) (*roaringIter, error) {
	cs, card, err := parseRoaring(b)
	if err != nil {
		return nil, err
	}
	if card != count {
		return nil, fmt.Errorf("roaring members: %d values, count says %d: %w", card, count, ErrMalformed)
	}
	return &roaringIter{b: b, cs: cs}, nil
}

// roaringIter yields the values of a validated serialization in
// increasing order without expanding them: a range of a million indexes
// costs its few runs.
type roaringIter struct {
	b  []byte
	cs []roaringContainer
	ci int // the container
	j  int // array: the value; bitmap: the 64-bit word; run: the run
	// bitmap: the bits of word j not yet yielded; run: the next value and
	// the run's last.
	word       uint64
	next, last int
	started    bool
}

// Next returns the next value. The caller asks for no more than the
// cardinality that roaringOf checked.
func (it *roaringIter) Next() uint32 {
	for {
		c := &it.cs[it.ci]
		if !it.started {
			it.started, it.j = true, 0
			switch c.kind {
			case roaringBitmap:
				it.word = binary.LittleEndian.Uint64(it.b[c.pos:])
			case roaringRun:
				it.loadRun(c)
			}
		}
		switch c.kind {
		case roaringArray:
			if it.j < c.card {
				v := binary.LittleEndian.Uint16(it.b[c.pos+2*it.j:])
				it.j++
				return c.key<<16 | uint32(v)
			}
		case roaringBitmap:
			for it.word == 0 && it.j+1 < roaringBitmapBytes/8 {
				it.j++
				it.word = binary.LittleEndian.Uint64(it.b[c.pos+8*it.j:])
			}
			if it.word != 0 {
				low := it.j*64 + bits.TrailingZeros64(it.word)
				it.word &= it.word - 1
				return c.key<<16 | uint32(low)
			}
		case roaringRun:
			runs := int(binary.LittleEndian.Uint16(it.b[c.pos:]))
			if it.next > it.last && it.j+1 < runs {
				it.j++
				it.loadRun(c)
			}
			if it.next <= it.last {
				v := it.next
				it.next++
				return c.key<<16 | uint32(v)
			}
		}
		it.ci++
		it.started = false
	}
}

// loadRun reads run j of run container c.
func (it *roaringIter) loadRun(c *roaringContainer) {
	p := c.pos + 2 + 4*it.j
	it.next = int(binary.LittleEndian.Uint16(it.b[p:]))
	it.last = it.next + int(binary.LittleEndian.Uint16(it.b[p+2:]))
}

// decodeRoaring returns the count values of a roaring serialization,
// validated first; count bounds the allocation.
func decodeRoaring(b []byte, count uint64) ([]uint32, error) {
	it, err := roaringOf(b, count)
	if err != nil {
		return nil, err
	}
	vals := make([]uint32, count)
	for i := range vals {
		vals[i] = it.Next()
	}
	return vals, nil
}

// encodeRoaring writes sorted unique values in roaring's portable
// serialization (github.com/RoaringBitmap/RoaringFormatSpec), each
// container in its smallest kind as roaring's RunOptimize picks it: runs
// when they are smaller than both an array and a bitmap, then an array up
// to 4096 values, else a bitmap.
func encodeRoaring(vals []uint32) []byte {
	type group struct {
		key        uint32
		vals       []uint32
		runs, kind int
	}
	var gs []group
	for i := 0; i < len(vals); {
		key := vals[i] >> 16
		j := i + 1
		for j < len(vals) && vals[j]>>16 == key {
			j++
		}
		g := group{key: key, vals: vals[i:j], runs: 1}
		for k := 1; k < len(g.vals); k++ {
			if g.vals[k] != g.vals[k-1]+1 {
				g.runs++
			}
		}
		card := len(g.vals)
		plain := roaringBitmapBytes
		if card <= roaringArrayMax {
			plain = 2 * card
		}
		switch {
		case 2+4*g.runs < plain:
			g.kind = roaringRun
		case card <= roaringArrayMax:
			g.kind = roaringArray
		default:
			g.kind = roaringBitmap
		}
		gs = append(gs, g)
		i = j
	}
	n := len(gs)
	hasRuns := false
	for _, g := range gs {
		hasRuns = hasRuns || g.kind == roaringRun
	}
	var out []byte
	if hasRuns {
		out = binary.LittleEndian.AppendUint32(out, uint32(roaringCookieRuns)|uint32(n-1)<<16)
		flags := make([]byte, (n+7)/8)
		for i, g := range gs {
			if g.kind == roaringRun {
				flags[i/8] |= 1 << (i % 8)
			}
		}
		out = append(out, flags...)
	} else {
		out = binary.LittleEndian.AppendUint32(out, roaringCookieNoRuns)
		out = binary.LittleEndian.AppendUint32(out, uint32(n))
	}
	for _, g := range gs {
		out = binary.LittleEndian.AppendUint16(out, uint16(g.key))
		out = binary.LittleEndian.AppendUint16(out, uint16(len(g.vals)-1))
	}
	size := func(g group) int {
		switch g.kind {
		case roaringRun:
			return 2 + 4*g.runs
		case roaringArray:
			return 2 * len(g.vals)
		}
		return roaringBitmapBytes
	}
	if !hasRuns || n >= roaringNoOffsetMin {
		off := len(out) + 4*n
		for _, g := range gs {
			out = binary.LittleEndian.AppendUint32(out, uint32(off))
			off += size(g)
		}
	}
	for _, g := range gs {
		switch g.kind {
		case roaringRun:
			out = binary.LittleEndian.AppendUint16(out, uint16(g.runs))
			for k := 0; k < len(g.vals); {
				e := k + 1
				for e < len(g.vals) && g.vals[e] == g.vals[e-1]+1 {
					e++
				}
				out = binary.LittleEndian.AppendUint16(out, uint16(g.vals[k]))
				out = binary.LittleEndian.AppendUint16(out, uint16(e-k-1))
				k = e
			}
		case roaringArray:
			for _, v := range g.vals {
				out = binary.LittleEndian.AppendUint16(out, uint16(v))
			}
		default:
			var words [roaringBitmapBytes / 8]uint64
			for _, v := range g.vals {
				low := v & 0xffff
				words[low/64] |= 1 << (low % 64)
			}
			for _, w := range words {
				out = binary.LittleEndian.AppendUint64(out, w)
			}
		}
	}
	return out
}

// encodeMembers encodes sorted unique values in the smaller encoding.
func encodeMembers(vals []uint32) (enc uint8, k uint8, data []byte) {
	rice, rk := riceEncode(vals)
	if len(vals) > 0 {
		if b := encodeRoaring(vals); len(b) < len(rice) {
			return encRoaring, 0, b
		}
	}
	return encRice, uint8(rk), rice
}

// decodeMembers decodes count values in encoding enc.
func decodeMembers(enc, k uint8, data []byte, count uint64) ([]uint32, error) {
	switch enc {
	case encRice:
		return riceDecode(data, count, uint(k))
	case encRoaring:
		if k != 0 {
			return nil, fmt.Errorf("roaring members with rice parameter %d: %w", k, ErrMalformed)
		}
		return decodeRoaring(data, count)
	}
	return nil, fmt.Errorf("members encoding %d: %w", enc, ErrMalformed)
}
