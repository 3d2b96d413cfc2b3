package status

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
)

// In-memory layout of native entries (see the package documentation):
// per issuer, blocks keyed by the high 16 bits of the index; a block holds
// the low 16 bits sorted (like a roaring array container) and, in parallel,
// one uint32 per entry: the effective time in seconds after the block's
// epoch (offBits) and the entry's class id (classBits).
const (
	classBits = 10
	offBits   = 32 - classBits
	// MaxClasses is the most distinct (status, reason, lapse or until) classes one
	// issuer may have at a time.
	MaxClasses = 1 << classBits
	// maxSpan is the widest spread of effective times within one block.
	// Entries older than the newest minus maxSpan are dropped when a block
	// is rebuilt: Options keep the native window below it, so they can no
	// longer override a valid code.
	maxSpan = 1<<offBits - 1
	// MaxWindow bounds NativeLifetime + Tolerance.
	MaxWindow = 30 * 24 * time.Hour
)

// Defaults for Options.
const (
	DefaultNativeLifetime = 7 * 24 * time.Hour
	DefaultTolerance      = 5 * time.Minute
)

// Options configure a List.
type Options struct {
	// NativeLifetime is the longest a native code is valid (24 h for phone
	// codes, up to 7 days for paper codes). Zero means DefaultNativeLifetime.
	NativeLifetime time.Duration
	// Tolerance is the clock tolerance the verifier allows on a code's
	// times. Zero means DefaultTolerance.
	Tolerance time.Duration
}

// List is the terminal's status list. Lookups run concurrently with each
// other and with ApplyBase, ApplyDelta and Prune, without locks: every
// change builds a new snapshot that shares the unchanged parts and swaps it
// in atomically.
type List struct {
	window int64 // NativeLifetime + Tolerance, seconds

	mu  sync.Mutex // serialises writers
	cur atomic.Pointer[snapshot]
}

type snapshot struct {
	version uint64
	native  map[string]*issuerSet
	pseud   []pseudEntry // sorted by pseudonym
	revoked []Hash       // sorted
}

type issuerSet struct {
	keys    []uint16 // sorted high 16 bits
	blocks  []block  // parallel to keys; a header is one cache line
	classes []class  // class id → class; at most MaxClasses
	n       int
}

type block struct {
	epoch int64
	// data holds three uint16 per entry, sorted by the first: the index's
	// low 16 bits, then the high and low halves of off<<classBits | class
	// id. Interleaved, the value sits in the cache line the search ends on.
	data []uint16
	// starts[i] is the position of the first low ≥ i<<8, for blocks of
	// more than indexMin entries (nil otherwise): a lookup then searches
	// one cache line or two instead of the whole block.
	starts *[256]uint16
}

// indexMin is the block size from which a block carries starts.
const indexMin = 128

func (b *block) len() int             { return len(b.data) / 3 }
func (b *block) low(i int) uint16     { return b.data[3*i] }
func (b *block) val(i int) uint32     { return uint32(b.data[3*i+1])<<16 | uint32(b.data[3*i+2]) }
func (b *block) eff(i int) int64      { return b.epoch + int64(b.val(i)>>classBits) }
func (b *block) classOf(i int) uint16 { return uint16(b.val(i) & (MaxClasses - 1)) }

// find returns the position of lo in b.
func (b *block) find(lo uint16) (int, bool) {
	from, to := 0, b.len()
	if b.starts != nil {
		i := int(lo >> 8)
		from = int(b.starts[i])
		if i < 255 {
			to = int(b.starts[i+1])
		}
	}
	for from < to {
		h := int(uint(from+to) >> 1)
		if b.data[3*h] < lo {
			from = h + 1
		} else {
			to = h
		}
	}
	// Past the bucket, the next entry has another high byte: no match.
	return from, from < b.len() && b.data[3*from] == lo
}

// New returns an empty list. It overrides nothing until a base is applied.
func New(opts Options) (*List, error) {
	if opts.NativeLifetime == 0 {
		opts.NativeLifetime = DefaultNativeLifetime
	}
	if opts.Tolerance == 0 {
		opts.Tolerance = DefaultTolerance
	}
	if opts.NativeLifetime < 0 || opts.Tolerance < 0 || opts.NativeLifetime+opts.Tolerance > MaxWindow {
		return nil, fmt.Errorf("status: native lifetime %v plus tolerance %v must be positive and at most %v", opts.NativeLifetime, opts.Tolerance, MaxWindow)
	}
	l := &List{window: int64((opts.NativeLifetime + opts.Tolerance + time.Second - 1) / time.Second)}
	return l, nil
}

