package gate

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"sentinel/crypto/credential"
	"sentinel/crypto/verify"
	"sentinel/internal/passage"
	"sentinel/internal/policy"
	"sentinel/internal/replay"
	"sentinel/sync/journal"
)

// run is one passage: verify, status, temperature, policy, journal, display
// and outputs. reject, when set, refuses the payload before verification
// (a scanner line too long, a damaged chunk).
func (g *Gate) run(ctx context.Context, l *lane, payload []byte, source string, reject credential.Reason) Result {
	l.mu.Lock()
	defer l.mu.Unlock()

	st := g.state.Load()
	now, trusted := g.opts.Clock.Now()
	start := time.Now()

	// Verify.
	var (
		cred *credential.Credential
		rej  *credential.Rejection // the verifier's refusal, for its detail and sentence
	)
	switch {
	case reject != "":
	case st.Verifier == nil:
		reject = credential.ReasonNoTrust
	default:
		vstart := time.Now()
		c, err := st.Verifier.Verify(payload, verify.Options{Now: now, Tolerance: st.Tolerance})
		g.metrics.observeVerify(time.Since(vstart))
		if err != nil {
			if reject = credential.ReasonOf(err); reject == "" {
				reject = credential.ReasonBadStructure
			}
			// AsType, not As: As's target, &rej, would move rej to the
			// heap on every passage.
			if r, ok := errors.AsType[*credential.Rejection](err); ok {
				rej = r
				// The detail names what failed, never the holder.
				g.logger.Info("code refused", "lane", l.cfg.Name, "reason", rej.Reason, "detail", rej.Detail)
			}
		} else {
			cred = c
			for _, w := range c.Warnings {
				g.logger.Warn("code accepted with a warning", "lane", l.cfg.Name, "format", c.Format, "warning", w)
			}
		}
	}
	// Status.
	var status policy.Status
	if cred != nil && st.Status != nil {
		status = st.Status.Lookup(cred, now)
	}
	// Replay: a code admitted here moments ago is not admitted again.
	var (
		rkey   replay.Key
		runtil time.Time
		reused bool
	)
	if cred != nil && g.opts.Replay != nil {
		rkey, runtil = replayKey(cred, payload, now, g.opts.ReplayWindow)
		reused = g.opts.Replay.Used(rkey, now)
	}
	verified := time.Since(start)

	// Temperature, while the person stands there.
	temp := passage.Temperature{State: passage.TempNotTaken}
	if cred != nil && !reused && l.cfg.Thermometer != nil {
		temp = measure(ctx, l.cfg.Thermometer)
	}

	// Policy.
	start = time.Now()
	in := &Input{
		Credential: cred, Rejection: reject, Status: status, Temperature: temp,
		ClockTrusted: trusted, Bundles: st.freshness(now), Enrolled: st.Enrolled && st.Verifier != nil,
		Site: st.Site, Lane: l.cfg.Name, Now: now,
	}
	var dec Decision
	switch {
	case reused:
		dec = Decision{Verdict: passage.Refer, Reasons: []string{string(credential.ReasonJustUsed)}}
	case st.Policy == nil:
		dec = Decision{Verdict: passage.Refer, Reasons: []string{ReasonNoPolicy}}
	default:
		dec = st.Policy.Decide(in)
	}
	if !dec.Verdict.Valid() {
		dec = Decision{Verdict: passage.Refer, Reasons: append([]string{ReasonNoPolicy}, dec.Reasons...)}
	}
	// A compound's exit keeps residents under quarantine in, whatever
	// the policy says of their colour, and refers visitors with such a
	// colour to the guard.
	q, quarantined := quarantineAtExit(&l.cfg, st.Site, cred, status, dec)
	if quarantined {
		dec = q.decision(dec)
	}
	// Reserve the code before the journal, so that another lane showing
	// it meanwhile is refused; the reservation is kept only if the
	// passage is recorded.
	reserved := false
	if dec.Verdict == passage.Admit && cred != nil && g.opts.Replay != nil {
		if reserved = g.opts.Replay.Reserve(rkey, now, runtil); !reserved {
			dec = Decision{Verdict: passage.Refer, Reasons: []string{string(credential.ReasonJustUsed)}, PolicyVersion: dec.PolicyVersion}
		}
	}
	if reused || (dec.Verdict == passage.Refer && !reserved && slices.Contains(dec.Reasons, string(credential.ReasonJustUsed))) {
		g.metrics.replays.Add(1)
	}
	decide := verified + time.Since(start)
	g.metrics.observeDecide(decide)

	p := &journal.Passage{
		Time: now, ClockTrusted: trusted, Lane: l.cfg.Name, Temperature: temp,
		Decision: dec.Verdict, Reasons: dec.Reasons, PolicyVersion: dec.PolicyVersion,
		Bundles: st.versions(),
	}
	if status.Overridden {
		p.StatusColour = status.Status
	}
	if reject != "" {
		p.Format, _ = verify.Detect(payload)
	}
	name := ""
	if cred != nil {
		p.Format, p.Issuer, p.KeyID, p.Holder, p.CodeColour = cred.Format, cred.Issuer, cred.KeyID, cred.Holder, cred.Colour
		name = cred.DisplayName
	}
	colour := dec.Colour
	if colour == credential.ColourNone {
		colour = p.CodeColour
		if status.Colour() != credential.ColourNone {
			colour = status.Colour()
		}
	}
	scope := overrideScopeOf(p, reject, status)
	shown := Shown{Lane: l.cfg.Name, Colour: colour, MaskedName: name, OverrideReasons: scope.reasons()}
	if dec.Refusal != nil && len(p.Reasons) > 0 &&
		strings.TrimPrefix(p.Reasons[0], policy.VerificationPrefix) == string(dec.Refusal.Reason) {
		// Policy refused a verified code for a failed EU business rule:
		// the guard reads the rule and its description.
		rej = dec.Refusal
		g.logger.Info("code refused by an EU business rule", "lane", l.cfg.Name, "rule", rej.Rule, "detail", rej.Detail)
	}
	if rej != nil && (rej.Field != "" || rej.Rule != "") && len(p.Reasons) > 0 &&
		strings.TrimPrefix(p.Reasons[0], policy.VerificationPrefix) == string(rej.Reason) {
		// A value-set refusal names the field and the code to the guard,
		// a business-rule refusal the rule and its description.
		shown.Message = map[string]string{"en": rej.Message("en"), "zh": rej.Message("zh")}
	}
	if m, ok := statusCauseMessage(p.Reasons, status); ok {
		// The status list turned the holder red or yellow: the guard
		// reads why, as the centre recorded it.
		shown.Message = m
	}
	if quarantined {
		shown.Message = q.message(st.Site.Location())
	}
	l.target = nil // this person replaces whoever was on screen
	r := g.commit(ctx, l, p, shown)
	r.Source, r.MaskedName, r.Decide = source, name, decide
	if reserved {
		if !r.Committed {
			g.opts.Replay.Release(rkey)
		} else if err := g.opts.Replay.Commit(rkey); err != nil {
			// The code stays used in memory; only a restart forgets it.
			g.logger.Error("replay memory not written: a restart would forget this code", "lane", l.cfg.Name, "error", err)
		}
	}
	if r.Committed && p.Decision != passage.Admit {
		l.target = &overrideTarget{passage: p, seq: r.Seq, name: name, scope: scope}
	}
	g.finish(r)
	return r
}

