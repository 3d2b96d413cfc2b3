package status

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"math/bits"
	"time"

	"sentinel/crypto/cose"
	"sentinel/crypto/trust"
)

// Limits on a payload, checked before anything is allocated.
const (
	// MaxEntries is the most native entries, pseudonym entries, removals
	// or revocations one payload may declare in all.
	MaxEntries = 1 << 24
	// MaxGroups is the most native groups (and removal groups) in one
	// payload.
	MaxGroups = 4096
	// formatVersion is the payload format this package reads and writes.
	formatVersion = 1
	// maxUnix bounds every time in a payload (the year 2200).
	maxUnix = 7258118400
	// pseudRecordSize is the size of one pseudonym record.
	pseudRecordSize = 16 + 8 + 8 + 1 + 1
)

// wirePayload is the CBOR map of a status-base or status-delta payload.
//
//	1  format            uint   1
//	2  native            [group]            native holders' entries
//	3  pseudonyms        bstr   records of 34 bytes, sorted by pseudonym:
//	                            pseudonym(16) effective(int64 BE, unix s)
//	                            until(int64 BE, unix s, 0 = open)
//	                            status(1) reason(1)
//	4  revoked           bstr   16-byte DCC identifier hashes, sorted
//	5  remove_native     [removal]          delta only
//	6  remove_pseudonyms bstr   16-byte pseudonyms, sorted; delta only
//	7  unrevoke          bstr   16-byte hashes, sorted; delta only
//
// A group holds the native entries of one issuer that share a status,
// reason and lapse (a relative until) or until (an absolute one), as an
// array:
//
//	[issuer text, status uint, reason uint, lapse uint (seconds from
//	 effective to until, 0 = see until), until int (unix s, 0 = open;
//	 0 when lapse is set), count uint, enc uint, k uint, members bstr,
//	 t0 int (unix s), width uint, times bstr]
//
// members are the holders' indexes, strictly increasing. With enc 0 they
// are Rice codes with parameter k of the gaps (the first index, then each
// index minus the previous minus one), most significant bit first,
// zero-padded to a byte; with enc 1 (k 0) a roaring bitmap in its portable
// serialization. times are count values of width bits (most significant
// first): entry i, in index order, took effect at t0 + times[i]. A removal
// is [issuer, count, enc, k, members].
//
// The byte strings decode without a copy (cose.BytesNoCopy): they alias
// the payload, which must stay unchanged while the wire form is in use;
// what a Payload keeps is copied.
type wirePayload struct {
	Format           uint64           `cbor:"1,keyasint"`
	Native           []wireGroup      `cbor:"2,keyasint,omitempty"`
	Pseudonyms       cose.BytesNoCopy `cbor:"3,keyasint,omitempty"`
	Revoked          cose.BytesNoCopy `cbor:"4,keyasint,omitempty"`
	RemoveNative     []wireRemoval    `cbor:"5,keyasint,omitempty"`
	RemovePseudonyms cose.BytesNoCopy `cbor:"6,keyasint,omitempty"`
	Unrevoke         cose.BytesNoCopy `cbor:"7,keyasint,omitempty"`
}

type wireGroup struct {
	_       struct{} `cbor:",toarray"`
	Issuer  string
	Status  uint8
	Reason  uint8
	Lapse   uint32
	Until   int64
	Count   uint64
	Enc     uint8
	K       uint8
	Members cose.BytesNoCopy
	T0      int64
	Width   uint8
	Times   cose.BytesNoCopy
}

type wireRemoval struct {
	_       struct{} `cbor:",toarray"`
	Issuer  string
	Count   uint64
	Enc     uint8
	K       uint8
	Members cose.BytesNoCopy
}

// Payload is a parsed, validated status-base or status-delta payload.
type Payload struct {
	delta      bool
	groups     []group
	pseud      []pseudEntry
	revoked    []Hash
	rmNative   []removal
	rmPseud    []Pseudonym
	unrevoked  []Hash
	numNatives int
}

type group struct {
	issuer string
	class  class
	idx    []uint32
	t0     int64
	width  uint
	times  []byte
}

func (g *group) eff(i int) int64 {
	return g.t0 + int64(readBitsAt(g.times, uint64(i)*uint64(g.width), g.width))
}

type removal struct {
	issuer string
	idx    []uint32
}

// class is what native entries share apart from holder and time.
type class struct {
	status Status
	reason byte
	lapse  uint32 // seconds from effective to until; 0: see until
	until  int64  // unix seconds, when lapse is 0; 0 = open
}

// untilFor returns the until of an entry of class c that took effect at
// eff, or 0 when open.
func (c *class) untilFor(eff int64) int64 {
	if c.lapse != 0 {
		return eff + int64(c.lapse)
	}
	return c.until
}

