package sweep

import (
	"context"
	"log/slog"
	"time"

	"sentinel/internal/central"
	"sentinel/internal/central/engine"
	"sentinel/internal/central/metrics"
	"sentinel/internal/central/statuspub"
)

// Runner is the code engine as serve runs it: sweeps after events (Events)
// and each scheduled round (Scheduled), published through Publisher and
// logged. serve and the end-to-end tests build the same Runner, so a test
// exercises the wiring the product runs.
type Runner struct {
	Store     central.Store
	Publisher *statuspub.Publisher
	// Logger gets what each sweep changed and why it failed (discarded
	// when nil).
	Logger *slog.Logger
	// Metrics counts the sweeps by trigger and outcome, their time, the
	// holders judged and the changes published (nothing when nil).
	Metrics *metrics.Metrics
}

// Events returns the event path: each event-started sweep runs at the
// publisher's clock. Start it, hand OnFever to the ingest
// (server.Config.OnFever), and Notify to whatever changes the engine's
// data (a case, a risk level, a whitelist entry, a site, a rule set): such
// a change sweeps everyone.
//
// A fever judges its holder alone (RunHolders), so that its delta does
// not wait for a sweep of everyone.
func (r *Runner) Events() *Events {
	e := NewEvents(func(ctx context.Context) {
		now, t0 := r.now(), time.Now()
		rep, err := Run(ctx, r.Store, r.Publisher, now, central.ChangeBy{Time: now, By: engine.SourceEngine, Why: "a change of the engine's data"})
		r.observe(ctx, metrics.TriggerEvent, now, t0, rep, err)
		r.report(ctx, rep, err, "after a change of the engine's data")
	})
	e.runHolders = func(ctx context.Context, holders []string) {
		now, t0 := r.now(), time.Now()
		rep, err := RunHolders(ctx, r.Store, r.Publisher, now, holders, central.ChangeBy{Time: now, By: engine.SourceEngine, Why: "a fever was recorded"})
		r.observe(ctx, metrics.TriggerFever, now, t0, rep, err)
		r.report(ctx, rep, err, "after a fever")
	}
	return e
}

// Scheduled is the sweep of each scheduled round
// (schedule.Options.Sweep): it returns the number of changes published.
func (r *Runner) Scheduled(ctx context.Context, now time.Time) (int, error) {
	start := time.Now()
	rep, err := Run(ctx, r.Store, r.Publisher, now, central.ChangeBy{Time: now, By: engine.SourceEngine, Why: "serve's scheduled sweep"})
	r.Metrics.ObserveSweep(metrics.Sweep{Trigger: metrics.TriggerScheduled, Took: time.Since(start), End: now.Add(time.Since(start)),
		Judged: rep.Judged, Changes: len(rep.Changes), Err: err})
	if len(rep.Errors) > 0 {
		r.logger().Warn("holders the colour rules could not judge keep their status", "component", "engine", "count", len(rep.Errors), "first", rep.Errors[0])
	}
	return len(rep.Changes), err
}

// report logs an event-started sweep: its failure (the scheduled round
// tries again), what it changed, the holders it could not judge.
func (r *Runner) report(ctx context.Context, rep Report, err error, after string) {
	log := r.logger()
	switch {
	case err != nil && ctx.Err() == nil:
		log.Error("the colour rules' sweep "+after+" failed; the next scheduled round tries again", "component", "engine", "error", err)
	case err == nil && len(rep.Changes) > 0:
		log.Info("statuses changed by the colour rules "+after, "component", "engine", "changed", len(rep.Changes), "status_version", rep.Published.Version)
	}
	if len(rep.Errors) > 0 {
		log.Warn("holders the colour rules could not judge keep their status", "component", "engine", "count", len(rep.Errors), "first", rep.Errors[0])
	}
}

// observe counts an event-started sweep that started at now (the
// publisher's clock) and t0 (the wall clock, for its time). A sweep cut
// short because serve stops is not counted as failed.
func (r *Runner) observe(ctx context.Context, trigger string, now, t0 time.Time, rep Report, err error) {
	if err != nil && ctx.Err() != nil {
		return
	}
	took := time.Since(t0)
	r.Metrics.ObserveSweep(metrics.Sweep{Trigger: trigger, Took: took, End: now.Add(took), Judged: rep.Judged, Changes: len(rep.Changes), Err: err})
}

func (r *Runner) now() time.Time {
	if r.Publisher != nil && r.Publisher.Now != nil {
		return r.Publisher.Now()
	}
	return time.Now()
}

func (r *Runner) logger() *slog.Logger {
	if r.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Logger
}

// OnFever reports a fever kept at ingest as an event: the signature of
// server.Config.OnFever.
func (e *Events) OnFever(f central.Fact) { e.NotifyHolder(f.Holder) }
