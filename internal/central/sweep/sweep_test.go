package sweep_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/internal/central"
	"sentinel/internal/central/appeal"
	"sentinel/internal/central/bundles/bundlestest"
	"sentinel/internal/central/memstore"
	"sentinel/internal/central/statuspub"
	"sentinel/internal/central/sweep"
	"sentinel/internal/status"
)

// TestFeverToDelta follows a fever from the ingest's hook to a published
// status: Hubei's rules, a fever kept at ingest (central.KeepFevers, as
// syncstore does) at a Wuhan checkpoint, the hook notifies the event
// runner, whose sweep publishes the holder red at once; a fever at a
// Yichang checkpoint gives withheld. A negative test afterwards and the
// next sweep publish the Yichang holder green again.
func TestFeverToDelta(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		now := time.Now().UTC()
		st, pub, by := hubei(t, now)
		// serve's event path.
		var logs bytes.Buffer
		ev := (&sweep.Runner{Store: st, Publisher: pub, Logger: slog.New(slog.NewTextHandler(&logs, nil))}).Events()
		ev.Start(ctx)
		defer ev.Stop()
		fever := func(holder, site string, seq uint64) central.Fact {
			return central.Fact{Holder: holder, Kind: central.FactFever, At: now.Add(-time.Minute), Site: site,
				Temperature: physic.ZeroCelsius + 38400*physic.MilliKelvin, Source: central.FeverSource("T1", central.Epoch{1}, seq)}
		}
		added, _, _, err := central.KeepFevers(ctx, st, []central.Fact{fever("HB:1", "CP-WH", 1), fever("HB:2", "CP-YC", 2)}, central.ChangeBy{Time: now, By: "ingest"})
		if err != nil || len(added) != 2 {
			t.Fatalf("kept %d fevers: %v", len(added), err)
		}
		for _, f := range added {
			ev.OnFever(f) // the ingest's hook
		}
		synctest.Wait()
		// The runner starts a sweep at the first hook, so the second one
		// comes before or during that sweep, as the goroutines happen to
		// run: one sweep of both holders, or one of HB:1 and one more of
		// HB:2. Either way each status changes once and nothing fails.
		if sweeps, changed := feverSweeps(logs.String()); sweeps < 1 || sweeps > 2 || changed != 2 || strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("two fevers of one upload: %d sweeps changed %d statuses, want 1 or 2 sweeps changing each holder's once, with no error:\n%s", sweeps, changed, logs.String())
		}
		want := func(h string, s status.Status, reason status.Reason) {
			t.Helper()
			holder, _ := credential.ParseHolderID(h)
			e, ok, err := st.StatusOf(ctx, holder)
			if err != nil || !ok || e.Status != s || e.Reason != byte(reason) || e.Source != "engine" {
				t.Errorf("%s: %+v (%v, %v), want %s (%s) by the engine", h, e, ok, err, s, reason)
			}
		}
		want("HB:1", status.Red, status.ReasonFever)
		want("HB:2", status.Withheld, status.ReasonFever)
		// A negative test clears the Yichang fever at the next sweep.
		time.Sleep(time.Hour)
		err = st.UpdateEngine(ctx, func(tx central.EngineTx) error {
			_, err := tx.AddFact(ctx, central.Fact{Holder: "HB:2", Kind: central.FactTestNegative, At: time.Now().Add(-time.Minute), Source: "import:tests.csv:2"}, by)
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
		ev.Notify()
		synctest.Wait()
		want("HB:2", status.Green, status.ReasonUnspecified)
		want("HB:1", status.Red, status.ReasonFever)
	})
}

// TestFeversOfOneUploadOneSweep: fevers reported while the runner has
// not yet taken the first are judged by one sweep. Both hooks run here
// before the runner starts, so this holds under any scheduling (in
// TestFeverToDelta the runner may already sweep the first fever).
func TestFeversOfOneUploadOneSweep(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		now := time.Now().UTC()
		st, pub, _ := hubei(t, now)
		var logs bytes.Buffer
		ev := (&sweep.Runner{Store: st, Publisher: pub, Logger: slog.New(slog.NewTextHandler(&logs, nil))}).Events()
		defer ev.Stop()
		var fevers []central.Fact
		for i, site := range []string{"CP-WH", "CP-YC"} {
			fevers = append(fevers, central.Fact{Holder: fmt.Sprintf("HB:%d", i+1), Kind: central.FactFever, At: now.Add(-time.Minute), Site: site,
				Temperature: physic.ZeroCelsius + 38400*physic.MilliKelvin, Source: central.FeverSource("T1", central.Epoch{1}, uint64(i+1))})
		}
		added, _, _, err := central.KeepFevers(ctx, st, fevers, central.ChangeBy{Time: now, By: "ingest"})
		if err != nil || len(added) != 2 {
			t.Fatalf("kept %d fevers: %v", len(added), err)
		}
		for _, f := range added {
			ev.OnFever(f)
		}
		ev.Start(ctx)
		synctest.Wait()
		if sweeps, changed := feverSweeps(logs.String()); sweeps != 1 || changed != 2 || strings.Contains(logs.String(), "level=ERROR") {
			t.Errorf("two fevers pending: %d sweeps changed %d statuses, want 1 sweep changing 2 with no error:\n%s", sweeps, changed, logs.String())
		}
	})
}

