package sweep

import (
	"context"
	"fmt"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/engine"
	"sentinel/internal/central/statuspub"
	"sentinel/internal/status"
)

// Change is one status change a sweep published.
type Change struct {
	Holder string    `json:"holder"`
	From   string    `json:"from"` // green, yellow, red or withheld
	To     string    `json:"to"`
	Region string    `json:"region"`
	Rule   string    `json:"rule,omitempty"`
	Reason string    `json:"reason"` // the status reason's name (docs/reasons.md)
	Until  time.Time `json:"until,omitzero"`
}

// Report says what a sweep did.
type Report struct {
	At time.Time `json:"at"`
	// Published is the status bundle, nil when nothing changed.
	Published *bundles.Entry `json:"published,omitempty"`
	Changes   []Change       `json:"changes"`
	// Raced counts holders whose status changed between the plan and the
	// publication (a status set meanwhile): left for the next sweep.
	Raced int `json:"raced,omitempty"`
	// ByHand counts entries set by hand that stand against the rules;
	// Unjudged holders no rule set judges; Errors the holders the rules
	// failed on (they keep their status).
	// Judged counts the holders the rules judged.
	Judged   int      `json:"judged"`
	ByHand   int      `json:"by_hand,omitempty"`
	Unjudged int      `json:"unjudged,omitempty"`
	Errors   []string `json:"errors,omitempty"`
}

// Run sweeps st at pub's time: it plans from one snapshot of the engine's
// data and of the statuses, publishes the planned entries in one
// transaction of pub (skipping a holder whose entry changed since the
// plan), and records each published change in the engine's audit as by
// (By "engine" and who ran it, as the caller says in Why).
func Run(ctx context.Context, st central.Store, pub *statuspub.Publisher, now time.Time, by central.ChangeBy) (Report, error) {
	// The plan judges at now itself (a fact of this second counts); the
	// report and the entries are at its second.
	at := now.UTC()
	now = at.Truncate(time.Second)
	rep := Report{At: now, Changes: []Change{}}
	var snap *engine.Snapshot
	if err := st.ViewEngine(ctx, func(r central.EngineReader) (err error) { snap, err = engine.Load(ctx, r); return err }); err != nil {
		return rep, err
	}
	if _, err := snap.AddVisits(ctx, st, at, snap.Deployed.Lookback()); err != nil {
		return rep, err
	}
	var current map[string]central.StatusEntry
	err := st.ViewStatus(ctx, func(r central.StatusReader) (err error) { current, err = snap.Current(ctx, r, now); return err })
	if err != nil {
		return rep, err
	}
	return publish(ctx, st, pub, snap, current, at, by, rep)
}

// RunHolders is Run for the holders named alone, after an event about
// them (a fever kept at ingest): it reads their facts, passages and
// statuses only, so that its cost does not grow with the holders the
// centre knows. When a deployed rule set reads every holder's confirmed
// cases (cases_in, last_case_in), judging one holder needs them all and
// it runs Run.
func RunHolders(ctx context.Context, st central.Store, pub *statuspub.Publisher, now time.Time, holders []string, by central.ChangeBy) (Report, error) {
	at := now.UTC()
	now = at.Truncate(time.Second)
	rep := Report{At: now, Changes: []Change{}}
	var snap *engine.Snapshot
	if err := st.ViewEngine(ctx, func(r central.EngineReader) (err error) { snap, err = engine.LoadHolders(ctx, r, holders); return err }); err != nil {
		return rep, err
	}
	if snap.Deployed.UsesCases() {
		return Run(ctx, st, pub, at, by)
	}
	if _, err := snap.AddVisitsOf(ctx, st, at, snap.Deployed.Lookback()); err != nil {
		return rep, err
	}
	var current map[string]central.StatusEntry
	err := st.ViewStatus(ctx, func(r central.StatusReader) (err error) { current, err = snap.Entries(ctx, r); return err })
	if err != nil {
		return rep, err
	}
	return publish(ctx, st, pub, snap, current, at, by, rep)
}

