package engine

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/common/types"
	"cel.dev/cel-go/common/types/ref"

	"sentinel/internal/status"
)

// Holder is a holder with every fact the centre has about them.
type Holder struct {
	ID    string
	Facts []Fact
}

// Result is a holder's judgement: the status their facts give at a time
// under one rule set, why, and from when until when.
type Result struct {
	Holder string
	Home   string // the home area the rule set was chosen by
	Status status.Status
	Reason status.Reason // the code terminals get
	// Rule names the rule that decided; "manual" for a status ops set,
	// "" when no rule holds (green).
	Rule    string
	Region  string // the rule set's region and version
	Version string
	At      time.Time // the time judged ("now")
	// Effective is when the status began by the facts: the start of the
	// earliest period in force of the deciding rule, the end of the last
	// period that lapsed for a green, zero when nothing ever held.
	Effective time.Time
	// Until is when the status lapses unless a new fact extends it: the
	// end of the deciding rule's period, carried on by the later rules
	// that would decide next when they give the same status; zero is open (green, withheld until a
	// test, a manual status without end).
	Until time.Time
	// Facts are the facts that decided, oldest first.
	Facts []Fact
	// Say holds the deciding rule's own words for the holder, by language.
	Say map[string]string
	// Also lists the later rules that hold too, in the rule set's order:
	// when the deciding rule lapses, the first of these still in force
	// decides.
	Also []Finding
	// Dropped counts facts left unseen because the holder had more than
	// MaxFacts (the oldest are dropped).
	Dropped int
	// Cost is the CEL cost of the judgement.
	Cost uint64
}

// Finding is a rule that holds for a holder.
type Finding struct {
	Rule      string
	Status    status.Status
	Reason    status.Reason
	Effective time.Time
	Until     time.Time // zero: open
	Facts     []Fact
}

// EvalError is a holder the rules could not judge: a rule that fails at
// run time or a judgement over its cost. The holder keeps their status.
type EvalError struct {
	Holder string
	Region string
	Rule   string
	Clause string
	Err    error
}

func (e *EvalError) Error() string {
	if e.Rule == "" {
		return fmt.Sprintf("judge %s under rule set %s: %v", e.Holder, e.Region, e.Err)
	}
	return fmt.Sprintf("judge %s under rule set %s: rule %s (%s): %v", e.Holder, e.Region, e.Rule, e.Clause, e.Err)
}

func (e *EvalError) Unwrap() error { return e.Err }

// ErrCost is wrapped by an EvalError for a judgement over HolderCostLimit.
var ErrCost = errors.New("the rules cost too much for this holder: make the rules that look through every fact (facts.exists) narrower: latest(kind) or facts_of(kind)")

// Evaluate judges h at now under rs, in the World w. Facts after now are
// not seen, so a judgement at a past time shows what the rules would have
// given then with what is known now. The same facts, world, rule set and
// now always give the same result.
func (rs *RuleSet) Evaluate(h Holder, w *World, now time.Time) (Result, error) {
	now = now.UTC()
	facts, dropped := visible(h.Facts, w.areas(), now)
	res := Result{Holder: h.ID, Home: homeOf(h.ID, facts, w.areas(), now), Region: rs.src.Region, Version: rs.src.Version, At: now, Dropped: dropped}
	if m, ok := manual(facts, now); ok {
		st, _ := status.ParseStatus(m.Value)
		res.Status, res.Reason, res.Rule = st, status.ReasonManual, "manual"
		res.Effective, res.Until, res.Facts = m.At, m.Until, []Fact{m}
		return res, nil
	}
	ad := rs.env.CELTypeAdapter()
	views := make([]ref.Val, len(facts))
	for i := range facts {
		views[i] = ad.NativeToValue(factView(&facts[i], w.areas(), now))
	}
	act := &activation{
		facts:  types.NewRefValList(ad, views),
		holder: ad.NativeToValue(&holderVar{ID: h.ID, Home: res.Home, Region: rs.src.Region}),
		now:    types.Timestamp{Time: now},
		w:      w,
		t:      now,
		ad:     ad,
		all:    facts,
		views:  views,
		byKind: map[Kind][]int{},
	}
	all := make([]int, len(facts))
	for i := range facts {
		all[i] = i
		act.byKind[facts[i].Kind] = append(act.byKind[facts[i].Kind], i)
	}
	var lapsed time.Time
	for i := range rs.rules {
		r := &rs.rules[i]
		fail := func(clause string, err error) (Result, error) {
			return Result{}, &EvalError{Holder: h.ID, Region: rs.src.Region, Rule: r.Name, Clause: clause, Err: err}
		}
		if r.when != nil {
			act.f = nil
			v, err := eval(r.when, act, &res.Cost)
			if err != nil {
				return fail("when", err)
			}
			if v != types.True {
				continue
			}
		}
		var fd *Finding
		var lastStart time.Time
		tried := all
		if r.kind != "" {
			tried = act.byKind[r.kind] // match is false for the others
		}
		for _, j := range tried {
			act.f = views[j]
			v, err := eval(r.match, act, &res.Cost)
			if err != nil {
				return fail("match", err)
			}
			if v != types.True {
				continue
			}
			start := facts[j].At
			if r.from != nil {
				v, err := eval(r.from, act, &res.Cost)
				if err != nil {
					return fail("from", err)
				}
				ts, ok := v.(types.Timestamp)
				if !ok {
					return fail("from", fmt.Errorf("gave %v, want a time", v))
				}
				start = ts.Time.UTC()
			}
			if start.After(now) {
				continue // not begun yet
			}
			if r.per != Open && !start.Add(r.per).After(now) {
				if end := start.Add(r.per); end.After(lapsed) {
					lapsed = end
				}
				continue
			}
			if fd == nil {
				fd = &Finding{Rule: r.Name, Status: r.Status, Reason: r.Reason, Effective: start}
			}
			fd.Effective = minTime(fd.Effective, start)
			if start.After(lastStart) {
				lastStart = start
			}
			fd.Facts = append(fd.Facts, facts[j])
		}
		if fd == nil {
			continue
		}
		if r.per != Open {
			fd.Until = lastStart.Add(r.per)
		}
		if res.Rule == "" {
			res.Status, res.Reason, res.Rule = fd.Status, fd.Reason, fd.Rule
			res.Effective, res.Until, res.Facts, res.Say = fd.Effective, fd.Until, fd.Facts, r.Say
		} else {
			res.Also = append(res.Also, *fd)
		}
	}
	act.f = nil
	// When the deciding rule's period ends, the first later rule still
	// running decides; if it gives the same status, the status goes on
	// until that one ends, and so on: the holder is never green for a
	// moment between two reds.
	for !res.Until.IsZero() {
		var next *Finding
		for i := range res.Also {
			if a := &res.Also[i]; a.Until.IsZero() || a.Until.After(res.Until) {
				next = a
				break
			}
		}
		if next == nil || next.Status != res.Status {
			break
		}
		res.Until = next.Until
	}
	if res.Rule == "" {
		res.Status = status.Green
		if !lapsed.IsZero() {
			res.Reason, res.Effective = status.ReasonQuarantineEnded, lapsed
		}
	}
	return res, nil
}

