package sweep_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/internal/central"
	"sentinel/internal/central/metrics"
	"sentinel/internal/central/sweep"
)

// failingEngine is a store whose engine data cannot be read.
type failingEngine struct{ central.Store }

func (failingEngine) ViewEngine(context.Context, func(central.EngineReader) error) error {
	return errors.New("disk I/O error")
}

// gathered returns m's samples of name by their labels, written
// `a="x",b="y"`; a histogram's sample is its count.
func gathered(t *testing.T, m *metrics.Metrics, name string) map[string]float64 {
	t.Helper()
	fams, err := m.Gatherer().Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, f := range fams {
		if f.GetName() != name {
			continue
		}
		for _, s := range f.GetMetric() {
			var ls []string
			for _, l := range s.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			v := s.GetCounter().GetValue() + s.GetGauge().GetValue() + float64(s.GetHistogram().GetSampleCount())
			out[strings.Join(ls, ",")] = v
		}
	}
	return out
}

// TestRunnerMetrics runs serve's sweeps (a fever's, an event's, a
// scheduled round's, and one whose store fails) through a Runner with
// metrics and checks what /metrics would say: sweeps by trigger and
// outcome, their times, holders judged, changes published, and the last
// success, which a failing sweep leaves alone.
func TestRunnerMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := context.Background()
		start := time.Now().UTC()
		st, pub, _ := hubei(t, start)
		m := metrics.New(start)
		r := &sweep.Runner{Store: st, Publisher: pub, Metrics: m}
		ev := r.Events()
		ev.Start(ctx)
		defer ev.Stop()

		fever := central.Fact{Holder: "HB:1", Kind: central.FactFever, At: start.Add(-time.Minute), Site: "CP-WH",
			Temperature: physic.ZeroCelsius + 38400*physic.MilliKelvin, Source: central.FeverSource("T1", central.Epoch{1}, 1)}
		added, _, _, err := central.KeepFevers(ctx, st, []central.Fact{fever}, central.ChangeBy{Time: start, By: "ingest"})
		if err != nil || len(added) != 1 {
			t.Fatalf("kept %d fevers: %v", len(added), err)
		}
		ev.OnFever(added[0])
		synctest.Wait()
		ev.Notify() // nothing new to change
		synctest.Wait()
		time.Sleep(time.Minute)
		if _, err := r.Scheduled(ctx, time.Now()); err != nil {
			t.Fatal(err)
		}
		okAt := time.Now()
		time.Sleep(time.Minute)
		bad := &sweep.Runner{Store: failingEngine{st}, Publisher: pub, Metrics: m}
		if _, err := bad.Scheduled(ctx, time.Now()); err == nil {
			t.Fatal("a sweep whose store fails: no error")
		}

		for name, want := range map[string]map[string]float64{
			"sentinel_central_engine_sweeps_total": {
				`outcome="ok",trigger="fever"`: 1, `outcome="ok",trigger="event"`: 1,
				`outcome="ok",trigger="scheduled"`: 1, `outcome="error",trigger="scheduled"`: 1,
			},
			"sentinel_central_engine_sweep_seconds":                  {`trigger="fever"`: 1, `trigger="event"`: 1, `trigger="scheduled"`: 2},
			"sentinel_central_engine_status_changes_total":           {"": 1},
			"sentinel_central_engine_last_success_timestamp_seconds": {"": float64(okAt.UnixNano()) / 1e9},
		} {
			got := gathered(t, m, name)
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s: got %v, want %v", name, got, want)
			}
		}
		// One holder has facts: the fever's sweep judges it alone, the
		// event's and the scheduled round's judge it among everyone; the
		// failed sweep judged nobody.
		if got := gathered(t, m, "sentinel_central_engine_holders_judged_total")[""]; got != 3 {
			t.Errorf("sentinel_central_engine_holders_judged_total: got %v, want 3 (one holder in each of 3 sweeps)", got)
		}
	})
}
