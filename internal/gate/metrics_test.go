package gate

import (
	"context"
	"errors"
	"maps"
	"math"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// scrape registers m in a registry of its own, serves it as the daemon
// does and returns the text and the families Prometheus' parser reads in it.
func scrape(t *testing.T, m *Metrics) (string, map[string]*dto.MetricFamily) {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(m)
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	text := rec.Body.String()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("exposition does not parse: %v\n%s", err, text)
	}
	return text, fams
}

func TestMetricsExposition(t *testing.T) {
	r := newRig(t, nil)
	r.g.Process(context.Background(), "in-1", green(t))
	r.g.Process(context.Background(), "in-1", red(t))
	text, fams := scrape(t, r.g.Metrics())

	// The names and lines that dashboards, docs and tests rely on.
	for _, want := range []string{
		`sentinel_passages_total{verdict="admit"} 1`,
		`sentinel_passages_total{verdict="deny"} 1`,
		`sentinel_passages_total{verdict="refer"} 0`,
		"# TYPE sentinel_overrides_total counter",
		"sentinel_overrides_refused_total 0",
		"sentinel_override_pin_failures_total 0",
		"sentinel_override_pin_lockouts_total 0",
		"sentinel_journal_failures_total 0",
		"sentinel_output_failures_total 0",
		"sentinel_scan_errors_total 0",
		"sentinel_incomplete_cards_total 0",
		"sentinel_replays_total 0",
		"sentinel_decide_seconds_count 2",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("exposition lacks %q:\n%s", want, text)
		}
	}

	// Each latency is a histogram over its buckets, with one observation
	// per passage.
	for _, h := range []struct {
		name    string
		buckets []float64
	}{
		{"sentinel_verify_seconds", LatencyBuckets},
		{"sentinel_decide_seconds", LatencyBuckets},
		{"sentinel_journal_commit_seconds", CommitBuckets},
	} {
		f := fams[h.name]
		if f == nil {
			t.Errorf("%s missing:\n%s", h.name, text)
			continue
		}
		if f.GetType() != dto.MetricType_HISTOGRAM || len(f.Metric) != 1 {
			t.Errorf("%s: got type %v with %d series, want one histogram", h.name, f.GetType(), len(f.Metric))
			continue
		}
		hist := f.Metric[0].GetHistogram()
		if got := hist.GetSampleCount(); got != 2 {
			t.Errorf("%s: got count %d, want 2", h.name, got)
		}
		if hist.GetSampleSum() <= 0 {
			t.Errorf("%s: got sum %g, want the time spent", h.name, hist.GetSampleSum())
		}
		var bounds []float64
		for _, b := range hist.Bucket {
			bounds = append(bounds, b.GetUpperBound())
		}
		if want := append(slices.Clone(h.buckets), math.Inf(1)); !slices.Equal(bounds, want) {
			t.Errorf("%s: got buckets %v, want %v", h.name, bounds, want)
		}
	}
}

// A failed commit is timed as well: a journal that hangs before failing
// is what the histogram is for.
func TestMetricsTimeFailedCommits(t *testing.T) {
	r := newRig(t, nil)
	r.journal.fail = errors.New("disk full")
	r.g.Process(context.Background(), "in-1", green(t))
	_, fams := scrape(t, r.g.Metrics())
	if n := fams["sentinel_journal_commit_seconds"].GetMetric()[0].GetHistogram().GetSampleCount(); n != 1 {
		t.Errorf("got %d commits timed, want 1", n)
	}
	if n := fams["sentinel_journal_failures_total"].GetMetric()[0].GetCounter().GetValue(); n != 1 {
		t.Errorf("got %g journal failures, want 1", n)
	}
}

// Each recorded passage is counted by verdict and by each of its reasons,
// so that a dashboard shows why people were refused.
func TestMetricsReasons(t *testing.T) {
	r := newRig(t, nil)
	ctx := context.Background()
	want := map[[2]string]float64{}
	for _, code := range [][]byte{green(t), red(t), red(t), []byte("NOT A CODE")} {
		res, err := r.g.Process(ctx, "in-1", code)
		if err != nil {
			t.Fatal(err)
		}
		p := res.Passage
		if len(p.Reasons) == 0 {
			want[[2]string{string(p.Decision), ReasonNone}]++
		}
		for _, reason := range p.Reasons {
			want[[2]string{string(p.Decision), reason}]++
		}
	}
	if len(want) < 3 {
		t.Fatalf("the scenario gave %v: want an admission and two kinds of refusal", want)
	}
	_, fams := scrape(t, r.g.Metrics())
	got := map[[2]string]float64{}
	for _, m := range fams["sentinel_passage_reasons_total"].GetMetric() {
		var k [2]string
		for _, l := range m.GetLabel() {
			switch l.GetName() {
			case "verdict":
				k[0] = l.GetValue()
			case "reason":
				k[1] = l.GetValue()
			}
		}
		got[k] = m.GetCounter().GetValue()
	}
	if !maps.Equal(got, want) {
		t.Errorf("sentinel_passage_reasons_total: got %v, want %v", got, want)
	}
}