// eval runs prg and adds its cost to *cost, failing past HolderCostLimit.
func eval(prg cel.Program, act *activation, cost *uint64) (ref.Val, error) {
	v, det, err := prg.Eval(act)
	if c := det.ActualCost(); c != nil {
		*cost += *c
	}
	if err != nil {
		return nil, err
	}
	if *cost > HolderCostLimit {
		return nil, ErrCost
	}
	return v, nil
}

// visible returns the facts at or before now, oldest first, with their
// area filled in from their site, keeping the newest MaxFacts.
func visible(in []Fact, areas *Areas, now time.Time) ([]Fact, int) {
	out := make([]Fact, 0, len(in))
	for _, f := range in {
		if f.At.After(now) {
			continue
		}
		if f.Area == "" && f.Site != "" {
			f.Area = areas.AreaOf(f.Site)
		}
		f.At = f.At.UTC()
		out = append(out, f)
	}
	slices.SortStableFunc(out, func(a, b Fact) int {
		return cmp.Or(a.At.Compare(b.At), strings.Compare(string(a.Kind), string(b.Kind)))
	})
	dropped := 0
	if len(out) > MaxFacts {
		dropped = len(out) - MaxFacts
		out = out[dropped:]
	}
	return out, dropped
}

// factView converts a fact for the rules.
func factView(f *Fact, areas *Areas, now time.Time) *factVar {
	v := &factVar{Kind: string(f.Kind), At: f.At, Area: f.Area, Site: f.Site, Value: f.Value, Until: f.Until, Source: f.Source, Risk: string(Low),
		InForce: f.Until.IsZero() || f.Until.After(now)}
	if v.Until.IsZero() {
		v.Until = time.Unix(0, 0).UTC()
	}
	if f.Kind == KindFever {
		v.Celsius = f.Celsius()
	}
	if f.Area != "" {
		v.Risk = string(areas.Level(f.Area, f.At))
	}
	return v
}

// manual returns the latest manual fact when it is in force at now: a
// later manual status replaces an earlier one, even when it has lapsed.
func manual(facts []Fact, now time.Time) (Fact, bool) {
	for i := len(facts) - 1; i >= 0; i-- {
		if f := facts[i]; f.Kind == KindManual {
			return f, f.Until.IsZero() || f.Until.After(now)
		}
	}
	return Fact{}, false
}

// homeOf returns the holder's home area at now: the latest home fact, or
// else the issuer of an ISSUER:INDEX holder when it is a known area (the
// issuer is a region id).
func homeOf(id string, facts []Fact, areas *Areas, now time.Time) string {
	if h := homeAt(facts, now); h != "" {
		return h
	}
	if issuer, _, ok := strings.Cut(id, ":"); ok && issuer != "p" {
		if _, known := areas.Area(issuer); known {
			return issuer
		}
	}
	return ""
}

func minTime(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}
