package schedule_test

import (
	"context"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/schedule"
	"sentinel/internal/central/sweep"
	"sentinel/internal/status"
)

// TestRetentionExpires: the scheduler's retention removes the code
// engine's facts and the lapsed statuses once the passages' retention has
// passed since they ended, and the audit log's entries once the audit
// retention has passed, each at the first round after, not before.
func TestRetentionExpires(t *testing.T) {
	ctx := context.Background()
	r := newRig(t, nil)
	st := memstore.New(r.clk.Now)
	const day = 24 * time.Hour
	err := st.UpdateEngine(ctx, func(tx central.EngineTx) error {
		_, err := tx.AddFact(ctx, central.Fact{Holder: "ZJ:1", Kind: central.FactConfirmed, At: t0.Add(-6 * day), Source: "ops:olga"},
			central.ChangeBy{Time: t0.Add(-29*day + 2*time.Hour), By: "ops:olga"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	err = st.UpdateStatus(ctx, func(tx central.StatusTx) error {
		h, err := credential.ParseHolderID("ZJ:1")
		if err != nil {
			return err
		}
		_, _, err = tx.SetStatus(ctx, central.StatusEntry{Holder: h, Status: status.Red, Effective: t0.Add(-20 * day),
			Until: t0.Add(-6 * day), Source: "engine", SetAt: t0.Add(-20 * day)})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	audit := central.AuditEntry{Time: t0.Add(-29*day + 2*time.Hour), Operator: "olga", Action: central.AuditTrace,
		Purpose: "case 7", Query: central.AuditQuery{Holder: "ZJ:1"}, Store: "memory"}
	if err := st.AppendAudit(ctx, audit); err != nil {
		t.Fatal(err)
	}
	s, err := schedule.New(schedule.Options{Retention: 7 * day, AuditRetention: 30 * day, Now: r.clk.Now,
		Stores: []schedule.Store{{Name: "mem", Expire: st.Expire}}})
	if err != nil {
		t.Fatal(err)
	}
	count := func() (facts, statuses, audits int) {
		t.Helper()
		err := st.ViewEngine(ctx, func(r central.EngineReader) error {
			fs, err := r.AllFacts(ctx)
			facts = len(fs)
			return err
		})
		if err == nil {
			err = st.ViewStatus(ctx, func(r central.StatusReader) error {
				statuses, _, err = r.Counts(ctx)
				return err
			})
		}
		es, aerr := st.Audit(ctx, central.AuditFilter{})
		if err != nil || aerr != nil {
			t.Fatal(err, aerr)
		}
		return facts, statuses, len(es)
	}

	// Within every retention: everything stays.
	if rep := tick(t, s); rep.Expired["mem"].Total() != 0 {
		t.Fatalf("first round removed %+v, want nothing", rep.Expired)
	}
	if f, st, a := count(); f != 1 || st != 1 || a != 1 {
		t.Fatalf("after the first round: %d facts, %d statuses, %d audit entries; want 1 each", f, st, a)
	}
	// A day and an hour later the fact and the lapsed status are past
	// the 7 days; the audit entry is an hour short of its 30.
	r.clk.Add(day + time.Hour)
	rep := tick(t, s)
	if got := rep.Expired["mem"]; got != (central.Expired{Facts: 1, Statuses: 1}) {
		t.Fatalf("second round removed %+v, want the fact and the status", got)
	}
	if f, st, a := count(); f != 0 || st != 0 || a != 1 {
		t.Fatalf("after the second round: %d facts, %d statuses, %d audit entries; want 0, 0, 1", f, st, a)
	}
	// Two hours on, the audit entry is past its retention.
	r.clk.Add(2 * time.Hour)
	if got := tick(t, s).Expired["mem"]; got.Audit != 1 || got.Changes != 1 {
		t.Fatalf("third round removed %+v, want the audit entry and the engine's change record", got)
	}
	if _, _, a := count(); a != 0 {
		t.Fatalf("after the third round: %d audit entries, want 0", a)
	}
}

// TestRetentionKeepsFactsTheRulesRead: retention never removes a fact
// that a deployed rule set still reads. With --retention 7d and a rule
// whose red lasts 30 days, a confirmed case of 10 days ago is what keeps
// its holder red: it stays until the rule no longer reads it. A rule with
// no end (for open) keeps every fact.
func TestRetentionKeepsFactsTheRulesRead(t *testing.T) {
	const day = 24 * time.Hour
	for _, tc := range []struct {
		name, period string
		goneAfter    time.Duration // the fact goes on the first round after this, 0: never
	}{
		{"30d", "30d", 21 * day},
		{"open", "open", 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			r := newRig(t, nil)
			st := memstore.New(r.clk.Now)
			src := "region ZJ\nversion 1\nrule confirmed\n  match f.kind == \"confirmed\"\n  red confirmed\n  for " + tc.period + "\n"
			err := st.UpdateEngine(ctx, func(tx central.EngineTx) error {
				by := central.ChangeBy{Time: t0.Add(-20 * day), By: "ops:olga"}
				if _, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "ZJ", Label: "1", Source: []byte(src)}, by); err != nil {
					return err
				}
				_, err := tx.AddFact(ctx, central.Fact{Holder: "ZJ:1", Kind: central.FactConfirmed, At: t0.Add(-10 * day), Source: "ops:olga"}, by)
				return err
			})
			if err != nil {
				t.Fatal(err)
			}
			s, err := schedule.New(schedule.Options{Retention: 7 * day, Now: r.clk.Now, RetentionEvery: time.Hour,
				FactsNeeded: func(ctx context.Context) (time.Duration, string, error) { return sweep.FactsNeeded(ctx, st) },
				Stores: []schedule.Store{{Name: "mem", Expire: st.Expire, Purge: func(ctx context.Context, horizon time.Time) (int, error) {
					// The passages keep their own retention.
					if want := r.clk.Now().Add(-7 * day); !horizon.Equal(want) {
						t.Errorf("passages purged before %s, want %s (--retention)", horizon, want)
					}
					return 0, nil
				}}}})
			if err != nil {
				t.Fatal(err)
			}
			facts := func() int {
				t.Helper()
				var n int
				err := st.ViewEngine(ctx, func(r central.EngineReader) error {
					fs, err := r.AllFacts(ctx)
					n = len(fs)
					return err
				})
				if err != nil {
					t.Fatal(err)
				}
				return n
			}
			// The fact is 10 days old, past the 7 days of retention, but
			// the rule reads it for its period: a round each day checks
			// that it stays until the rule no longer reads it.
			for step := day; step <= 40*day; step += day {
				if _, err := s.Tick(ctx); err != nil {
					t.Fatal(err)
				}
				gone := facts() == 0
				if want := tc.goneAfter != 0 && step > tc.goneAfter; gone != want {
					t.Fatalf("%v after the first round: fact gone %v, want %v (the rule reads it for %s)", step-day, gone, want, tc.period)
				}
				r.clk.Add(day)
			}
		})
	}
}