type pseudEntry struct {
	p      Pseudonym
	eff    int64
	until  int64 // 0 = open
	status Status
	reason byte
}

// Counts says how many entries of each kind a payload or list holds.
type Counts struct {
	Native, Pseudonyms, Revoked              int
	RemoveNative, RemovePseudonyms, Unrevoke int
}

// Counts returns the number of entries of each kind in p.
func (p *Payload) Counts() Counts {
	c := Counts{Native: p.numNatives, Pseudonyms: len(p.pseud), Revoked: len(p.revoked),
		RemovePseudonyms: len(p.rmPseud), Unrevoke: len(p.unrevoked)}
	for _, r := range p.rmNative {
		c.RemoveNative += len(r.idx)
	}
	return c
}

// ParseBase parses and validates a status-base payload.
func ParseBase(data []byte) (*Payload, error) { return parse(data, false) }

// ParseDelta parses and validates a status-delta payload.
func ParseDelta(data []byte) (*Payload, error) { return parse(data, true) }

func parse(data []byte, delta bool) (p *Payload, err error) {
	op := "parse status base"
	if delta {
		op = "parse status delta"
	}
	w, err := decodeWire(op, data, delta)
	if err != nil {
		return nil, err
	}
	p = &Payload{delta: delta}
	for i := range w.Native {
		g, err := parseGroup(&w.Native[i])
		if err != nil {
			return nil, fmt.Errorf("%s: group %d: %w", op, i, err)
		}
		p.groups = append(p.groups, g)
		p.numNatives += len(g.idx)
	}
	for i := range w.RemoveNative {
		r := &w.RemoveNative[i]
		if err := trust.ValidIssuer(r.Issuer); err != nil {
			return nil, fmt.Errorf("%s: removal %d: %w: %w", op, i, ErrMalformed, err)
		}
		idx, err := decodeMembers(r.Enc, r.K, r.Members, r.Count)
		if err != nil {
			return nil, fmt.Errorf("%s: removal %d: %w", op, i, err)
		}
		p.rmNative = append(p.rmNative, removal{issuer: r.Issuer, idx: idx})
	}
	if p.pseud, err = parsePseudonyms(w.Pseudonyms); err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	if p.revoked, err = parseHashes(w.Revoked); err != nil {
		return nil, fmt.Errorf("%s: revoked: %w", op, err)
	}
	if p.unrevoked, err = parseHashes(w.Unrevoke); err != nil {
		return nil, fmt.Errorf("%s: unrevoke: %w", op, err)
	}
	hs, err := parseHashes(w.RemovePseudonyms)
	if err != nil {
		return nil, fmt.Errorf("%s: remove pseudonyms: %w", op, err)
	}
	for _, h := range hs {
		p.rmPseud = append(p.rmPseud, Pseudonym(h))
	}
	return p, nil
}

// decodeWire decodes a payload's CBOR and checks what can be checked
// before any member is decoded: the format, the kind's fields, and the
// declared sizes against MaxEntries, MaxGroups and the bytes that carry
// them.
func decodeWire(op string, data []byte, delta bool) (*wirePayload, error) {
	var w wirePayload
	if err := cose.DecMode().Unmarshal(data, &w); err != nil {
		return nil, fmt.Errorf("%s: %w: %w", op, ErrMalformed, err)
	}
	if w.Format != formatVersion {
		return nil, fmt.Errorf("%s: format %d, want %d: %w", op, w.Format, formatVersion, ErrMalformed)
	}
	if !delta && (w.RemoveNative != nil || w.RemovePseudonyms != nil || w.Unrevoke != nil) {
		return nil, fmt.Errorf("%s: a base carries no removals: %w", op, ErrMalformed)
	}
	if len(w.Native) > MaxGroups || len(w.RemoveNative) > MaxGroups {
		return nil, fmt.Errorf("%s: more than %d groups: %w", op, MaxGroups, ErrTooLarge)
	}
	// Declared sizes first, against MaxEntries and the bytes that carry them.
	var total uint64
	add := func(n uint64) error {
		total += n
		if n > MaxEntries || total > MaxEntries {
			return fmt.Errorf("%s: more than %d entries: %w", op, MaxEntries, ErrTooLarge)
		}
		return nil
	}
	for i := range w.Native {
		g := &w.Native[i]
		if err := add(g.Count); err != nil {
			return nil, err
		}
		if err := checkMembers(g.Count, g.Enc, g.K, g.Members); err != nil {
			return nil, fmt.Errorf("%s: group %d: %w", op, i, err)
		}
	}
	for i := range w.RemoveNative {
		r := &w.RemoveNative[i]
		if err := add(r.Count); err != nil {
			return nil, err
		}
		if err := checkMembers(r.Count, r.Enc, r.K, r.Members); err != nil {
			return nil, fmt.Errorf("%s: removal %d: %w", op, i, err)
		}
	}
	for _, b := range [][]byte{w.Pseudonyms, w.Revoked, w.RemovePseudonyms, w.Unrevoke} {
		if err := add(uint64(len(b)) / 16); err != nil {
			return nil, err
		}
	}
	return &w, nil
}