// Clone returns a list that starts from l's current snapshot and changes
// on its own from then on. It copies nothing but a pointer: snapshots are
// immutable. Apply a delta to a clone and install the clone to switch a
// reader from one version to the next in one step, and to keep l as it was
// when the delta is refused.
func (l *List) Clone() *List {
	c := &List{window: l.window}
	c.cur.Store(l.cur.Load())
	return c
}

// Version returns the version of the base or delta last applied, and
// whether any base was applied.
func (l *List) Version() (uint64, bool) {
	s := l.cur.Load()
	if s == nil {
		return 0, false
	}
	return s.version, true
}

// Counts returns the number of entries the list holds.
func (l *List) Counts() Counts {
	s := l.cur.Load()
	if s == nil {
		return Counts{}
	}
	c := Counts{Pseudonyms: len(s.pseud), Revoked: len(s.revoked)}
	for _, is := range s.native {
		c.Native += is.n
	}
	return c
}

// Lookup says whether an entry for h overrides a code issued at issuedAt:
// an entry whose effective time is after issuedAt and that has not lapsed
// at now. An unknown holder kind, or a list with no base, overrides nothing.
func (l *List) Lookup(h credential.Holder, issuedAt, now time.Time) Result {
	s := l.cur.Load()
	if s == nil {
		return Result{}
	}
	var (
		eff, until int64
		st         Status
		reason     byte
	)
	switch h.Kind {
	case credential.HolderNative:
		is := s.native[h.Issuer]
		if is == nil {
			return Result{}
		}
		hi, lo := uint16(h.Index>>16), uint16(h.Index)
		i, ok := slices.BinarySearch(is.keys, hi)
		if !ok {
			return Result{}
		}
		b := &is.blocks[i]
		j, ok := b.find(lo)
		if !ok {
			return Result{}
		}
		v := b.val(j)
		c := is.classes[v&(MaxClasses-1)]
		eff = b.epoch + int64(v>>classBits)
		st, reason = c.status, c.reason
		until = c.untilFor(eff)
	case credential.HolderPseudonym:
		j, ok := slices.BinarySearchFunc(s.pseud, h.Pseudonym, func(e pseudEntry, p Pseudonym) int {
			return bytes.Compare(e.p[:], p[:])
		})
		if !ok {
			return Result{}
		}
		e := &s.pseud[j]
		eff, until, st, reason = e.eff, e.until, e.status, e.reason
	default:
		return Result{}
	}
	// eff is whole seconds, so eff > issuedAt exactly when eff > the
	// floor of issuedAt.
	if eff <= floorUnix(issuedAt) {
		return Result{}
	}
	r := Result{Overridden: true, Status: st, Effective: time.Unix(eff, 0).UTC(), Reason: reason}
	if until != 0 {
		if !now.Before(time.Unix(until, 0)) {
			return Result{} // lapsed
		}
		r.Until = time.Unix(until, 0).UTC()
	}
	return r
}

func floorUnix(t time.Time) int64 { return t.Unix() } // Unix rounds toward minus infinity

// RevocationHash returns the hash under which a DCC certificate identifier
// (UCI) is listed.
func RevocationHash(dccIdentifier string) Hash {
	sum := sha256.Sum256([]byte(dccIdentifier))
	return Hash(sum[:16])
}

// Revoked reports whether the EU DCC certificate identifier is revoked.
func (l *List) Revoked(dccIdentifier string) bool {
	s := l.cur.Load()
	if s == nil || len(s.revoked) == 0 {
		return false
	}
	h := RevocationHash(dccIdentifier)
	_, ok := slices.BinarySearchFunc(s.revoked, h, compareHash)
	return ok
}

func compareHash(a, b Hash) int { return bytes.Compare(a[:], b[:]) }