// replayKey returns the replay memory's key for an admitted credential and
// until when it is kept. A live presentation is one use per credential and
// time step, kept while it verifies; a static code is one use per
// credential, kept for window. The key hashes the credential's
// fingerprint (what its issuer signed), never the holder's identity: the
// file on the SD card names no one.
func replayKey(c *credential.Credential, payload []byte, now time.Time, window time.Duration) (replay.Key, time.Time) {
	h := sha256.New()
	until := now.Add(window)
	switch {
	case c.Fingerprint == [32]byte{}: // a verifier that sets none
		fmt.Fprintf(h, "payload\x00%s\x00", c.Format)
		h.Write(payload)
	case c.Rolling && !c.PresentedUntil.IsZero():
		fmt.Fprintf(h, "live\x00%d\x00", c.Presented.Unix())
		h.Write(c.Fingerprint[:])
		until = c.PresentedUntil
	default:
		h.Write([]byte("static\x00"))
		h.Write(c.Fingerprint[:])
	}
	var k replay.Key
	h.Sum(k[:0])
	return k, until
}

// measure takes the person's temperature. A result in no state the gate
// knows counts as a thermometer that failed.
func measure(ctx context.Context, th Thermometer) passage.Temperature {
	t := th.Measure(ctx)
	switch t.State {
	case passage.TempOK, passage.TempUnavailable, passage.TempRetake:
		return t
	}
	return passage.Temperature{State: passage.TempUnavailable, Fault: passage.FaultError}
}

