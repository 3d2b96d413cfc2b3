package schedule

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/bundles"
	"sentinel/internal/central/statuspub"
)

// Defaults of Options.
const (
	DefaultInterval  = 10 * time.Minute
	DefaultBaseEvery = 24 * time.Hour
	DefaultLongChain = 200
	// DefaultRetentionEvery is how often the stores' retention runs.
	DefaultRetentionEvery = time.Hour
	// delegationWarning is how long before its delegation ends the
	// scheduler starts warning that the signing key needs a new one.
	delegationWarning = 14 * 24 * time.Hour
)

// resigned are the kinds the scheduler re-signs as they are; the status
// kinds are republished as a base instead.
var resigned = []trust.Kind{trust.KindTrust, trust.KindPolicy, trust.KindConfig}

// Store is a central store whose passages expire: Purge removes what
// happened before horizon and says how much (records or partitions).
// Expire, when set, removes the rest of what it keeps past retention:
// the code engine's facts and the lapsed statuses at the passages'
// horizon, the audit log and the engine's change records at the audit
// horizon (central.Expirer).
type Store struct {
	Name   string
	Purge  func(ctx context.Context, horizon time.Time) (int, error)
	Expire func(ctx context.Context, h central.Horizons) (central.Expired, error)
}

// Options configure a Scheduler.
type Options struct {
	// Publisher publishes the status and signs every re-signed bundle
	// with its Signer; nil publishes and re-signs nothing (retention
	// only).
	Publisher *statuspub.Publisher
	// BaseEvery is the longest time between status bases
	// (DefaultBaseEvery when 0).
	BaseEvery time.Duration
	// LongChain is the delta chain length at which a base replaces the
	// chain (DefaultLongChain when 0).
	LongChain int
	// Retention is how long the stores keep passages, the code
	// engine's facts after they ended and status entries and
	// revocations after they lapsed; 0 keeps them forever.
	Retention time.Duration
	// AuditRetention is how long the stores keep the audit log's
	// entries and the engine's change records; 0 keeps them forever.
	AuditRetention time.Duration
	// FactsNeeded, when set, says how far back the deployed rule sets
	// read the code engine's facts (sweep.FactsNeeded): retention never
	// removes a fact younger than lookback, whatever Retention says, and
	// none by its age while keep names a rule that gives a status with
	// no end. When it fails, no fact is removed that round.
	FactsNeeded func(ctx context.Context) (lookback time.Duration, keep string, err error)
	// RetentionEvery is how often retention runs
	// (DefaultRetentionEvery when 0).
	RetentionEvery time.Duration
	// Stores are purged past Retention.
	Stores []Store
	// Interval is the time between ticks (DefaultInterval when 0).
	Interval time.Duration
	// Sweep, when set, runs the code engine's sweep at the start of each
	// round (see package sweep): it publishes what the rules give through
	// Publisher and returns how many statuses changed. It needs a
	// Publisher.
	Sweep func(ctx context.Context, now time.Time) (changed int, err error)
	// Now is the clock (time.Now when nil); it must be the Publisher's.
	Now func() time.Time
	// Logger gets what the scheduler did (discarded when nil).
	Logger *slog.Logger
}

// Report says what one tick did.
type Report struct {
	// Status is the status base published, with Why; nil when none.
	Status *bundles.Entry
	Why    string
	// Resigned are the bundles re-signed.
	Resigned []bundles.Entry
	// Purged counts what each store purged, by its name.
	Purged map[string]int
	// Expired says what each store's Expire removed, by its name.
	Expired map[string]central.Expired
	// Swept counts the statuses the code engine's sweep changed.
	Swept int
}

