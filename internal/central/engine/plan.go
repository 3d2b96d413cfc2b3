package engine

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/status"
)

// SourceEngine is the Source of the status entries the engine makes. The
// engine changes only its own entries and holders without one: an entry
// set by hand (any other source) stands until it lapses.
const SourceEngine = "engine"

// Update is one status entry the engine would publish, with the judgement
// behind it.
type Update struct {
	Entry    central.StatusEntry
	Previous *central.StatusEntry // the holder's current entry, nil when none
	Result   Result
}

// Plan says what a sweep at one time would publish.
type Plan struct {
	At      time.Time
	Updates []Update // by holder
	// ByHand counts holders whose entry set by hand stands although the
	// rules give another status; Errors are the holders the rules failed
	// on (they keep their status); Unjudged counts holders no rule set
	// judges.
	ByHand   int
	Unjudged int
	Errors   []error
}

// PlanSweep judges every holder of snap at now under set and returns the
// entries to publish: a holder whose status by the rules differs from
// the one in force (a lapsed entry is green), or whose engine entry ends
// at another time than the rules now say. current holds the holders'
// entries by holder id (Snapshot.Current reads them, and adds to snap the
// holders the engine holds at a colour without facts).
//
// An entry that changes the status takes effect at now, not at the facts'
// time: the gate lets an entry override only codes issued before its
// effective time, and codes issued before now carry the old colour. An
// entry that only moves the end keeps its effective time, so that codes
// issued since with the same colour stay usable.
//
// Holders are judged at now itself, so that a fact of this very second
// counts (a fever the ingest kept a moment ago, which the event sweep
// runs for); the entries take effect at now's second.
func PlanSweep(snap *Snapshot, set *Set, current map[string]central.StatusEntry, now time.Time) *Plan {
	at := now.UTC()
	now = at.Truncate(time.Second)
	p := &Plan{At: now}
	w := snap.World()
	for _, h := range snap.Holders {
		r, err := set.Evaluate(h, w, at)
		switch {
		case errors.Is(err, ErrNoRuleSet):
			p.Unjudged++
			continue
		case err != nil:
			p.Errors = append(p.Errors, err)
			continue
		}
		cur, had := current[h.ID]
		inForce := had && !cur.Lapsed(now) && !cur.Effective.After(now)
		if inForce && cur.Source != SourceEngine {
			if cur.Status != r.Status {
				p.ByHand++
			}
			continue
		}
		was := status.Green
		if inForce {
			was = cur.Status
		}
		switch {
		case was != r.Status:
		case inForce && !cur.Until.Equal(r.Until):
		default:
			continue // nothing to publish
		}
		holder, err := credential.ParseHolderID(h.ID)
		if err != nil {
			p.Errors = append(p.Errors, fmt.Errorf("judge %s: %w", h.ID, err))
			continue
		}
		e := central.StatusEntry{Holder: holder, Status: r.Status, Effective: now, Until: r.Until,
			Reason: byte(r.Reason), Note: note(r), Source: SourceEngine, RuleSet: r.Region + " " + r.Version, SetAt: now}
		if rec, ok := snap.Records[r.Region]; ok && rec.Label == r.Version {
			e.RuleSet = RuleSetName(rec)
		}
		if was == r.Status {
			e.Effective = cur.Effective
		}
		if !e.Until.IsZero() && !e.Until.After(e.Effective) {
			continue // lapses before it would take effect
		}
		u := Update{Entry: e, Result: r}
		if had {
			c := cur
			u.Previous = &c
		}
		p.Updates = append(p.Updates, u)
	}
	return p
}

// note is the entry's reason in words, kept at the centre: the rule and
// the facts that decided, by their numbers in the store.
func note(r Result) string {
	if r.Rule == "" {
		return "no rule holds"
	}
	var seqs []string
	for _, f := range r.Facts {
		seqs = append(seqs, fmt.Sprintf("%d", f.Seq))
	}
	return fmt.Sprintf("rule %s; facts %s", r.Rule, strings.Join(seqs, ","))
}
