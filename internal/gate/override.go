package gate

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/sync/journal"
)

// What a guard may override. docs/override.md says the same to people.
//
//   - Only the lane's most recent passage, while the display still shows
//     it (Options.OverrideWindow, the display's hold), and only once. Any
//     later passage or event at the lane ends it.
//   - A referral (the rules ask the guard to look: a fever, a thermometer
//     fault, a stale bundle, an untrusted clock…): any reason on the list.
//   - A code that is not genuine (forged, altered, signed by a key this
//     terminal does not trust or that was withdrawn, revoked, a
//     screenshot of a live code): never, whatever the verdict. The guard
//     refuses entry and calls the supervisor.
//   - Any other refusal (a red or yellow code, a status the centre
//     changed, an expired code, a paper code the site does not accept, not
//     a health code): for an emergency only.

// overrideScope says which overrides a passage allows.
type overrideScope int

const (
	overrideNone      overrideScope = iota // admitted, or not genuine
	overrideEmergency                      // a refusal: an emergency only
	overrideAny                            // a referral: any reason
)

// notGenuine are the verifier's reasons that mean the code is forged,
// altered, withdrawn or a screenshot: no override admits it.
var notGenuine = []credential.Reason{
	credential.ReasonUnknownKey, credential.ReasonBadSignature, credential.ReasonBadAlgorithm,
	credential.ReasonKeyNotValid, credential.ReasonKeyRevoked, credential.ReasonKeyUsage,
	credential.ReasonRevoked, credential.ReasonBadIssuer,
	credential.ReasonLiveRequired, credential.ReasonLiveStale, credential.ReasonLiveSignature,
}

// overrideScopeOf says which overrides p allows, from what the verifier
// and the status list said.
func overrideScopeOf(p *journal.Passage, reject credential.Reason, status policy.Status) overrideScope {
	switch {
	case p.Decision == passage.Admit:
		return overrideNone
	case slices.Contains(notGenuine, reject), status.Revoked:
		return overrideNone
	case p.Decision == passage.Refer:
		return overrideAny
	default:
		return overrideEmergency
	}
}

// reasons returns the override reasons the scope allows, in the
// display's order.
func (s overrideScope) reasons() []string {
	switch s {
	case overrideAny:
		return OverrideReasons()
	case overrideEmergency:
		return []string{OverrideEmergency}
	}
	return nil
}

// overrideTarget is the passage a guard may override at a lane.
type overrideTarget struct {
	passage *journal.Passage
	seq     journal.Seq
	name    string
	scope   overrideScope
}

// Override reasons the journal gives a refused override attempt.
const (
	// ReasonWrongPIN: an override was attempted with a wrong PIN. The
	// record (a refusal carrying the override, without a guard) names the
	// passage the attempt was for.
	ReasonWrongPIN = "override-wrong-pin"
	// ReasonPINLockout: that wrong PIN locked overrides.
	ReasonPINLockout = "override-locked"
)