// commit writes p to the journal, then shows it and drives the outputs:
// the relay only once the journal has committed. The journal keeps of the
// temperature only a reading (why none was taken is in the reason codes);
// the display is shown the temperature as it was taken.
func (g *Gate) commit(ctx context.Context, l *lane, p *journal.Passage, s Shown) Result {
	r := Result{Passage: p}
	seq, err := g.appendJournal(ctx, p)
	s.Verdict, s.Temperature, s.Reasons, s.At, s.Override = p.Decision, p.Temperature, p.Reasons, p.Time, p.Override
	if err != nil {
		s.OverrideReasons = nil // nothing recorded, nothing to override
		r.Err = &JournalError{Lane: l.cfg.Name, Err: err}
		g.metrics.journalFailures.Add(1)
		g.logger.Error("passage not recorded: gate kept shut", "lane", l.cfg.Name, "verdict", p.Decision, "error", err)
		s.Verdict, s.Manual = passage.Refer, true
		s.Reasons = append([]string{ReasonJournal}, p.Reasons...)
		s.Message = messageOf(s.Reasons)
		g.show(s)
		g.output(l, "fault", l.cfg.Outputs, func(o Outputs) error { return o.Fault() })
		return r
	}
	r.Seq, r.Committed = seq, true
	s.Seq = seq
	g.metrics.countPassage(p.Decision, p.Reasons)
	if s.Message == nil {
		s.Message = messageOf(s.Reasons)
	}
	g.show(s)
	if p.Decision == passage.Admit {
		g.output(l, "admit", l.cfg.Outputs, func(o Outputs) error { return o.Admit() })
	} else {
		g.output(l, "refuse", l.cfg.Outputs, func(o Outputs) error { return o.Refuse() })
	}
	return r
}

// appendJournal appends p to the journal and times the commit.
func (g *Gate) appendJournal(ctx context.Context, p *journal.Passage) (journal.Seq, error) {
	start := time.Now()
	seq, err := g.opts.Journal.Append(ctx, p)
	g.metrics.observeCommit(time.Since(start))
	return seq, err
}

// output drives a lane's outputs and logs their failure.
func (g *Gate) output(l *lane, what string, o Outputs, f func(Outputs) error) {
	if o == nil {
		return
	}
	if err := f(o); err != nil {
		g.metrics.outputFailures.Add(1)
		g.logger.Error("outputs failed", "lane", l.cfg.Name, "output", what, "error", err)
	}
}

// finish logs the passage and tells the observer.
func (g *Gate) finish(r Result) {
	p := r.Passage
	if g.logger.Enabled(context.Background(), slog.LevelInfo) {
		// Typed attributes: the passage's line costs no allocation of its
		// own before the handler formats it.
		attrs := make([]slog.Attr, 0, 9)
		attrs = append(attrs, slog.String("lane", p.Lane), slog.String("verdict", string(p.Decision)),
			slog.Any("reasons", p.Reasons), slog.String("format", string(p.Format)), slog.Bool("committed", r.Committed))
		if r.Committed {
			attrs = append(attrs, slog.Uint64("seq", uint64(r.Seq)))
		}
		if p.Override != nil {
			attrs = append(attrs, slog.String("guard", p.Override.Who), slog.String("override_reason", p.Override.Why), slog.Uint64("override_of", uint64(p.Override.Of)))
		}
		g.logger.LogAttrs(context.Background(), slog.LevelInfo, "passage", attrs...)
	}
	if g.opts.OnPassage != nil {
		g.opts.OnPassage(r)
	}
}
