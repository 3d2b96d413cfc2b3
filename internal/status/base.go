package status

import (
	"encoding/binary"
	"fmt"
	"math/bits"
	"runtime"
	"slices"
)

// A base is applied in one pass from the wire form into the final blocks
// (ApplyBase): per issuer, a cursor over each group's members and times,
// merged block by block (one high-16 key at a time) into a buffer of at
// most 65,536 entries from which the block is made at its final size. The
// parsed form (ParseBase, ApplyBasePayload) holds every index as a uint32
// and every entry as a 16-byte nent before the blocks exist: at 7 M
// entries that is 140 MB on top of the list's 44.5 MB, the peak a 1 GB
// terminal beside Chromium cannot afford.

// cursor walks one group's entries in index order.
type cursor struct {
	g     *wireGroup
	cls   uint16
	count uint64
	i     uint64 // entries read so far
	// Rice members.
	r    bitReader
	next uint64 // smallest value the next member may take
	// Roaring members.
	it *roaringIter
	// The current entry, valid while !done.
	idx  uint32
	eff  int64
	done bool
}

func newCursor(g *wireGroup, cls uint16) (*cursor, error) {
	c := &cursor{g: g, cls: cls, count: g.Count}
	switch g.Enc {
	case encRice:
		c.r = bitReader{buf: g.Members}
	case encRoaring:
		if g.K != 0 {
			return nil, fmt.Errorf("roaring members with rice parameter %d: %w", g.K, ErrMalformed)
		}
		it, err := roaringOf(g.Members, g.Count)
		if err != nil {
			return nil, err
		}
		c.it = it
	default:
		return nil, fmt.Errorf("members encoding %d: %w", g.Enc, ErrMalformed)
	}
	return c, c.advance()
}

// advance moves to the next entry, or sets done after the last one
// (checking the Rice code's padding).
func (c *cursor) advance() error {
	if c.i == c.count {
		c.done = true
		if c.it == nil {
			if err := checkPadding(&c.r); err != nil {
				return fmt.Errorf("decode members: %w", err)
			}
		}
		return nil
	}
	if c.it != nil {
		c.idx = c.it.Next() // roaringOf checked the count
	} else {
		if c.next > 1<<32-1 {
			return fmt.Errorf("decode members: index past 2^32-1: %w", ErrMalformed)
		}
		g, ok := c.r.readRice(uint(c.g.K), 1<<32-1-c.next)
		if !ok {
			return fmt.Errorf("decode members: entry %d truncated or out of range: %w", c.i, ErrMalformed)
		}
		v := c.next + g
		c.idx, c.next = uint32(v), v+1
	}
	c.eff = c.g.T0 + int64(readBitsAt(c.g.Times, c.i*uint64(c.g.Width), uint(c.g.Width)))
	if c.g.Until != 0 && c.eff >= c.g.Until {
		return fmt.Errorf("entry %d: until not after effective: %w", c.i, ErrMalformed)
	}
	c.i++
	return nil
}

// fill appends c's entries whose index has the high 16 bits hi: the
// current one and those that follow it. Rice codes that fit one 64-bit
// load are decoded here with the cursor's state in registers (a 7 M-entry
// base is mostly such codes); anything else, errors and the end included,
// goes through advance.
func (c *cursor) fill(ents []nent, hi uint32) ([]nent, error) {
	if c.it != nil {
		for !c.done && c.idx>>16 == hi {
			ents = append(ents, nent{idx: c.idx, cls: c.cls, eff: c.eff})
			if err := c.advance(); err != nil {
				return ents, err
			}
		}
		return ents, nil
	}
	buf, times := c.r.buf, []byte(c.g.Times)
	k, width := uint(c.g.K), uint(c.g.Width)
	t0, until := c.g.T0, c.g.Until
	for !c.done && c.idx>>16 == hi {
		ents = append(ents, nent{idx: c.idx, cls: c.cls, eff: c.eff})
		pos, next, i := c.r.pos, c.next, c.i
		for i < c.count && pos/8+8 <= uint64(len(buf)) {
			w := binary.BigEndian.Uint64(buf[pos/8:]) << (pos % 8)
			q := uint(bits.LeadingZeros64(^w))
			n := q + 1 + k
			if n > 57 {
				break
			}
			// As readRice: k == 0 shifts by 64, which gives 0.
			gap := uint64(q)<<k | w<<(q+1)>>(64-k)
			if next > 1<<32-1 || gap > 1<<32-1-next {
				break // advance says what is wrong
			}
			eff := t0 + int64(readBitsAt(times, i*uint64(width), width))
			if until != 0 && eff >= until {
				break
			}
			v := next + gap
			pos, next, i = pos+uint64(n), v+1, i+1
			if uint32(v)>>16 != hi {
				// The first entry of a later block: keep it current.
				c.r.pos, c.next, c.i, c.idx, c.eff = pos, next, i, uint32(v), eff
				return ents, nil
			}
			ents = append(ents, nent{idx: uint32(v), cls: c.cls, eff: eff})
		}
		c.r.pos, c.next, c.i = pos, next, i
		if err := c.advance(); err != nil {
			return ents, err
		}
	}
	return ents, nil
}

