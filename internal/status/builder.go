package status

import (
	"bytes"
	"cmp"
	"fmt"
	"slices"

	"sentinel/crypto/trust"
)

// Builder collects entries at the centre and marshals them as the payload
// of a status-base or status-delta bundle (sealed with trust.SealBundle).
// A later call for the same holder replaces an earlier one.
type Builder struct {
	issuers  []string
	issuerID map[string]uint16
	native   []bentry
	rmNative []bremoval
	pseud    map[Pseudonym]pseudEntry
	rmPseud  map[Pseudonym]bool
	revoked  map[Hash]bool // true: revoke, false: unrevoke
}

type bentry struct {
	eff    int64
	seq    int32 // order of the calls: the last one for a holder wins
	idx    uint32
	until  int64 // 0: open
	lapse  uint32
	iss    uint16
	status Status
	reason byte
}

type bremoval struct {
	idx uint32
	iss uint16
	seq int32 // len(native) when removed: it supersedes the entries before
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{issuerID: map[string]uint16{}, pseud: map[Pseudonym]pseudEntry{},
		rmPseud: map[Pseudonym]bool{}, revoked: map[Hash]bool{}}
}

func (b *Builder) issuer(name string) (uint16, error) {
	if id, ok := b.issuerID[name]; ok {
		return id, nil
	}
	if err := trust.ValidIssuer(name); err != nil {
		return 0, fmt.Errorf("status builder: %w", err)
	}
	if len(b.issuers) >= MaxGroups {
		return 0, fmt.Errorf("status builder: more than %d issuers: %w", MaxGroups, ErrTooLarge)
	}
	id := uint16(len(b.issuers))
	b.issuers = append(b.issuers, name)
	b.issuerID[name] = id
	return id, nil
}

func checkEntry(e Entry) (eff, until int64, err error) {
	if !e.Status.Valid() {
		return 0, 0, fmt.Errorf("status builder: %w", ErrInvalidStatus)
	}
	eff = unixCeil(e.Effective)
	if eff < 0 || eff > maxUnix {
		return 0, 0, fmt.Errorf("status builder: effective time %v out of range: %w", e.Effective, ErrMalformed)
	}
	if !e.Until.IsZero() {
		until = unixCeil(e.Until)
		if until <= eff || until > maxUnix {
			return 0, 0, fmt.Errorf("status builder: until %v not after effective %v: %w", e.Until, e.Effective, ErrMalformed)
		}
	}
	return eff, until, nil
}

// SetNative records an entry for the native holder (issuer, index).
func (b *Builder) SetNative(issuer string, index uint32, e Entry) error {
	eff, until, err := checkEntry(e)
	if err != nil {
		return err
	}
	var lapse uint32
	if until != 0 {
		if until-eff > 1<<32-1 {
			return fmt.Errorf("status builder: until too far after effective: %w", ErrMalformed)
		}
		lapse = uint32(until - eff)
	}
	id, err := b.issuer(issuer)
	if err != nil {
		return err
	}
	if len(b.native) >= MaxEntries {
		return fmt.Errorf("status builder: more than %d entries: %w", MaxEntries, ErrTooLarge)
	}
	b.native = append(b.native, bentry{seq: int32(len(b.native)), eff: eff, idx: index, lapse: lapse, until: until, iss: id, status: e.Status, reason: e.Reason})
	return nil
}

// RemoveNative removes the native holder's entry (delta only).
func (b *Builder) RemoveNative(issuer string, index uint32) error {
	id, err := b.issuer(issuer)
	if err != nil {
		return err
	}
	b.rmNative = append(b.rmNative, bremoval{idx: index, iss: id, seq: int32(len(b.native))})
	return nil
}

// SetPseudonym records an entry for an EU DCC or SHC holder.
func (b *Builder) SetPseudonym(p Pseudonym, e Entry) error {
	eff, until, err := checkEntry(e)
	if err != nil {
		return err
	}
	delete(b.rmPseud, p)
	b.pseud[p] = pseudEntry{p: p, eff: eff, until: until, status: e.Status, reason: e.Reason}
	return nil
}

// RemovePseudonym removes a pseudonymous holder's entry (delta only).
func (b *Builder) RemovePseudonym(p Pseudonym) {
	delete(b.pseud, p)
	b.rmPseud[p] = true
}

// Revoke lists an EU DCC certificate identifier (UCI) as revoked.
func (b *Builder) Revoke(dccIdentifier string) { b.revoked[RevocationHash(dccIdentifier)] = true }

// Unrevoke takes an identifier off the revocation list (delta only).
func (b *Builder) Unrevoke(dccIdentifier string) { b.revoked[RevocationHash(dccIdentifier)] = false }

// MarshalBase returns the payload of a status-base bundle. A base holds no
// removals.
func (b *Builder) MarshalBase() ([]byte, error) {
	if len(b.rmNative) > 0 || len(b.rmPseud) > 0 {
		return nil, fmt.Errorf("status builder: a base carries no removals: %w", ErrMalformed)
	}
	for _, v := range b.revoked {
		if !v {
			return nil, fmt.Errorf("status builder: a base carries no unrevocations: %w", ErrMalformed)
		}
	}
	p, err := b.payload(false)
	if err != nil {
		return nil, err
	}
	return p.marshal()
}

