package status

import (
	"fmt"
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
		for _, c := range cs {
			for !c.done && c.idx>>16 == hi {
				ents = append(ents, nent{idx: c.idx, cls: c.cls, eff: c.eff})
				if err := c.advance(); err != nil {
					return nil, err
				}
			}
		}
		*buf = ents
		if len(cs) > 1 {
			*tmp = sortLow(ents, (*tmp)[:0])
			for i := 1; i < len(ents); i++ {
				if ents[i].idx == ents[i-1].idx {
					return nil, fmt.Errorf("holder %d listed twice: %w", ents[i].idx, ErrMalformed)
				}
			}
		}
		is.appendBlocks(ents)
	}
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
