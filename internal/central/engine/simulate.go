package engine

import (
	"errors"
	"slices"
	"strings"
	"time"

	"sentinel/internal/status"
)

// Change is a holder whose status a judgement would change.
type Change struct {
	Holder string
	From   status.Status // the current status; green when none is recorded
	To     status.Status
	Result Result
}

// Simulation is what judging every holder at one time would do, before
// anything goes live: the core of "rules test".
type Simulation struct {
	At     time.Time
	Judged int
	// Counts are the holders per region (of the rule set that judged them)
	// and status after the judgement.
	Counts map[string]map[status.Status]int
	// Changes are the holders whose status would change, by holder id.
	Changes []Change
	// Unjudged counts holders no rule set judges (no known home).
	Unjudged int
	// Errors are the holders the rules failed on (*EvalError); they would
	// keep their status.
	Errors []error
}

// Simulate judges every holder at at under set and compares with their
// current statuses (a holder missing from current is green). It changes
// nothing.
func Simulate(holders []Holder, current map[string]status.Status, set *Set, w *World, at time.Time) *Simulation {
	s := &Simulation{At: at.UTC(), Counts: map[string]map[status.Status]int{}}
	for _, h := range holders {
		r, err := set.Evaluate(h, w, at)
		switch {
		case errors.Is(err, ErrNoRuleSet):
			s.Unjudged++
			continue
		case err != nil:
			s.Errors = append(s.Errors, err)
			continue
		}
		s.Judged++
		if s.Counts[r.Region] == nil {
			s.Counts[r.Region] = map[status.Status]int{}
		}
		s.Counts[r.Region][r.Status]++
		from, ok := current[h.ID]
		if !ok {
			from = status.Green
		}
		if from != r.Status {
			s.Changes = append(s.Changes, Change{Holder: h.ID, From: from, To: r.Status, Result: r})
		}
	}
	slices.SortFunc(s.Changes, func(a, b Change) int { return strings.Compare(a.Holder, b.Holder) })
	return s
}

// Moves counts the changes by (from, to).
func (s *Simulation) Moves() map[[2]status.Status]int {
	m := map[[2]status.Status]int{}
	for _, c := range s.Changes {
		m[[2]status.Status{c.From, c.To}]++
	}
	return m
}