// checkMembers bounds count by the bytes of members: a Rice code takes at
// least k+1 bits; roaring's count is checked against its containers.
func checkMembers(count uint64, enc, k uint8, members []byte) error {
	if enc == encRoaring {
		return nil
	}
	if k > 31 {
		return fmt.Errorf("rice parameter %d: %w", k, ErrMalformed)
	}
	if count > uint64(len(members))*8/(uint64(k)+1) {
		return fmt.Errorf("%d entries in %d bytes: %w", count, len(members), ErrMalformed)
	}
	return nil
}

func parseGroup(w *wireGroup) (group, error) {
	if err := checkGroup(w); err != nil {
		return group{}, err
	}
	idx, err := decodeMembers(w.Enc, w.K, w.Members, w.Count)
	if err != nil {
		return group{}, err
	}
	g := group{
		issuer: w.Issuer,
		class:  class{status: Status(w.Status), reason: w.Reason, lapse: w.Lapse, until: w.Until},
		// The wire's bytes alias the caller's payload: keep a copy.
		idx: idx, t0: w.T0, width: uint(w.Width), times: bytes.Clone(w.Times),
	}
	if w.Until != 0 {
		for i := range idx {
			if g.eff(i) >= w.Until {
				return group{}, fmt.Errorf("entry %d: until not after effective: %w", i, ErrMalformed)
			}
		}
	}
	return g, nil
}