// Scheduler keeps the centre's bundles fresh and its stores within their
// retention. Tick runs one round; Start runs rounds on a timer.
type Scheduler struct {
	opts   Options
	logger *slog.Logger

	mu          sync.Mutex
	lastPurge   time.Time
	warned      map[string]bool // "kind/version" already warned about
	warnedDeleg time.Time

	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// New returns a Scheduler; Start runs it.
func New(opts Options) (*Scheduler, error) {
	if opts.Publisher == nil && (opts.Retention <= 0 && opts.AuditRetention <= 0 || len(opts.Stores) == 0) {
		return nil, errors.New("schedule: nothing to do: no publisher and no retention")
	}
	if opts.Retention < 0 {
		return nil, fmt.Errorf("schedule: retention %v is negative", opts.Retention)
	}
	if opts.AuditRetention < 0 {
		return nil, fmt.Errorf("schedule: audit retention %v is negative", opts.AuditRetention)
	}
	if opts.Publisher != nil && opts.Publisher.Signer.Key == nil {
		return nil, errors.New("schedule: the publisher has no signing key")
	}
	if opts.Publisher != nil && opts.Publisher.Store == nil {
		return nil, errors.New("schedule: the publisher has no store")
	}
	if opts.Sweep != nil && opts.Publisher == nil {
		return nil, errors.New("schedule: a sweep publishes statuses and needs a publisher")
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultInterval
	}
	if opts.BaseEvery <= 0 {
		opts.BaseEvery = DefaultBaseEvery
	}
	if opts.LongChain <= 0 {
		opts.LongChain = DefaultLongChain
	}
	if opts.RetentionEvery <= 0 {
		opts.RetentionEvery = DefaultRetentionEvery
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Scheduler{opts: opts, logger: logger, warned: map[string]bool{}}, nil
}

// Start runs a tick now and then every Interval until Stop or until ctx
// ends. A failing tick is logged and the next one tries again.
func (s *Scheduler) Start(ctx context.Context) {
	ctx, s.cancel = context.WithCancel(ctx)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTimer(0)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			if _, err := s.Tick(ctx); err != nil && ctx.Err() == nil {
				s.logger.Error("scheduled round failed; retrying at the next", "error", err, "next", s.opts.Interval)
			}
			t.Reset(s.opts.Interval)
		}
	}()
}

// Stop ends the rounds and waits for the one running.
func (s *Scheduler) Stop() {
	if s.cancel != nil {
		s.cancel()
	}
	s.wg.Wait()
}

// Tick runs one round: sweep (when Sweep is set), re-sign what is
// half-way through its fresh window,
// republish the status base when due, apply retention when due. It does
// every part even when one fails and returns the failures joined.
func (s *Scheduler) Tick(ctx context.Context) (Report, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rep := Report{Purged: map[string]int{}, Expired: map[string]central.Expired{}}
	var errs []error
	if s.opts.Sweep != nil {
		n, err := s.opts.Sweep(ctx, s.opts.Now())
		rep.Swept = n
		if err != nil {
			errs = append(errs, fmt.Errorf("the code engine's sweep: %w", err))
		} else if n > 0 {
			s.logger.Info("statuses changed by the colour rules", "changed", n)
		}
	}
	if s.opts.Publisher != nil {
		why, err := s.resign(ctx, &rep)
		if err != nil {
			errs = append(errs, err)
		}
		if why != "" {
			res, err := s.opts.Publisher.PublishBase(ctx, why)
			if err != nil {
				errs = append(errs, fmt.Errorf("republish the status base (%s): %w", why, err))
			} else {
				rep.Status, rep.Why = &res.Bundle, why
				s.logger.Info("status base republished", "version", res.Bundle.Version, "why", why,
					"fresh_until", res.Bundle.FreshUntil, "took", res.Took)
			}
		}
	}
	if err := s.retain(ctx, &rep); err != nil {
		errs = append(errs, err)
	}
	return rep, errors.Join(errs...)
}

// halfFresh reports whether e is half-way (or more) through its fresh
// window at now.
func halfFresh(e bundles.Entry, now time.Time) bool {
	return !now.Before(e.IssuedAt.Add(e.FreshUntil.Sub(e.IssuedAt) / 2))
}

