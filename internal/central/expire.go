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

// FactExpires reports whether retention at horizon removes f: its end (its
// Until when it has one, else its At) lies before horizon, and it is not
// in force for ever (a whitelist membership or a manual status with an
// open Until). A home fact also needs a newer home fact of its holder
// (newerHome): the latest one stays the holder's home, however old, since
// it picks the rule set the holder is judged by.
func FactExpires(f Fact, horizon time.Time, newerHome bool) bool {
	if horizon.IsZero() {
		return false
	}
	end := f.At
	if !f.Until.IsZero() {
		end = f.Until
	}
	switch {
	case !end.Before(horizon):
		return false
	case f.Until.IsZero() && (f.Kind == FactWhitelist || f.Kind == FactManual):
		return false
	case f.Kind == FactHome:
		return newerHome
	}
	return true
}

// ExpiredFacts returns the Seq of the facts of fs that retention at horizon
// removes (FactExpires), in ascending order; fs may come in any order.
func ExpiredFacts(fs []Fact, horizon time.Time) []uint64 {
	if horizon.IsZero() {
		return nil
	}
	// The newest home fact of each holder: latest At, then highest Seq.
	newest := map[string]Fact{}
	for _, f := range fs {
		if f.Kind != FactHome {
			continue
		}
		n, ok := newest[f.Holder]
		if !ok || cmp.Or(f.At.Compare(n.At), cmp.Compare(f.Seq, n.Seq)) > 0 {
			newest[f.Holder] = f
		}
	}
	var out []uint64
	for _, f := range fs {
		newer := f.Kind == FactHome && newest[f.Holder].Seq != f.Seq
		if FactExpires(f, horizon, newer) {
			out = append(out, f.Seq)
		}
	}
	slices.Sort(out)
	return out
}