// feverSweeps counts the fever sweeps that changed statuses in a Runner's
// text log, and the statuses they changed in all.
func feverSweeps(log string) (sweeps, changed int) {
	for _, line := range strings.Split(log, "\n") {
		if !strings.Contains(line, "statuses changed by the colour rules after a fever") {
			continue
		}
		sweeps++
		if m := changedRE.FindStringSubmatch(line); m != nil {
			n, _ := strconv.Atoi(m[1])
			changed += n
		}
	}
	return sweeps, changed
}

var changedRE = regexp.MustCompile(` changed=(\d+) `)

// TestFeverOfThisSecond: the event sweep runs a moment after the ingest
// kept a fever, usually within the same second as the passage. Before, the
// sweep judged at its time truncated to the second, before the fever, so
// the fever counted only at the next scheduled round, ten minutes on.
func TestFeverOfThisSecond(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		st, pub, _ := hubei(t, time.Now().UTC())
		ev := (&sweep.Runner{Store: st, Publisher: pub}).Events()
		ev.Start(ctx)
		defer ev.Stop()
		time.Sleep(300 * time.Millisecond) // the passage, at .300
		at := time.Now()
		time.Sleep(400 * time.Millisecond) // its upload, at .700
		fever := central.Fact{Holder: "HB:1", Kind: central.FactFever, At: at, Site: "CP-WH",
			Temperature: physic.ZeroCelsius + 38400*physic.MilliKelvin, Source: central.FeverSource("T1", central.Epoch{1}, 1)}
		added, _, _, err := central.KeepFevers(ctx, st, []central.Fact{fever}, central.ChangeBy{Time: time.Now(), By: "ingest"})
		if err != nil || len(added) != 1 {
			t.Fatalf("kept %d fevers: %v", len(added), err)
		}
		ev.OnFever(added[0])
		synctest.Wait()
		holder, _ := credential.ParseHolderID("HB:1")
		if e, ok, err := st.StatusOf(ctx, holder); err != nil || !ok || e.Status != status.Red || e.Reason != byte(status.ReasonFever) {
			t.Errorf("HB:1 after a fever of this second: %+v (%v, %v), want red for the fever", e, ok, err)
		}
	})
}