// resign re-signs the trust, policy and config bundles that are due,
// under the repository's lock, and says why the status base is due (""
// when it is not).
func (s *Scheduler) resign(ctx context.Context, rep *Report) (why string, err error) {
	p := s.opts.Publisher
	err = p.Locked(func(repo *bundles.Repo) error {
		now := s.opts.Now()
		s.checkDelegation(now)
		var errs []error
		for _, e := range repo.List() {
			if !slices.Contains(resigned, e.Kind) || !halfFresh(e, now) {
				continue
			}
			ne, err := s.resignOne(repo, e, now)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if ne != nil {
				rep.Resigned = append(rep.Resigned, *ne)
			}
		}
		c := statuspub.ChainOf(repo)
		var reasons []string
		switch {
		case c.Base.Version == 0:
			reasons = append(reasons, "no status base is published yet")
		case !now.Before(c.Base.IssuedAt.Add(s.opts.BaseEvery)):
			reasons = append(reasons, fmt.Sprintf("the base is %v old (republished every %v)", now.Sub(c.Base.IssuedAt).Round(time.Minute), s.opts.BaseEvery))
		}
		if len(c.Deltas) >= s.opts.LongChain {
			reasons = append(reasons, fmt.Sprintf("the chain holds %d deltas", len(c.Deltas)))
		}
		if n := c.Newest(); n.Version != 0 && halfFresh(n, now) {
			reasons = append(reasons, fmt.Sprintf("the newest status bundle (version %d) leaves fresh at %s", n.Version, n.FreshUntil.Format(time.RFC3339)))
		}
		if c.Base.Version != 0 {
			err := p.Store.ViewStatus(ctx, func(r central.StatusReader) error {
				entries, revs, err := r.LapsedBetween(ctx, c.Base.IssuedAt, now)
				if err == nil && entries+revs > 0 {
					reasons = append(reasons, fmt.Sprintf("%d status entries and %d EU DCC revocations lapsed since the base", entries, revs))
				}
				return err
			})
			if err != nil {
				errs = append(errs, err)
			}
		}
		why = strings.Join(reasons, "; ")
		return errors.Join(errs...)
	})
	return why, err
}

// resignOne publishes e's payload again, signed now, with e's windows. A
// kind the key may not sign is logged once per version and skipped.
func (s *Scheduler) resignOne(repo *bundles.Repo, e bundles.Entry, now time.Time) (*bundles.Entry, error) {
	sg := s.opts.Publisher.Signer
	if d := sg.Delegation; d != nil && !slices.Contains(d.Kinds, e.Kind) {
		key := fmt.Sprintf("%s/%d", e.Kind, e.Version)
		if !s.warned[key] {
			s.warned[key] = true
			s.logger.Warn("cannot re-sign a bundle: the signing key's delegation does not allow its kind; publish it again by hand before it leaves fresh, or delegate the key for it",
				"kind", e.Kind, "version", e.Version, "fresh_until", e.FreshUntil, "delegated_kinds", d.Kinds,
				"fix", "sentinel-central trust delegate --kinds trust,status-base,status-delta,policy,config ...")
		}
		return nil, nil
	}
	pub, err := repo.Latest(e.Kind)
	if err != nil || pub == nil {
		return nil, fmt.Errorf("re-sign %s: the published bundle is missing: %v", e.Kind, err)
	}
	b, _, err := trust.OpenBundle(pub.Data, s.opts.Publisher.Root, now, trust.State{})
	if err != nil {
		return nil, fmt.Errorf("re-sign %s version %d: the published bundle does not open: %w", e.Kind, e.Version, err)
	}
	fresh, grace := e.FreshUntil.Sub(e.IssuedAt), e.GraceUntil.Sub(e.IssuedAt)
	ne, err := repo.Publish(e.Kind, b.Payload, sg.Key, sg.Delegation, fresh, grace)
	if err != nil {
		return nil, fmt.Errorf("re-sign %s version %d: %w", e.Kind, e.Version, err)
	}
	s.logger.Info("bundle re-signed", "kind", ne.Kind, "version", ne.Version, "was", e.Version, "fresh_until", ne.FreshUntil)
	return &ne, nil
}