// Override admits the lane's last person, refused or referred, on the
// guard's PIN and a reason from OverrideReasons, under the rules at the
// top of this file. The override is written to the journal as a passage of
// its own, naming the passage it overrides, before the gate opens. A wrong
// PIN is journalled too, counts towards the lockout (see PINState) and
// returns ErrBadPIN, or a *LockedError when it starts a lockout.
func (g *Gate) Override(ctx context.Context, laneName, pin, reason string) (Result, error) {
	l := g.byName[laneName]
	if l == nil {
		return Result{}, fmt.Errorf("%w: %q", ErrUnknownLane, laneName)
	}
	if !validOverrideReason(reason) {
		return Result{}, fmt.Errorf("%w: %q", ErrOverrideReason, reason)
	}
	now, trusted := g.opts.Clock.Now()
	if err := g.pins.locked(now); err != nil {
		g.metrics.overridesRefused.Add(1)
		return Result{}, err
	}

	l.mu.Lock()
	defer l.mu.Unlock()
	t := l.target
	if t == nil || now.Sub(t.passage.Time) > g.opts.OverrideWindow || now.Before(t.passage.Time) {
		g.metrics.overridesRefused.Add(1)
		return Result{}, ErrNothingToOverride
	}
	switch {
	case t.scope == overrideNone:
		g.metrics.overridesRefused.Add(1)
		return Result{}, ErrNotOverridable
	case t.scope == overrideEmergency && reason != OverrideEmergency:
		g.metrics.overridesRefused.Add(1)
		return Result{}, ErrEmergencyOnly
	}
	st := g.state.Load()
	if st.Site == nil || len(st.Site.Guards) == 0 {
		g.metrics.overridesRefused.Add(1)
		g.logger.Warn("override refused: the site settings name no guard: publish a config bundle with [[guard]] blocks", "lane", laneName)
		return Result{}, ErrNoGuards
	}
	guard := ""
	if validPINFormat(pin) {
		guard = st.Site.GuardFor(pin)
	}
	if guard == "" {
		return Result{}, g.wrongPIN(ctx, l, t, reason, now, trusted)
	}
	g.pins.success()

	p := *t.passage
	p.Time, p.ClockTrusted = now, trusted
	p.Decision, p.Reasons = passage.Admit, []string{ReasonOverride}
	p.Bundles = st.versions()
	p.Override = &journal.Override{Who: guard, Why: reason, Of: t.seq}
	r := g.commit(ctx, l, &p, Shown{Lane: laneName, Colour: p.CodeColour, MaskedName: t.name})
	r.MaskedName = t.name
	if r.Committed {
		l.target = nil
		g.metrics.overrides.Add(1)
	}
	g.finish(r)
	return r, r.Err
}

// wrongPIN counts, journals and logs a wrong PIN. l.mu is held.
func (g *Gate) wrongPIN(ctx context.Context, l *lane, t *overrideTarget, reason string, now time.Time, trusted bool) error {
	g.metrics.overridesRefused.Add(1)
	g.metrics.pinFailures.Add(1)
	lockErr := g.pins.failure(now)
	reasons := []string{ReasonWrongPIN}
	if lockErr != nil {
		g.metrics.pinLockouts.Add(1)
		reasons = append(reasons, ReasonPINLockout)
	}
	// The record says that someone tried, when, where and for which
	// passage; it copies nobody's identity.
	p := &journal.Passage{
		Time: now, ClockTrusted: trusted, Lane: l.cfg.Name, Decision: passage.Deny, Reasons: reasons,
		Bundles:  g.state.Load().versions(),
		Override: &journal.Override{Why: reason, Of: t.seq},
	}
	seq, err := g.appendJournal(ctx, p)
	if err != nil {
		g.metrics.journalFailures.Add(1)
		g.logger.Error("wrong PIN not recorded in the journal", "lane", l.cfg.Name, "error", err)
	}
	if lockErr != nil {
		g.logger.Warn("override refused: wrong PIN: overrides locked", "lane", l.cfg.Name, "seq", seq,
			"locked_until", lockErr.Until, "lockout", lockErr.For)
		return lockErr
	}
	g.logger.Warn("override refused: wrong PIN", "lane", l.cfg.Name, "seq", seq)
	return ErrBadPIN
}

// PIN entry limits: a PIN is MinPINLength to MaxPINLength ASCII digits.
const (
	MinPINLength = 6
	MaxPINLength = 12
)

// validPINFormat reports whether pin could be a guard's PIN at all; a
// shorter one is refused as wrong without being checked.
func validPINFormat(pin string) bool {
	if len(pin) < MinPINLength || len(pin) > MaxPINLength {
		return false
	}
	for i := 0; i < len(pin); i++ {
		if pin[i] < '0' || pin[i] > '9' {
			return false
		}
	}
	return true
}

// The PIN lockout: MaxPINFailures wrong PINs in a row lock overrides for
// the next step of PINLockouts; a right PIN, or a day without a wrong one,
// starts again from the first step.
const MaxPINFailures = 5