// ApplyBase replaces the list with a status-base bundle. b must come from
// trust.OpenBundle, which verified its signature; the payload is parsed and
// validated here. On error the list keeps what it had.
func (l *List) ApplyBase(b *trust.Bundle) error {
	if err := checkKind(b, trust.KindStatusBase); err != nil {
		return err
	}
	s, err := buildBase(b.Version, b.Payload)
	if err != nil {
		return err
	}
	l.mu.Lock()
	l.cur.Store(s)
	l.mu.Unlock()
	return nil
}

// ApplyBasePayload replaces the list with a parsed base of the given
// version. ApplyBase takes less memory: it builds the list straight from
// the payload's bytes (see base.go).
func (l *List) ApplyBasePayload(version uint64, p *Payload) error {
	if p.delta {
		return fmt.Errorf("apply status base: a delta payload: %w", ErrWrongKind)
	}
	s := &snapshot{version: version, native: map[string]*issuerSet{}, revoked: p.revoked}
	s.pseud = slices.Clone(p.pseud)
	byIssuer := map[string][]*group{}
	for i := range p.groups {
		g := &p.groups[i]
		byIssuer[g.issuer] = append(byIssuer[g.issuer], g)
	}
	for name, gs := range byIssuer {
		is, err := buildIssuer(gs)
		if err != nil {
			return fmt.Errorf("apply status base: issuer %s: %w", name, err)
		}
		if is.n > 0 {
			s.native[name] = is
		}
	}
	l.mu.Lock()
	l.cur.Store(s)
	l.mu.Unlock()
	return nil
}

// nent is a native entry while blocks are built.
type nent struct {
	idx uint32
	cls uint16
	eff int64
}

func buildIssuer(gs []*group) (*issuerSet, error) {
	is := &issuerSet{}
	n := 0
	for _, g := range gs {
		n += len(g.idx)
	}
	ents := make([]nent, 0, n)
	for _, g := range gs {
		id, err := is.classID(g.class)
		if err != nil {
			return nil, err
		}
		for i, x := range g.idx {
			ents = append(ents, nent{idx: x, cls: id, eff: g.eff(i)})
		}
	}
	if err := sortUnique(ents); err != nil {
		return nil, err
	}
	is.appendBlocks(ents)
	return is, nil
}

// classID returns the id of c in is's class table, adding it if new. It
// modifies is.classes in place: callers own is.
func (is *issuerSet) classID(c class) (uint16, error) {
	if i := slices.Index(is.classes, c); i >= 0 {
		return uint16(i), nil
	}
	if len(is.classes) >= MaxClasses {
		return 0, ErrTooManyClasses
	}
	is.classes = append(is.classes, c)
	return uint16(len(is.classes) - 1), nil
}

// makeBlock builds a block from entries of one high-16 key, sorted by index
// and unique. Entries older than the newest minus maxSpan are dropped.
func makeBlock(ents []nent) *block {
	if len(ents) == 0 {
		return nil
	}
	hi := ents[0].eff
	for _, e := range ents {
		hi = max(hi, e.eff)
	}
	floor := hi - maxSpan
	lo := hi
	keep := 0
	for _, e := range ents {
		if e.eff >= floor {
			lo = min(lo, e.eff)
			keep++
		}
	}
	b := &block{epoch: lo, data: make([]uint16, 0, 3*keep)}
	for _, e := range ents {
		if e.eff >= floor {
			v := uint32(e.eff-lo)<<classBits | uint32(e.cls)
			b.data = append(b.data, uint16(e.idx), uint16(v>>16), uint16(v))
		}
	}
	if b.len() > indexMin {
		b.starts = new([256]uint16)
		j := 0
		for i := range b.starts {
			for j < b.len() && int(b.low(j)>>8) < i {
				j++
			}
			b.starts[i] = uint16(j) // at most 255*256: fits
		}
	}
	return b
}

// entries appends b's entries (with high key hi) to dst.
func (b *block) entries(dst []nent, hi uint16) []nent {
	for i := range b.len() {
		dst = append(dst, nent{idx: uint32(hi)<<16 | uint32(b.low(i)), cls: b.classOf(i), eff: b.eff(i)})
	}
	return dst
}

// ApplyDelta applies a status-delta bundle to the version it names. b must
// come from trust.OpenBundle. A delta for another version gives a
// *GapError; on any error the list keeps what it had.
func (l *List) ApplyDelta(b *trust.Bundle) error {
	if err := checkKind(b, trust.KindStatusDelta); err != nil {
		return err
	}
	p, err := ParseDelta(b.Payload)
	if err != nil {
		return err
	}
	return l.ApplyDeltaPayload(b.Base, b.Version, p)
}

