package terminal

import (
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// parseMetrics reads a /metrics body with Prometheus' own text parser and
// fails the test when Prometheus could not scrape it.
func parseMetrics(t *testing.T, text string) map[string]*dto.MetricFamily {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("/metrics does not parse as the Prometheus text format: %v\n%s", err, text)
	}
	return fams
}

// histogramCount returns the observations of the histogram name, which
// must be there with one series.
func histogramCount(t *testing.T, fams map[string]*dto.MetricFamily, name string) uint64 {
	t.Helper()
	f := fams[name]
	if f == nil || f.GetType() != dto.MetricType_HISTOGRAM || len(f.Metric) != 1 {
		t.Fatalf("/metrics: %s is not one histogram: %v", name, f)
	}
	return f.Metric[0].GetHistogram().GetSampleCount()
}