// gcBefore is the payload size from which buildBase collects garbage first.
const gcBefore = 1 << 20

// buildBase makes the snapshot of a status-base payload in one pass.
func buildBase(version uint64, data []byte) (*snapshot, error) {
	const op = "parse status base"
	if len(data) >= gcBefore {
		// Opening the bundle left garbage as large as the payload (the
		// file, the signed structure); the last collection, with all of
		// it live, set the heap's goal to twice that, so without a
		// collection now the list would grow into fresh memory beside
		// it. Collected, the list reuses it: at 7 M entries the peak RSS
		// drops by about 20 MB for a few milliseconds of CPU (the live
		// heap is mostly pointer-free bytes).
		runtime.GC()
	}
	w, err := decodeWire(op, data, false)
	if err != nil {
		return nil, err
	}
	s := &snapshot{version: version, native: map[string]*issuerSet{}}
	var order []string
	byIssuer := map[string][]int{}
	for i := range w.Native {
		g := &w.Native[i]
		if err := checkGroup(g); err != nil {
			return nil, fmt.Errorf("%s: group %d: %w", op, i, err)
		}
		if byIssuer[g.Issuer] == nil {
			order = append(order, g.Issuer)
		}
		byIssuer[g.Issuer] = append(byIssuer[g.Issuer], i)
	}
	if s.pseud, err = parsePseudonyms(w.Pseudonyms); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if s.revoked, err = parseHashes(w.Revoked); err != nil {
		return nil, fmt.Errorf("%s: revoked: %w", op, err)
	}
	var buf, tmp []nent
	for _, name := range order {
		is, err := streamIssuer(w, byIssuer[name], &buf, &tmp)
		if err != nil {
			return nil, fmt.Errorf("apply status base: issuer %s: %w", name, err)
		}
		if is.n > 0 {
			s.native[name] = is
		}
	}
	return s, nil
}

// streamIssuer builds one issuer's set from its groups (indexes into
// w.Native), one block at a time; buf and tmp are reused between calls.
func streamIssuer(w *wirePayload, groups []int, buf, tmp *[]nent) (*issuerSet, error) {
	is := &issuerSet{}
	cs := make([]*cursor, 0, len(groups))
	for _, gi := range groups {
		g := &w.Native[gi]
		id, err := is.classID(class{status: Status(g.Status), reason: g.Reason, lapse: g.Lapse, until: g.Until})
		if err != nil {
			return nil, err
		}
		c, err := newCursor(g, id)
		if err != nil {
			return nil, fmt.Errorf("group %d: %w", gi, err)
		}
		cs = append(cs, c)
	}
	for {
		hi, any := uint32(0), false
		for _, c := range cs {
			if !c.done && (!any || c.idx>>16 < hi) {
				hi, any = c.idx>>16, true
			}
		}
		if !any {
			return is, nil
		}
		ents := (*buf)[:0]
		var err error
		for _, c := range cs {
			if ents, err = c.fill(ents, hi); err != nil {
				return nil, err
			}
		}
		*buf = ents
		if len(cs) == 1 {
			// One group: its entries come sorted and unique.
			is.appendBlocks(ents)
			continue
		}
		b, ok, err := sortBlock(ents, tmp)
		if err != nil {
			return nil, err
		}
		if !ok {
			// Effective times wider than a block keeps: sort, then
			// makeBlock drops the oldest.
			*tmp = sortLow(ents, (*tmp)[:0])
			if err := checkUnique(ents); err != nil {
				return nil, err
			}
			is.appendBlocks(ents)
			continue
		}
		is.keys = append(is.keys, uint16(hi))
		is.blocks = append(is.blocks, b)
		is.n += b.len()
	}
}