// ApplyDeltaPayload applies a parsed delta that takes version base to
// version version.
func (l *List) ApplyDeltaPayload(base, version uint64, p *Payload) error {
	if !p.delta {
		return fmt.Errorf("apply status delta: a base payload: %w", ErrWrongKind)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.cur.Load()
	if old == nil {
		return fmt.Errorf("apply status delta %d: %w", version, ErrNoBase)
	}
	if old.version != base || version <= base {
		return &GapError{Have: old.version, Base: base}
	}
	s := &snapshot{version: version, native: make(map[string]*issuerSet, len(old.native))}
	for k, v := range old.native {
		s.native[k] = v
	}
	byIssuer := map[string][]*group{}
	for i := range p.groups {
		g := &p.groups[i]
		byIssuer[g.issuer] = append(byIssuer[g.issuer], g)
	}
	rmByIssuer := map[string][]uint32{}
	for _, r := range p.rmNative {
		rmByIssuer[r.issuer] = append(rmByIssuer[r.issuer], r.idx...)
	}
	issuers := map[string]bool{}
	for k := range byIssuer {
		issuers[k] = true
	}
	for k := range rmByIssuer {
		issuers[k] = true
	}
	for name := range issuers {
		is, err := mergeIssuer(old.native[name], byIssuer[name], rmByIssuer[name])
		if err != nil {
			return fmt.Errorf("apply status delta %d: issuer %s: %w", version, name, err)
		}
		if is == nil || is.n == 0 {
			delete(s.native, name)
		} else {
			s.native[name] = is
		}
	}
	s.pseud = mergePseud(old.pseud, p.pseud, p.rmPseud)
	s.revoked = mergeHashes(old.revoked, p.revoked, p.unrevoked)
	l.cur.Store(s)
	return nil
}

func mergeIssuer(old *issuerSet, gs []*group, rm []uint32) (*issuerSet, error) {
	is, add, err := classify(old, gs)
	if errors.Is(err, ErrTooManyClasses) && old != nil {
		return mergeIssuerFull(old, gs, rm)
	}
	if err != nil {
		return nil, err
	}
	return mergeBlocks(old, is, add, rm)
}

// mergeIssuerFull merges a delta that brings more classes than the table
// has room for: it rebuilds the whole issuer with the classes its entries
// still use.
func mergeIssuerFull(old *issuerSet, gs []*group, rm []uint32) (*issuerSet, error) {
	classes := slices.Clone(old.classes)
	var add []nent
	for _, g := range gs {
		id := slices.Index(classes, g.class)
		if id < 0 {
			if len(classes) >= 1<<16 {
				return nil, ErrTooManyClasses
			}
			id = len(classes)
			classes = append(classes, g.class)
		}
		for i, x := range g.idx {
			add = append(add, nent{idx: x, cls: uint16(id), eff: g.eff(i)})
		}
	}
	if err := sortUnique(add); err != nil {
		return nil, err
	}
	slices.Sort(rm)
	var cur []nent
	for bi := range old.blocks {
		cur = old.blocks[bi].entries(cur, old.keys[bi])
	}
	merged := mergeEntries(nil, cur, add, rm)
	out := &issuerSet{}
	remap := make([]int32, len(classes))
	for i := range remap {
		remap[i] = -1
	}
	for i := range merged {
		c := merged[i].cls
		if remap[c] < 0 {
			if len(out.classes) >= MaxClasses {
				return nil, ErrTooManyClasses
			}
			remap[c] = int32(len(out.classes))
			out.classes = append(out.classes, classes[c])
		}
		merged[i].cls = uint16(remap[c])
	}
	out.appendBlocks(merged)
	return out, nil
}

func sortUnique(ents []nent) error {
	slices.SortFunc(ents, func(a, b nent) int { return cmp.Compare(a.idx, b.idx) })
	for i := 1; i < len(ents); i++ {
		if ents[i].idx == ents[i-1].idx {
			return fmt.Errorf("holder %d listed twice: %w", ents[i].idx, ErrMalformed)
		}
	}
	return nil
}

// appendBlocks appends blocks made of ents (sorted, unique, above the
// existing keys).
func (is *issuerSet) appendBlocks(ents []nent) {
	for start := 0; start < len(ents); {
		hi := uint16(ents[start].idx >> 16)
		end := start
		for end < len(ents) && uint16(ents[end].idx>>16) == hi {
			end++
		}
		if b := makeBlock(ents[start:end]); b != nil {
			is.keys = append(is.keys, hi)
			is.blocks = append(is.blocks, *b)
			is.n += b.len()
		}
		start = end
	}
}

// classify returns a new issuer set with old's class table plus the
// groups' classes, and the groups' entries.
func classify(old *issuerSet, gs []*group) (*issuerSet, []nent, error) {
	is := &issuerSet{}
	if old != nil {
		is.classes = slices.Clone(old.classes)
	}
	n := 0
	for _, g := range gs {
		n += len(g.idx)
	}
	add := make([]nent, 0, n)
	for _, g := range gs {
		id, err := is.classID(g.class)
		if err != nil {
			return nil, nil, err
		}
		for i, x := range g.idx {
			add = append(add, nent{idx: x, cls: id, eff: g.eff(i)})
		}
	}
	return is, add, nil
}

// mergeBlocks merges additions (replacing an existing entry of the same
// holder) and removals into old's blocks, sharing the untouched ones.
func mergeBlocks(old, is *issuerSet, add []nent, rm []uint32) (*issuerSet, error) {
	if err := sortUnique(add); err != nil {
		return nil, err
	}
	slices.Sort(rm)
	rm = slices.Compact(rm)
	// The high keys touched, in order.
	var touched []uint16
	for _, e := range add {
		if hi := uint16(e.idx >> 16); len(touched) == 0 || touched[len(touched)-1] != hi {
			touched = append(touched, hi)
		}
	}
	for _, x := range rm {
		touched = append(touched, uint16(x>>16))
	}
	slices.Sort(touched)
	touched = slices.Compact(touched)

	var oldKeys []uint16
	var oldBlocks []block
	if old != nil {
		oldKeys, oldBlocks = old.keys, old.blocks
	}
	is.keys = make([]uint16, 0, len(oldKeys)+len(touched))
	is.blocks = make([]block, 0, len(oldKeys)+len(touched))
	var scratch, merged []nent
	oi, ai, ri := 0, 0, 0
	for _, hi := range touched {
		// Untouched old blocks before hi are shared.
		for oi < len(oldKeys) && oldKeys[oi] < hi {
			is.keys = append(is.keys, oldKeys[oi])
			is.blocks = append(is.blocks, oldBlocks[oi])
			is.n += oldBlocks[oi].len()
			oi++
		}
		scratch = scratch[:0]
		if oi < len(oldKeys) && oldKeys[oi] == hi {
			scratch = oldBlocks[oi].entries(scratch, hi)
			oi++
		}
		aEnd := ai
		for aEnd < len(add) && uint16(add[aEnd].idx>>16) == hi {
			aEnd++
		}
		rEnd := ri
		for rEnd < len(rm) && uint16(rm[rEnd]>>16) == hi {
			rEnd++
		}
		merged = mergeEntries(merged[:0], scratch, add[ai:aEnd], rm[ri:rEnd])
		ai, ri = aEnd, rEnd
		if b := makeBlock(merged); b != nil {
			is.keys = append(is.keys, hi)
			is.blocks = append(is.blocks, *b)
			is.n += b.len()
		}
	}
	for ; oi < len(oldKeys); oi++ {
		is.keys = append(is.keys, oldKeys[oi])
		is.blocks = append(is.blocks, oldBlocks[oi])
		is.n += oldBlocks[oi].len()
	}
	return is, nil
}

// mergeEntries merges sorted old entries with sorted additions (which win)
// and drops sorted removals.
func mergeEntries(dst, old, add []nent, rm []uint32) []nent {
	i, j, r := 0, 0, 0
	removed := func(x uint32) bool {
		for r < len(rm) && rm[r] < x {
			r++
		}
		return r < len(rm) && rm[r] == x
	}
	for i < len(old) || j < len(add) {
		var e nent
		switch {
		case j == len(add) || (i < len(old) && old[i].idx < add[j].idx):
			e = old[i]
			i++
			if removed(e.idx) {
				continue
			}
		case i == len(old) || add[j].idx < old[i].idx:
			e = add[j]
			j++
		default: // same holder: the delta replaces the entry
			e = add[j]
			i++
			j++
		}
		dst = append(dst, e)
	}
	return dst
}

func mergePseud(old, add []pseudEntry, rm []Pseudonym) []pseudEntry {
	if len(add) == 0 && len(rm) == 0 {
		return old
	}
	out := make([]pseudEntry, 0, len(old)+len(add))
	i, j, r := 0, 0, 0
	cmpP := func(a, b Pseudonym) int { return bytes.Compare(a[:], b[:]) }
	removed := func(p Pseudonym) bool {
		for r < len(rm) && cmpP(rm[r], p) < 0 {
			r++
		}
		return r < len(rm) && rm[r] == p
	}
	for i < len(old) || j < len(add) {
		switch {
		case j == len(add) || (i < len(old) && cmpP(old[i].p, add[j].p) < 0):
			if !removed(old[i].p) {
				out = append(out, old[i])
			}
			i++
		case i == len(old) || cmpP(add[j].p, old[i].p) < 0:
			out = append(out, add[j])
			j++
		default:
			out = append(out, add[j])
			i++
			j++
		}
	}
	return out
}

func mergeHashes(old, add, rm []Hash) []Hash {
	if len(add) == 0 && len(rm) == 0 {
		return old
	}
	out := make([]Hash, 0, len(old)+len(add))
	i, j, r := 0, 0, 0
	removed := func(h Hash) bool {
		for r < len(rm) && compareHash(rm[r], h) < 0 {
			r++
		}
		return r < len(rm) && rm[r] == h
	}
	for i < len(old) || j < len(add) {
		var h Hash
		switch {
		case j == len(add) || (i < len(old) && compareHash(old[i], add[j]) < 0):
			h = old[i]
			i++
		case i == len(old) || compareHash(add[j], old[i]) < 0:
			h = add[j]
			j++
		default:
			h = add[j]
			i++
			j++
		}
		if !removed(h) {
			out = append(out, h)
		}
	}
	return out
}

// rebuild returns a copy of is keeping the entries keep accepts, with a
// class table of the classes still used.
func rebuild(is *issuerSet, keep func(nent, class) bool) *issuerSet {
	out := &issuerSet{}
	remap := make([]int32, len(is.classes))
	for i := range remap {
		remap[i] = -1
	}
	var ents []nent
	for bi := range is.blocks {
		b := &is.blocks[bi]
		ents = b.entries(ents[:0], is.keys[bi])
		kept := ents[:0]
		for _, e := range ents {
			c := is.classes[e.cls]
			if !keep(e, c) {
				continue
			}
			if remap[e.cls] < 0 {
				remap[e.cls] = int32(len(out.classes))
				out.classes = append(out.classes, c)
			}
			e.cls = uint16(remap[e.cls])
			kept = append(kept, e)
		}
		if nb := makeBlock(kept); nb != nil {
			out.keys = append(out.keys, is.keys[bi])
			out.blocks = append(out.blocks, *nb)
			out.n += nb.len()
		}
	}
	return out
}

// Prune drops the entries that can no longer override a valid code at now:
// native entries that took effect at or before now minus the native
// lifetime and tolerance, and entries that have lapsed. It returns how many
// entries it dropped. Call it periodically (e.g. hourly) and after a base.
func (l *List) Prune(now time.Time) int {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := l.cur.Load()
	if old == nil {
		return 0
	}
	t := floorUnix(now)
	oldest := t - l.window // a valid native code was issued after this
	s := &snapshot{version: old.version, native: make(map[string]*issuerSet, len(old.native)), revoked: old.revoked}
	dropped := 0
	for name, is := range old.native {
		nis := rebuild(is, func(e nent, c class) bool {
			if e.eff <= oldest {
				return false
			}
			u := c.untilFor(e.eff)
			return u == 0 || u > t
		})
		dropped += is.n - nis.n
		if nis.n > 0 {
			s.native[name] = nis
		}
	}
	s.pseud = slices.DeleteFunc(slices.Clone(old.pseud), func(e pseudEntry) bool {
		return e.until != 0 && e.until <= t
	})
	dropped += len(old.pseud) - len(s.pseud)
	l.cur.Store(s)
	return dropped
}