// checkGroup checks a group's fields apart from its members, and the
// members' size against count.
func checkGroup(w *wireGroup) error {
	if err := trust.ValidIssuer(w.Issuer); err != nil {
		return fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	st := Status(w.Status)
	if !st.Valid() {
		return fmt.Errorf("status %d: %w", w.Status, ErrInvalidStatus)
	}
	if w.Count == 0 {
		return fmt.Errorf("empty group: %w", ErrMalformed)
	}
	if w.Width > 32 {
		return fmt.Errorf("time width %d bits: %w", w.Width, ErrMalformed)
	}
	if w.T0 < 0 || w.T0+(1<<w.Width-1)+int64(w.Lapse) > maxUnix {
		return fmt.Errorf("time base %d out of range: %w", w.T0, ErrMalformed)
	}
	if uint64(len(w.Times)) != packedLen(w.Count, uint(w.Width)) {
		return fmt.Errorf("%d bytes of times for %d entries of %d bits: %w", len(w.Times), w.Count, w.Width, ErrMalformed)
	}
	if r := (w.Count * uint64(w.Width)) % 8; r != 0 && w.Times[len(w.Times)-1]&(1<<(8-r)-1) != 0 {
		return fmt.Errorf("times: nonzero padding: %w", ErrMalformed)
	}
	if w.Until != 0 && (w.Lapse != 0 || w.Until < 0 || w.Until > maxUnix) {
		return fmt.Errorf("until %d with lapse %d: %w", w.Until, w.Lapse, ErrMalformed)
	}
	return nil
}

func parsePseudonyms(b []byte) ([]pseudEntry, error) {
	if len(b)%pseudRecordSize != 0 {
		return nil, fmt.Errorf("pseudonyms: %d bytes is not a whole number of %d-byte records: %w", len(b), pseudRecordSize, ErrMalformed)
	}
	n := len(b) / pseudRecordSize
	if n == 0 {
		return nil, nil
	}
	out := make([]pseudEntry, n)
	for i := range out {
		r := b[i*pseudRecordSize:]
		e := &out[i]
		copy(e.p[:], r[:16])
		e.eff = int64(binary.BigEndian.Uint64(r[16:]))
		e.until = int64(binary.BigEndian.Uint64(r[24:]))
		e.status = Status(r[32])
		e.reason = r[33]
		switch {
		case !e.status.Valid():
			return nil, fmt.Errorf("pseudonym %d: status %d: %w", i, r[32], ErrInvalidStatus)
		case e.eff < 0 || e.eff > maxUnix:
			return nil, fmt.Errorf("pseudonym %d: effective time out of range: %w", i, ErrMalformed)
		case e.until != 0 && (e.until <= e.eff || e.until > maxUnix):
			return nil, fmt.Errorf("pseudonym %d: until out of range: %w", i, ErrMalformed)
		case i > 0 && bytes.Compare(out[i-1].p[:], e.p[:]) >= 0:
			return nil, fmt.Errorf("pseudonym %d: not sorted or repeated: %w", i, ErrMalformed)
		}
	}
	return out, nil
}

func parseHashes(b []byte) ([]Hash, error) {
	if len(b)%16 != 0 {
		return nil, fmt.Errorf("%d bytes is not a whole number of 16-byte hashes: %w", len(b), ErrMalformed)
	}
	if len(b) == 0 {
		return nil, nil
	}
	out := make([]Hash, len(b)/16)
	for i := range out {
		copy(out[i][:], b[i*16:])
		if i > 0 && bytes.Compare(out[i-1][:], out[i][:]) >= 0 {
			return nil, fmt.Errorf("hash %d: not sorted or repeated: %w", i, ErrMalformed)
		}
	}
	return out, nil
}

// marshal encodes p (built by a Builder, so already valid).
func (p *Payload) marshal() ([]byte, error) {
	w := wirePayload{Format: formatVersion}
	for i := range p.groups {
		g := &p.groups[i]
		enc, k, members := encodeMembers(g.idx)
		w.Native = append(w.Native, wireGroup{Enc: enc,
			Issuer: g.issuer, Status: uint8(g.class.status), Reason: g.class.reason,
			Lapse: g.class.lapse, Until: g.class.until, Count: uint64(len(g.idx)), K: k, Members: members,
			T0: g.t0, Width: uint8(g.width), Times: g.times,
		})
	}
	for _, r := range p.rmNative {
		enc, k, members := encodeMembers(r.idx)
		w.RemoveNative = append(w.RemoveNative, wireRemoval{Issuer: r.issuer, Count: uint64(len(r.idx)), Enc: enc, K: k, Members: members})
	}
	if len(p.pseud) > 0 {
		b := make([]byte, 0, len(p.pseud)*pseudRecordSize)
		for _, e := range p.pseud {
			b = append(b, e.p[:]...)
			b = binary.BigEndian.AppendUint64(b, uint64(e.eff))
			b = binary.BigEndian.AppendUint64(b, uint64(e.until))
			b = append(b, byte(e.status), e.reason)
		}
		w.Pseudonyms = b
	}
	w.Revoked = joinHashes(p.revoked)
	w.Unrevoke = joinHashes(p.unrevoked)
	rp := make([]Hash, len(p.rmPseud))
	for i, x := range p.rmPseud {
		rp[i] = Hash(x)
	}
	w.RemovePseudonyms = joinHashes(rp)
	if len(w.Native) > MaxGroups || len(w.RemoveNative) > MaxGroups {
		return nil, fmt.Errorf("marshal status payload: more than %d groups: %w", MaxGroups, ErrTooLarge)
	}
	c := p.Counts()
	if n := c.Native + c.Pseudonyms + c.Revoked + c.RemoveNative + c.RemovePseudonyms + c.Unrevoke; n > MaxEntries {
		return nil, fmt.Errorf("marshal status payload: %d entries, at most %d: %w", n, MaxEntries, ErrTooLarge)
	}
	b, err := cose.EncMode().Marshal(&w)
	if err != nil {
		return nil, fmt.Errorf("marshal status payload: %w", err)
	}
	return b, nil
}

func joinHashes(hs []Hash) []byte {
	if len(hs) == 0 {
		return nil
	}
	b := make([]byte, 0, 16*len(hs))
	for _, h := range hs {
		b = append(b, h[:]...)
	}
	return b
}

// packTimes packs effective times (unix seconds) relative to their minimum.
func packTimes(effs []int64) (t0 int64, width uint, times []byte) {
	t0, hi := effs[0], effs[0]
	for _, e := range effs {
		t0, hi = min(t0, e), max(hi, e)
	}
	width = uint(bits.Len64(uint64(hi - t0)))
	w := bitWriter{buf: make([]byte, 0, packedLen(uint64(len(effs)), width))}
	for _, e := range effs {
		w.write(uint64(e-t0), width)
	}
	return t0, width, w.bytes()
}

// unixCeil returns t in unix seconds, rounded up.
func unixCeil(t time.Time) int64 {
	s := t.Unix()
	if t.Nanosecond() > 0 {
		s++
	}
	return s
}

// checkKind is shared by ApplyBase and ApplyDelta.
func checkKind(b *trust.Bundle, want trust.Kind) error {
	if b == nil {
		return errors.New("status: nil bundle")
	}
	if b.Kind != want {
		return fmt.Errorf("status: bundle kind %q, want %q: %w", b.Kind, want, ErrWrongKind)
	}
	return nil
}