// checkUnique refuses sorted entries that list a holder twice.
func checkUnique(ents []nent) error {
	for i := 1; i < len(ents); i++ {
		if ents[i].idx == ents[i-1].idx {
			return fmt.Errorf("holder %d listed twice: %w", ents[i].idx, ErrMalformed)
		}
	}
	return nil
}

// sortBlock makes the block of ents (one high-16 key, from several groups,
// in no order) in the sort itself: the counting sort's first pass orders
// them by the low byte into tmp, its second by the next byte straight into
// the block's data, and that pass's counts are the block's starts. It
// gives ok false, and does nothing, when the effective times span more
// than a block keeps (makeBlock then drops the oldest); the result is
// makeBlock's for the sorted entries. A holder listed twice is refused.
func sortBlock(ents []nent, tmp *[]nent) (block, bool, error) {
	lo, hi := ents[0].eff, ents[0].eff
	for i := range ents {
		lo, hi = min(lo, ents[i].eff), max(hi, ents[i].eff)
	}
	if hi-lo > maxSpan {
		return block{}, false, nil
	}
	*tmp = slices.Grow((*tmp)[:0], len(ents))[:len(ents)]
	mid := *tmp
	var count [256]int
	for i := range ents {
		count[byte(ents[i].idx)]++
	}
	sum := 0
	for i, c := range count {
		count[i], sum = sum, sum+c
	}
	for i := range ents {
		b := byte(ents[i].idx)
		mid[count[b]] = ents[i]
		count[b]++
	}
	var at [256]int
	for i := range mid {
		at[byte(mid[i].idx>>8)]++
	}
	var starts [256]uint16
	sum = 0
	for i, c := range at {
		// Before the last byte, at most 255 × 256 entries: fits.
		at[i], starts[i], sum = sum, uint16(sum), sum+c
	}
	blk := block{epoch: lo, data: make([]uint16, 3*len(mid))}
	data := blk.data
	for i := range mid {
		e := &mid[i]
		p := 3 * at[byte(e.idx>>8)]
		at[byte(e.idx>>8)]++
		v := uint32(e.eff-lo)<<classBits | uint32(e.cls)
		data[p], data[p+1], data[p+2] = uint16(e.idx), uint16(v>>16), uint16(v)
	}
	for p := 3; p < len(data); p += 3 {
		if data[p] == data[p-3] {
			return block{}, false, fmt.Errorf("holder %d listed twice: %w", uint32(ents[0].idx>>16)<<16|uint32(data[p]), ErrMalformed)
		}
	}
	if len(mid) > indexMin {
		blk.starts = &starts
	}
	return blk, true, nil
}

// sortLow sorts ents, which share their index's high 16 bits, by the low
// 16 bits in two stable counting passes of a byte each (a comparison sort
// took half the CPU time of applying a 7 M-entry base). tmp is scratch
// space; the grown scratch is returned for reuse.
func sortLow(ents, tmp []nent) []nent {
	tmp = slices.Grow(tmp[:0], len(ents))[:len(ents)]
	src, dst := ents, tmp
	for shift := uint(0); shift < 16; shift += 8 {
		var count [257]int
		for i := range src {
			count[int(byte(src[i].idx>>shift))+1]++
		}
		for i := 1; i < len(count); i++ {
			count[i] += count[i-1]
		}
		for i := range src {
			b := byte(src[i].idx >> shift)
			dst[count[b]] = src[i]
			count[b]++
		}
		src, dst = dst, src
	}
	// Two passes: the sorted entries are back in ents.
	return tmp
}
