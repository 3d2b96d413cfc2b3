package central

import (
	"cmp"
	"context"
	"slices"
	"time"
)

// Horizons say what a store's retention removes of the centre's state
// besides the passages (Expirer.Expire). A zero time removes nothing of
// its part.
type Horizons struct {
	// Facts: the code engine's facts that ended before it (FactExpires).
	Facts time.Time
	// Statuses: the status entries and EU DCC revocations that lapsed
	// before it (their Until; an open entry or revocation stays).
	Statuses time.Time
	// Audit: the audit log's entries and the code engine's change
	// records made before it.
	Audit time.Time
}

// Expired counts what Expire removed.
type Expired struct {
	Facts       int `json:"facts"`
	Statuses    int `json:"statuses"`
	Revocations int `json:"revocations"`
	Audit       int `json:"audit"`
	Changes     int `json:"changes"`
}

// Total is the number of records removed.
func (e Expired) Total() int { return e.Facts + e.Statuses + e.Revocations + e.Audit + e.Changes }

// Expirer removes what the centre keeps past its retention besides the
// passages: facts, lapsed statuses and revocations, audit entries and
// engine change records, by Horizons. It writes no audit record of its
// own (one would keep what it removes) and does not change the status
// version: a lapsed entry is in no base already.
type Expirer interface {
	Expire(ctx context.Context, h Horizons) (Expired, error)
}

// FactExpires reports whether retention at horizon removes f. A home or
// manual fact that a later one of its holder replaced before horizon
// (superseded: the latest home is the holder's home, the latest manual
// status replaces every earlier one) goes whatever its end. Otherwise a
// home fact stays, however old: it picks the rule set the holder is judged
// by; a whitelist membership or manual status with an open Until stays,
// since it is in force; and any other fact goes when its end (its Until
// when it has one, else its At) lies before horizon.
func FactExpires(f Fact, horizon time.Time, superseded bool) bool {
	switch {
	case horizon.IsZero():
		return false
	case superseded && (f.Kind == FactHome || f.Kind == FactManual):
		return true
	case f.Kind == FactHome:
		return false
	case f.Until.IsZero() && (f.Kind == FactWhitelist || f.Kind == FactManual):
		return false
	}
	end := f.At
	if !f.Until.IsZero() {
		end = f.Until
	}
	return end.Before(horizon)
}

// ExpiredFacts returns the Seq of the facts of fs that retention at horizon
// removes (FactExpires), in ascending order; fs may come in any order. A
// home or manual fact is superseded when a later one (by At, then Seq) of
// the same holder and kind took effect before horizon.
func ExpiredFacts(fs []Fact, horizon time.Time) []uint64 {
	if horizon.IsZero() {
		return nil
	}
	type hk struct {
		holder string
		kind   FactKind
	}
	later := func(a, b Fact) bool { return cmp.Or(a.At.Compare(b.At), cmp.Compare(a.Seq, b.Seq)) > 0 }
	// The latest home and manual fact of each holder before horizon.
	latest := map[hk]Fact{}
	for _, f := range fs {
		if (f.Kind != FactHome && f.Kind != FactManual) || !f.At.Before(horizon) {
			continue
		}
		k := hk{f.Holder, f.Kind}
		if n, ok := latest[k]; !ok || later(f, n) {
			latest[k] = f
		}
	}
	var out []uint64
	for _, f := range fs {
		n, ok := latest[hk{f.Holder, f.Kind}]
		if FactExpires(f, horizon, ok && later(n, f)) {
			out = append(out, f.Seq)
		}
	}
	slices.Sort(out)
	return out
}
