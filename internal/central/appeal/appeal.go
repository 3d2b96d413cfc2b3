// Package appeal is the centre's side of a holder's appeal: it finds the
// passage whose reference the gate's display showed (Find, LookUp), and
// explains by the rule sets in force why a holder has their colour
// (Explain), in words the holder can read. `sentinel-central passage
// show` and `status explain`, serve's control socket and the end-to-end
// tests all call it, so what ops read is what the tests check.
package appeal

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/central/engine"
	"sentinel/internal/passage"
	"sentinel/internal/status"
)

// Refusals of a passage reference, for errors.Is: the operator API
// answers them 404 and 409 rather than as a failure of the centre.
var (
	// ErrNotFound wraps a reference no stored passage has.
	ErrNotFound = errors.New("passage not found")
	// ErrAmbiguous is a reference that passages of several holders
	// have: the operator must name the holder.
	ErrAmbiguous = errors.New("several holders share this reference")
	// ErrNotOpened is a reference whose passage's holder was not opened
	// at ingest (the centre had no key for its record).
	ErrNotOpened = errors.New("holder not opened at ingest")
)

// refusal is an error that is one of the refusals above, with its own
// words alone.
type refusal struct {
	msg string
	is  error
}

func (r *refusal) Error() string        { return r.msg }
func (r *refusal) Is(target error) bool { return target == r.is }

// Find returns the stored passages whose reference is ref: those of ref's
// minute whose identity hashes to its ID. The terminal's display makes the
// reference from the journal's own epoch; a record the centre stores under
// a fork's branch epoch (a terminal restored from a backup, a cloned card)
// is found by the journal epoch its fork names. The forks are looked up
// only when no passage of the minute matches directly (one look-up per
// device and epoch of the minute), so an ordinary reference costs one
// read of its minute.
func Find(ctx context.Context, st central.Store, ref passage.Ref) ([]central.Passage, error) {
	from, to := ref.Window()
	var out, others []central.Passage
	for p, err := range st.Passages(ctx, central.Filter{From: from, To: to}) {
		if err != nil {
			return nil, err
		}
		if ref.Matches(p.Device, p.Epoch, p.Seq, p.Time) {
			out = append(out, p)
		} else {
			others = append(others, p)
		}
	}
	if len(out) > 0 {
		return out, nil
	}
	type key struct {
		device string
		epoch  central.Epoch
	}
	journals := map[key]central.Epoch{} // a branch's journal epoch
	for _, p := range others {
		k := key{p.Device, p.Epoch}
		j, seen := journals[k]
		if !seen {
			f, ok, err := st.Fork(ctx, p.Device, p.Epoch)
			if err != nil {
				return nil, fmt.Errorf("passage %s: the forks of device %s: %w", ref, p.Device, err)
			}
			if ok {
				j = f.Journal
			}
			journals[k] = j
		}
		if j != (central.Epoch{}) && ref.Matches(p.Device, j, p.Seq, p.Time) {
			out = append(out, p)
		}
	}
	return out, nil
}

// LookUpRequest is a passage look-up: the reference, and who looks and
// why, for the audit log.
type LookUpRequest struct {
	Ref      string `json:"ref"`
	Operator string `json:"operator"`
	Purpose  string `json:"purpose"`
	Store    string `json:"store"`
}

// LookUp finds the passages of q's reference in st and records the
// look-up in the audit log; nothing is returned when it is not recorded.
func LookUp(ctx context.Context, st central.Store, q LookUpRequest) ([]central.Passage, error) {
	ref, err := passage.ParseRef(q.Ref)
	if err != nil {
		return nil, err
	}
	found, err := Find(ctx, st, ref)
	if err != nil {
		return nil, err
	}
	e := central.AuditEntry{Time: time.Now().UTC(), Operator: q.Operator, Action: central.AuditPassage, Purpose: q.Purpose,
		Store: q.Store, Rows: len(found)}
	if len(found) == 1 {
		e.Query = central.AuditQuery{Device: found[0].Device, Holder: found[0].Holder, From: found[0].Time, To: found[0].Time.Add(time.Millisecond)}
	}
	if err := st.AppendAudit(ctx, e); err != nil {
		return nil, fmt.Errorf("the look-up was not recorded in the audit log, so nothing is shown: %w", err)
	}
	return found, nil
}

// HolderOf returns the holder of the passage with reference ref, for
// status explain --passage.
func HolderOf(ctx context.Context, st central.Store, ref passage.Ref) (credential.Holder, error) {
	found, err := Find(ctx, st, ref)
	if err != nil {
		return credential.Holder{}, err
	}
	holders := map[string]bool{}
	for _, p := range found {
		holders[p.Holder] = true
	}
	switch {
	case len(found) == 0:
		return credential.Holder{}, fmt.Errorf("no passage at the centre has reference %s: check that the terminal has synced since, and the reference as read: %w", ref, ErrNotFound)
	case len(holders) > 1:
		return credential.Holder{}, &refusal{is: ErrAmbiguous,
			msg: fmt.Sprintf("%d passages of different holders have reference %s: see them with 'sentinel-central passage show %s' and give --holder", len(found), ref, ref)}
	case holders[""]:
		return credential.Holder{}, &refusal{is: ErrNotOpened,
			msg: fmt.Sprintf("the holder of passage %s was not opened at ingest (the centre had no key for its record): ask the holder for their code", ref)}
	}
	h, err := credential.ParseHolderID(found[0].Holder)
	if err != nil {
		return credential.Holder{}, fmt.Errorf("passage %s: stored holder %q: %w", ref, found[0].Holder, err)
	}
	return h, nil
}