// publish plans the judgement of snap's holders at at and publishes it.
func publish(ctx context.Context, st central.Store, pub *statuspub.Publisher, snap *engine.Snapshot, current map[string]central.StatusEntry,
	at time.Time, by central.ChangeBy, rep Report) (Report, error) {
	now := rep.At
	plan := engine.PlanSweep(snap, snap.Deployed, current, at)
	rep.ByHand, rep.Unjudged = plan.ByHand, plan.Unjudged
	rep.Judged = len(snap.Holders) - plan.Unjudged - len(plan.Errors)
	for _, e := range plan.Errors {
		rep.Errors = append(rep.Errors, e.Error())
	}
	if len(plan.Updates) == 0 {
		return rep, nil
	}
	for _, u := range plan.Updates {
		if err := statuspub.CheckEntry(u.Entry, now); err != nil {
			return rep, fmt.Errorf("the rules give %s an entry a terminal would refuse: %w", u.Entry.Holder, err)
		}
	}
	var applied []engine.Update
	res, err := pub.Publish(ctx, func(ctx context.Context, tx central.StatusTx, delta *status.Builder) error {
		applied, rep.Raced = nil, 0
		for _, u := range plan.Updates {
			cur, had, err := tx.Status(ctx, u.Entry.Holder)
			if err != nil {
				return err
			}
			if had != (u.Previous != nil) || had && cur != *u.Previous {
				rep.Raced++
				continue
			}
			if _, _, err := tx.SetStatus(ctx, u.Entry); err != nil {
				return err
			}
			if err := central.AddStatus(delta, u.Entry); err != nil {
				return err
			}
			applied = append(applied, u)
		}
		return nil
	})
	if err != nil {
		return rep, err
	}
	rep.Published = &res.Bundle
	for _, u := range applied {
		from := status.Green
		if u.Previous != nil && !u.Previous.Lapsed(now) && !u.Previous.Effective.After(now) {
			from = u.Previous.Status
		}
		rep.Changes = append(rep.Changes, Change{Holder: u.Entry.Holder.String(), From: from.String(), To: u.Entry.Status.String(),
			Region: u.Result.Region, Rule: u.Result.Rule, Reason: u.Result.Reason.String(), Until: u.Entry.Until})
	}
	err = st.UpdateEngine(ctx, func(tx central.EngineTx) error {
		for i, u := range applied {
			var facts []uint64
			for _, f := range u.Result.Facts {
				facts = append(facts, f.Seq)
			}
			c := rep.Changes[i]
			detail := struct {
				From    string    `json:"from"`
				To      string    `json:"to"`
				Rule    string    `json:"rule,omitempty"`
				RuleSet string    `json:"rule_set"`
				Facts   []uint64  `json:"facts,omitempty"`
				Until   time.Time `json:"until,omitzero"`
				Version uint64    `json:"status_version"`
			}{c.From, c.To, c.Rule, u.Entry.RuleSet, facts, c.Until, res.Bundle.Version}
			if err := tx.Audit(ctx, central.ChangeStatus, c.Holder, detail, by); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return rep, fmt.Errorf("published status version %d, but recording it in the engine's audit failed (the status entries name their rule set and facts themselves): %w", res.Bundle.Version, err)
	}
	return rep, nil
}

// FactsNeeded says how far back the deployed rule sets of st still read
// the code engine's facts, for retention (schedule.Options.FactsNeeded):
// the longest period of their rules (engine.Set.Lookback) and, when a rule
// gives a status with no end from facts that retention removes by age,
// which rule (engine.Set.KeepsFactsOf): then no fact may go by its age.
func FactsNeeded(ctx context.Context, st central.Store) (lookback time.Duration, keep string, err error) {
	err = st.ViewEngine(ctx, func(r central.EngineReader) error {
		snap, err := engine.LoadHolders(ctx, r, nil)
		if err != nil {
			return err
		}
		lookback, keep = snap.Deployed.Lookback(), snap.Deployed.KeepsFactsOf()
		return nil
	})
	if err != nil {
		return 0, "", fmt.Errorf("read the deployed rule sets: %w", err)
	}
	return lookback, keep, nil
}