// PINLockouts are the lockout steps; past the last, the last repeats.
var PINLockouts = []time.Duration{time.Minute, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour, 8 * time.Hour, 24 * time.Hour}

// pinForget is how long after the last wrong PIN the count starts again.
const pinForget = 24 * time.Hour

// PINState is the lockout's state. The daemon keeps it under the data
// directory (Options.PINState, Options.SavePINState), so that a restart
// does not clear it.
type PINState struct {
	// Failures are the wrong PINs since the last lockout or right PIN.
	Failures int `json:"failures"`
	// Level is how many lockouts happened in a row: the next is
	// PINLockouts[Level].
	Level int `json:"level"`
	// LastFailure is when the last wrong PIN was entered.
	LastFailure time.Time `json:"last_failure,omitzero"`
	// LockedUntil is when the lockout ends; LockedFor how long it was
	// set for, which bounds it when the clock jumps back.
	LockedUntil time.Time     `json:"locked_until,omitzero"`
	LockedFor   time.Duration `json:"locked_for,omitempty"`
}

// LockedError is the answer while overrides are locked.
type LockedError struct {
	Until time.Time     // when overrides are possible again
	For   time.Duration // the lockout's length
	Wait  time.Duration // from now
}

func (e *LockedError) Error() string {
	return fmt.Sprintf("gate: too many wrong PINs: overrides are locked for %s more (a lockout of %s)", e.Wait.Round(time.Second), e.For)
}

// Unwrap returns ErrOverrideLocked.
func (e *LockedError) Unwrap() error { return ErrOverrideLocked }

// RetryAfter is how long to wait.
func (e *LockedError) RetryAfter() time.Duration { return e.Wait }

// pinLimiter counts wrong PINs and locks overrides.
type pinLimiter struct {
	mu    sync.Mutex
	st    PINState
	save  func(PINState) error
	onErr func(error)
}

// locked returns a *LockedError while overrides are locked.
func (p *pinLimiter) locked(now time.Time) *LockedError {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st.LockedUntil.IsZero() || !now.Before(p.st.LockedUntil) {
		return nil
	}
	wait := p.st.LockedUntil.Sub(now)
	if p.st.LockedFor > 0 && wait > p.st.LockedFor {
		// The clock went back: the lockout lasts its length from now,
		// never longer.
		p.st.LockedUntil, wait = now.Add(p.st.LockedFor), p.st.LockedFor
		p.persist()
	}
	return &LockedError{Until: p.st.LockedUntil, For: p.st.LockedFor, Wait: wait}
}

// failure counts a wrong PIN; it returns the lockout it starts, if any.
func (p *pinLimiter) failure(now time.Time) *LockedError {
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.st.LastFailure.IsZero() && now.Sub(p.st.LastFailure) >= pinForget {
		p.st.Failures, p.st.Level = 0, 0
	}
	p.st.Failures++
	p.st.LastFailure = now
	var err *LockedError
	if p.st.Failures >= MaxPINFailures {
		d := PINLockouts[min(p.st.Level, len(PINLockouts)-1)]
		p.st.Failures, p.st.Level = 0, p.st.Level+1
		p.st.LockedUntil, p.st.LockedFor = now.Add(d), d
		err = &LockedError{Until: p.st.LockedUntil, For: d, Wait: d}
	}
	p.persist()
	return err
}

// success forgets the wrong PINs.
func (p *pinLimiter) success() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.st == (PINState{}) {
		return
	}
	p.st = PINState{}
	p.persist()
}

// persist saves the state. p.mu is held.
func (p *pinLimiter) persist() {
	if p.save == nil {
		return
	}
	if err := p.save(p.st); err != nil && p.onErr != nil {
		p.onErr(err)
	}
}

// OverridesLockedUntil returns when overrides can be tried again after too
// many wrong PINs, or the zero time when they are not locked at now.
func (g *Gate) OverridesLockedUntil(now time.Time) time.Time {
	if le := g.pins.locked(now); le != nil {
		return le.Until
	}
	return time.Time{}
}