// hubei is a store with Hubei's rules in force over Wuhan (checkpoint
// CP-WH) and Yichang (CP-YC), and a publisher of its statuses.
func hubei(t *testing.T, now time.Time) (*memstore.Store, *statuspub.Publisher, central.ChangeBy) {
	t.Helper()
	ctx := context.Background()
	st := memstore.New(nil)
	keys := bundlestest.NewKeys(t, now)
	pub := &statuspub.Publisher{Store: st, DataDir: t.TempDir(), Root: keys.Root.Public(),
		Signer: statuspub.Signer{Key: keys.Signer, Delegation: keys.Delegation, Fresh: 24 * time.Hour, Grace: 72 * time.Hour}}
	src, err := os.ReadFile(filepath.Join("..", "..", "..", "docs", "rules", "hubei.rules"))
	if err != nil {
		t.Fatal(err)
	}
	by := central.ChangeBy{Time: now, By: "ops:test"}
	err = st.UpdateEngine(ctx, func(tx central.EngineTx) error {
		for _, a := range []central.Area{{ID: "HB", Kind: central.AreaProvince}, {ID: "HB-WH", Kind: central.AreaCity, Parent: "HB"},
			{ID: "HB-YC", Kind: central.AreaCity, Parent: "HB"}} {
			if err := tx.PutArea(ctx, a, by); err != nil {
				return err
			}
		}
		for _, s := range []central.Site{{ID: "CP-WH", Area: "HB-WH"}, {ID: "CP-YC", Area: "HB-YC"}} {
			if err := tx.PutSite(ctx, s, by); err != nil {
				return err
			}
		}
		_, err := tx.DeployRuleSet(ctx, central.RuleSet{Region: "HB", Label: "2020-02-20.1", Source: src}, by)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return st, pub, by
}

// TestFeverAtUnknownSite: a fever at a checkpoint ops have not placed in
// an area yet is kept once, not dropped; it counts at once as a fever in
// the province (withheld), and as one in Wuhan (red) after ops put the
// site there with sites set.
func TestFeverAtUnknownSite(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC()
	st, pub, by := hubei(t, now)
	fever := central.Fact{Holder: "HB:3", Kind: central.FactFever, At: now.Add(-time.Minute), Site: "CP-NEW",
		Temperature: physic.ZeroCelsius + 38400*physic.MilliKelvin, Source: central.FeverSource("T2", central.Epoch{2}, 1)}
	ingest := central.ChangeBy{Time: now, By: "ingest:T2"}
	for i := range 2 { // the upload, and the same upload again
		added, unplaced, siteless, err := central.KeepFevers(ctx, st, []central.Fact{fever}, ingest)
		if err != nil || len(siteless) != 0 || len(added) != 1-i || len(unplaced) != 1-i {
			t.Fatalf("upload %d: added %+v, unplaced %+v, siteless %+v (%v); want the fever kept once, as unplaced", i+1, added, unplaced, siteless, err)
		}
	}
	var facts []central.Fact
	if err := st.ViewEngine(ctx, func(r central.EngineReader) (err error) { facts, err = r.Facts(ctx, "HB:3"); return err }); err != nil || len(facts) != 1 || facts[0].Site != "CP-NEW" || facts[0].Area != "" {
		t.Fatalf("HB:3 has facts %+v (%v), want the one fever at CP-NEW with no area", facts, err)
	}
	holder, _ := credential.ParseHolderID("HB:3")
	sweepAt := func(at time.Time, want status.Status) {
		t.Helper()
		if _, err := sweep.Run(ctx, st, pub, at, central.ChangeBy{Time: at, By: "engine", Why: "sweep"}); err != nil {
			t.Fatal(err)
		}
		e, ok, err := st.StatusOf(ctx, holder)
		if err != nil || !ok || e.Status != want || e.Reason != byte(status.ReasonFever) {
			t.Errorf("HB:3: %+v (%v, %v), want %s for the fever", e, ok, err, want)
		}
	}
	sweepAt(now, status.Withheld)
	if err := st.UpdateEngine(ctx, func(tx central.EngineTx) error {
		return tx.PutSite(ctx, central.Site{ID: "CP-NEW", Area: "HB-WH"}, by)
	}); err != nil {
		t.Fatal(err)
	}
	sweepAt(now.Add(time.Minute), status.Red)
}

// TestFeverWithoutSite: a fever measured by a terminal enrolled without a
// site names no place. It used to be dropped (logged only), so a holder
// with a fever stayed green; it is kept once, with no site or area, and
// counts as a fever the rules cannot place: under Hubei's rules, withheld
// (a fever in the province), not red (a fever in Wuhan). status explain
// says so in the holder's words.
func TestFeverWithoutSite(t *testing.T) {
	ctx := context.Background()
	now := time.Now().UTC()
	st, pub, _ := hubei(t, now)
	fever := central.Fact{Holder: "HB:6", Kind: central.FactFever, At: now.Add(-time.Minute),
		Temperature: physic.ZeroCelsius + 38600*physic.MilliKelvin, Source: central.FeverSource("T3", central.Epoch{3}, 1)}
	ingest := central.ChangeBy{Time: now, By: "ingest:T3"}
	for i := range 2 { // the upload, and the same upload again
		added, unplaced, siteless, err := central.KeepFevers(ctx, st, []central.Fact{fever}, ingest)
		if err != nil || len(unplaced) != 0 || len(added) != 1-i || len(siteless) != 1-i {
			t.Fatalf("upload %d: added %+v, unplaced %+v, siteless %+v (%v); want the fever kept once, as siteless", i+1, added, unplaced, siteless, err)
		}
	}
	if _, err := sweep.Run(ctx, st, pub, now, central.ChangeBy{Time: now, By: "engine", Why: "sweep"}); err != nil {
		t.Fatal(err)
	}
	holder, _ := credential.ParseHolderID("HB:6")
	if e, ok, err := st.StatusOf(ctx, holder); err != nil || !ok || e.Status != status.Withheld || e.Reason != byte(status.ReasonFever) {
		t.Errorf("HB:6: %+v (%v, %v), want withheld for the fever", e, ok, err)
	}
	for lang, want := range map[string][]string{
		"en": {"38.6 °C measured at a checkpoint", "enrolled without a site"},
		"zh": {"在卡口测得体温38.6°C", "登记时未指定卡口"},
	} {
		ans, err := appeal.Explain(ctx, st, appeal.ExplainRequest{Holder: "HB:6", Lang: lang, Zone: "UTC", At: now})
		if err != nil {
			t.Fatal(err)
		}
		for _, w := range want {
			if !strings.Contains(ans.Text+ans.Note, w) {
				t.Errorf("explain in %s:\n%s%s\nwant it to say %q", lang, ans.Text, ans.Note, w)
			}
		}
	}
}