// checkDelegation warns once a day when the signing key's delegation ends
// within delegationWarning.
func (s *Scheduler) checkDelegation(now time.Time) {
	d := s.opts.Publisher.Signer.Delegation
	if d == nil || d.Validity.NotAfter.IsZero() || d.Validity.NotAfter.Sub(now) > delegationWarning {
		return
	}
	if !s.warnedDeleg.IsZero() && now.Sub(s.warnedDeleg) < 24*time.Hour {
		return
	}
	s.warnedDeleg = now
	s.logger.Warn("the signing key's delegation ends soon: after it, nothing is re-signed and terminals refuse new bundles; have the root delegate the key again and restart serve with the new --delegation",
		"kid", d.KID, "valid_to", d.Validity.NotAfter)
}

// retain purges every store past the retention horizon, and expires
// what else it keeps (Store.Expire), at most once per RetentionEvery.
func (s *Scheduler) retain(ctx context.Context, rep *Report) error {
	if s.opts.Retention <= 0 && s.opts.AuditRetention <= 0 || len(s.opts.Stores) == 0 {
		return nil
	}
	now := s.opts.Now()
	if !s.lastPurge.IsZero() && now.Sub(s.lastPurge) < s.opts.RetentionEvery {
		return nil
	}
	var h central.Horizons
	if s.opts.Retention > 0 {
		h.Facts = now.Add(-s.opts.Retention)
		h.Statuses = h.Facts
	}
	if s.opts.AuditRetention > 0 {
		h.Audit = now.Add(-s.opts.AuditRetention)
	}
	var errs []error
	if !h.Facts.IsZero() && s.opts.FactsNeeded != nil {
		h.Facts, errs = s.factsHorizon(ctx, now, h.Facts)
	}
	for _, st := range s.opts.Stores {
		if s.opts.Retention > 0 && st.Purge != nil {
			horizon := now.Add(-s.opts.Retention) // the passages', whatever the rules read of the facts
			n, err := st.Purge(ctx, horizon)
			if err != nil {
				errs = append(errs, fmt.Errorf("retention of %s before %s: %w", st.Name, horizon.Format(time.RFC3339), err))
			} else {
				rep.Purged[st.Name] = n
				if n > 0 {
					s.logger.Info("passages past the retention purged", "store", st.Name, "before", horizon, "purged", n)
				}
			}
		}
		if st.Expire == nil {
			continue
		}
		n, err := st.Expire(ctx, h)
		rep.Expired[st.Name] = n
		if err != nil {
			errs = append(errs, fmt.Errorf("retention of %s's facts, statuses and audit: %w", st.Name, err))
			continue
		}
		if n.Total() > 0 {
			s.logger.Info("facts, lapsed statuses and audit records past the retention removed", "store", st.Name,
				"facts_before", h.Facts, "audit_before", h.Audit, "facts", n.Facts, "statuses", n.Statuses,
				"revocations", n.Revocations, "audit", n.Audit, "engine_changes", n.Changes)
		}
	}
	if len(errs) == 0 {
		s.lastPurge = now
	}
	return errors.Join(errs...)
}

// factsHorizon returns the facts' horizon at now: horizon, or earlier
// when the deployed rule sets still read facts older than it
// (Options.FactsNeeded), or none when they read facts however old or
// cannot be read.
func (s *Scheduler) factsHorizon(ctx context.Context, now, horizon time.Time) (time.Time, []error) {
	lookback, keep, err := s.opts.FactsNeeded(ctx)
	switch {
	case err != nil:
		return time.Time{}, []error{fmt.Errorf("retention keeps every code engine fact this round: %w", err)}
	case keep != "":
		s.logger.Warn("retention keeps every code engine fact: a deployed rule gives a status with no end from facts, so removing old ones would change statuses; give the rule a period (for 14d) to let old facts go",
			"rule", keep)
		return time.Time{}, nil
	}
	if h := now.Add(-lookback); h.Before(horizon) {
		s.logger.Warn("code engine facts kept longer than --retention: a deployed rule set looks back further",
			"lookback", lookback, "retention", s.opts.Retention, "facts_before", h)
		return h, nil
	}
	return horizon, nil
}
