package engine

import (
	"cmp"
	"context"
	"fmt"
	"iter"
	"slices"
	"strings"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/passage"
)

// PassageSource is what contact derivation reads: every central.Store is
// one.
type PassageSource interface {
	Passages(ctx context.Context, f central.Filter) iter.Seq2[central.Passage, error]
}

var _ PassageSource = central.Store(nil)

// Contact is a holder who was at a site together with a case.
type Contact struct {
	Holder  string
	Case    string
	Site    string
	At      time.Time     // the contact's passage
	CaseAt  time.Time     // the case's passage it overlapped
	Overlap time.Duration // how long their presences overlapped
	// Passage identifies the contact's passage: DEVICE/EPOCH/SEQ.
	Passage string
}

// Fact returns the contact as a fact of the contact's holder. The case is
// named in Value for ops; explanations never show it to the holder.
func (c Contact) Fact() Fact {
	return Fact{Holder: c.Holder, Kind: KindContact, At: c.At, Site: c.Site, Value: c.Case,
		Source: "derived:contact:" + c.Passage}
}

// ContactResult is the contacts of one case.
type ContactResult struct {
	Case     Case
	Contacts []Contact // by holder
	// Passages counts the case's passages looked at.
	Passages int
	// Capped counts holders who overlapped with the case but were left
	// out by the cap (the shortest overlaps).
	Capped int
}

// Contacts derives the close contacts of case c from the passages in src
// under p: every holder admitted at a site where the case was admitted,
// from p.Lookback before the confirmation until now, whose presence
// (p.Window from their passage) overlapped the case's by at least
// p.Overlap. Only admissions count: a refused person did not go in. A
// holder is a contact once per case, by their longest overlap; past p.Cap
// the shortest overlaps are dropped and counted in Capped.
func Contacts(ctx context.Context, src PassageSource, c Case, p ContactParams, now time.Time) (ContactResult, error) {
	res := ContactResult{Case: c}
	if p.Window <= 0 || p.Overlap < 0 || p.Overlap > p.Window || p.Cap < 1 {
		return res, fmt.Errorf("contacts of %s: window %v, overlap %v, cap %d: want an overlap no longer than a positive window and a cap of at least 1", c.Holder, p.Window, p.Overlap, p.Cap)
	}
	var visits []central.Passage
	for ps, err := range src.Passages(ctx, central.Filter{Holder: c.Holder, From: c.At.Add(-p.Lookback), To: now, Slim: true}) {
		if err != nil {
			return res, fmt.Errorf("contacts of %s: read the case's passages: %w", c.Holder, err)
		}
		if ps.Decision == string(passage.Admit) {
			visits = append(visits, ps)
		}
	}
	res.Passages = len(visits)
	reach := p.Window - p.Overlap // the furthest apart two passages may be
	best := map[string]Contact{}
	for _, v := range visits {
		f := central.Filter{Site: v.Site, From: v.Time.Add(-reach), To: v.Time.Add(reach + time.Nanosecond), Slim: true}
		for q, err := range src.Passages(ctx, f) {
			if err != nil {
				return res, fmt.Errorf("contacts of %s: read passages at %s: %w", c.Holder, v.Site, err)
			}
			if q.Holder == "" || q.Holder == c.Holder || q.Decision != string(passage.Admit) {
				continue
			}
			d := q.Time.Sub(v.Time).Abs()
			if d > reach {
				continue
			}
			k := Contact{Holder: q.Holder, Case: c.Holder, Site: q.Site, At: q.Time, CaseAt: v.Time, Overlap: p.Window - d,
				Passage: fmt.Sprintf("%s/%s/%d", q.Device, q.Epoch, q.Seq)}
			if old, ok := best[k.Holder]; !ok || k.Overlap > old.Overlap || k.Overlap == old.Overlap && k.At.Before(old.At) {
				best[k.Holder] = k
			}
		}
	}
	all := make([]Contact, 0, len(best))
	for _, k := range best {
		all = append(all, k)
	}
	slices.SortFunc(all, func(a, b Contact) int {
		return cmp.Or(cmp.Compare(b.Overlap, a.Overlap), a.At.Compare(b.At), strings.Compare(a.Holder, b.Holder))
	})
	if len(all) > p.Cap {
		res.Capped = len(all) - p.Cap
		all = all[:p.Cap]
	}
	slices.SortFunc(all, func(a, b Contact) int { return strings.Compare(a.Holder, b.Holder) })
	res.Contacts = all
	return res, nil
}