// MarshalDelta returns the payload of a status-delta bundle.
func (b *Builder) MarshalDelta() ([]byte, error) {
	p, err := b.payload(true)
	if err != nil {
		return nil, err
	}
	return p.marshal()
}

func (b *Builder) payload(delta bool) (*Payload, error) {
	p := &Payload{delta: delta}
	// The last entry per holder wins, unless a removal came after it;
	// then group by class.
	type hkey struct {
		iss uint16
		idx uint32
	}
	removedAt := map[hkey]int32{}
	for _, r := range b.rmNative {
		removedAt[hkey{r.iss, r.idx}] = r.seq
	}
	ents := b.native // sorting in place keeps the Builder's content
	slices.SortFunc(ents, func(x, y bentry) int {
		return cmp.Or(cmp.Compare(x.iss, y.iss), cmp.Compare(x.idx, y.idx), cmp.Compare(x.seq, y.seq))
	})
	uniq := make([]bentry, 0, len(ents))
	for i, e := range ents {
		if i+1 < len(ents) && ents[i+1].iss == e.iss && ents[i+1].idx == e.idx {
			continue
		}
		if s, ok := removedAt[hkey{e.iss, e.idx}]; ok && s > e.seq {
			continue
		}
		uniq = append(uniq, e)
	}
	// An until is kept relative (a lapse after the effective time) or
	// absolute, whichever more entries share.
	type ckey struct {
		iss    uint16
		status Status
		reason byte
		lapse  uint32
		until  int64
	}
	count := map[ckey]int{}
	for _, e := range uniq {
		if e.until != 0 {
			count[ckey{e.iss, e.status, e.reason, e.lapse, 0}]++
			count[ckey{e.iss, e.status, e.reason, 0, e.until}]++
		}
	}
	for i := range uniq {
		e := &uniq[i]
		if e.until == 0 {
			continue
		}
		if count[ckey{e.iss, e.status, e.reason, 0, e.until}] > count[ckey{e.iss, e.status, e.reason, e.lapse, 0}] {
			e.lapse = 0
		} else {
			e.until = 0
		}
	}
	slices.SortFunc(uniq, func(x, y bentry) int {
		return cmp.Or(cmp.Compare(b.issuers[x.iss], b.issuers[y.iss]), cmp.Compare(x.status, y.status),
			cmp.Compare(x.reason, y.reason), cmp.Compare(x.lapse, y.lapse), cmp.Compare(x.until, y.until), cmp.Compare(x.idx, y.idx))
	})
	for i := 0; i < len(uniq); {
		j := i
		for j < len(uniq) && uniq[j].iss == uniq[i].iss && uniq[j].status == uniq[i].status &&
			uniq[j].reason == uniq[i].reason && uniq[j].lapse == uniq[i].lapse && uniq[j].until == uniq[i].until {
			j++
		}
		es := uniq[i:j]
		idx := make([]uint32, len(es))
		effs := make([]int64, len(es))
		for n, e := range es {
			idx[n], effs[n] = e.idx, e.eff
		}
		t0, width, times := packTimes(effs)
		if width > 32 {
			return nil, fmt.Errorf("status builder: issuer %s: effective times span more than 2^32 s: %w", b.issuers[es[0].iss], ErrMalformed)
		}
		c := class{status: es[0].status, reason: es[0].reason, lapse: es[0].lapse, until: es[0].until}
		p.groups = append(p.groups, group{issuer: b.issuers[es[0].iss], class: c, idx: idx, t0: t0, width: width, times: times})
		p.numNatives += len(idx)
		i = j
	}
	if delta {
		rms := slices.Clone(b.rmNative)
		slices.SortFunc(rms, func(x, y bremoval) int {
			return cmp.Or(cmp.Compare(b.issuers[x.iss], b.issuers[y.iss]), cmp.Compare(x.idx, y.idx))
		})
		rms = slices.CompactFunc(rms, func(x, y bremoval) bool { return x.iss == y.iss && x.idx == y.idx })
		for i := 0; i < len(rms); {
			j := i
			var idx []uint32
			for ; j < len(rms) && rms[j].iss == rms[i].iss; j++ {
				idx = append(idx, rms[j].idx)
			}
			p.rmNative = append(p.rmNative, removal{issuer: b.issuers[rms[i].iss], idx: idx})
			i = j
		}
		for q := range b.rmPseud {
			p.rmPseud = append(p.rmPseud, q)
		}
		slices.SortFunc(p.rmPseud, func(x, y Pseudonym) int { return bytes.Compare(x[:], y[:]) })
	}
	for _, e := range b.pseud {
		p.pseud = append(p.pseud, e)
	}
	slices.SortFunc(p.pseud, func(x, y pseudEntry) int { return bytes.Compare(x.p[:], y.p[:]) })
	for h, v := range b.revoked {
		if v {
			p.revoked = append(p.revoked, h)
		} else {
			p.unrevoked = append(p.unrevoked, h)
		}
	}
	slices.SortFunc(p.revoked, compareHash)
	slices.SortFunc(p.unrevoked, compareHash)
	return p, nil
}