// ExplainRequest asks why a holder, or the holder of a passage reference,
// has their colour at At.
type ExplainRequest struct {
	Holder  string    `json:"holder,omitempty"`
	Passage string    `json:"passage,omitempty"`
	Lang    string    `json:"lang"` // en or zh
	Zone    string    `json:"zone"` // the holder's time zone, as Asia/Shanghai
	At      time.Time `json:"at"`
}

// Explanation is what status explain gives (and prints with --json).
type Explanation struct {
	Result   json.RawMessage      `json:"result"` // an engine.Result
	Text     string               `json:"text"`
	Recorded *central.StatusEntry `json:"recorded,omitempty"`
	Note     string               `json:"note,omitempty"` // when the record differs from the rules
}

// Explain explains by st's rules in force why q's holder has their colour
// at q.At: the rule, its facts and until when (never naming a case), and a
// note where the centre's record differs from what the rules give or a
// fever counts without its area.
func Explain(ctx context.Context, st central.Store, q ExplainRequest) (Explanation, error) {
	lang, err := engine.ParseLang(q.Lang)
	if err != nil {
		return Explanation{}, err
	}
	loc, err := time.LoadLocation(q.Zone)
	if err != nil {
		return Explanation{}, err
	}
	var h credential.Holder
	if q.Passage != "" {
		ref, err := passage.ParseRef(q.Passage)
		if err != nil {
			return Explanation{}, err
		}
		if h, err = HolderOf(ctx, st, ref); err != nil {
			return Explanation{}, err
		}
	} else if h, err = credential.ParseHolderID(q.Holder); err != nil {
		return Explanation{}, err
	}
	now := q.At
	var snap *engine.Snapshot
	if err := st.ViewEngine(ctx, func(r central.EngineReader) (err error) { snap, err = engine.Load(ctx, r); return err }); err != nil {
		return Explanation{}, err
	}
	if _, err := snap.AddVisits(ctx, st, now, snap.Deployed.Lookback()); err != nil {
		return Explanation{}, err
	}
	res, err := snap.Deployed.Evaluate(snap.Holder(h.String()), snap.World(), now)
	if err != nil {
		return Explanation{}, err
	}
	entry, recorded, err := st.StatusOf(ctx, h)
	if err != nil {
		return Explanation{}, err
	}
	raw, err := json.Marshal(res)
	if err != nil {
		return Explanation{}, err
	}
	out := Explanation{Result: raw, Text: engine.Explain(res, engine.ExplainOptions{Lang: lang, Areas: snap.Areas, Loc: loc})}
	if recorded {
		out.Recorded = &entry
	}
	if recorded && (entry.Status != res.Status) && !entry.Lapsed(now) {
		if lang == engine.Chinese {
			out.Note = fmt.Sprintf("注意：中心记录的状态为%s（%s，来源%s），与上述规则结果不同。\n", entry.Status, status.Reason(entry.Reason), entry.Source)
		} else {
			by := entry.Source
			if by == "" {
				by = "hand"
			}
			out.Note = fmt.Sprintf("Note: the centre's record says %s (%s, by %s), which differs from what the rules give above.\n", entry.Status, status.Reason(entry.Reason), by)
		}
	}
	for _, f := range snap.Holder(h.String()).Facts {
		// Only a fever is kept at a site ops have not placed yet.
		if f.Kind != central.FactFever || f.Area != "" || snap.Areas.AreaOf(f.Site) != "" || f.At.After(now) {
			continue
		}
		when := f.At.In(loc).Format("2006-01-02 15:04")
		switch {
		case f.Site == "" && lang == engine.Chinese:
			out.Note += fmt.Sprintf("注意：%s测得的发热已记录，但测量它的终端登记时未指定卡口，规则在判断时不知道它所在的地区。\n", when)
			continue
		case f.Site == "":
			out.Note += fmt.Sprintf("Note: the fever measured on %s is kept, but the terminal that measured it was enrolled without a site: the rules judge it without knowing where it was.\n", when)
			continue
		}
		if lang == engine.Chinese {
			out.Note += fmt.Sprintf("注意：%s在卡口%s测得的发热已记录，但中心尚未将该卡口划入任何地区；在运维人员用 sentinel-central sites set 添加该卡口之前，规则在判断时不知道它所在的地区。\n", when, f.Site)
		} else {
			out.Note += fmt.Sprintf("Note: the fever measured at site %s on %s is kept, but the centre has no area for that site yet: the rules judge it without its area until ops add the site with sentinel-central sites set.\n", f.Site, when)
		}
	}
	return out, nil
}
