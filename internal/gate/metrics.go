package gate

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sentinel/internal/passage"
)

// Buckets of the gate's latency histograms, in seconds. Verification and
// the decision take tens of microseconds for a native code and a few
// milliseconds for a DCC with its schema; anything near 100 ms is a fault
// worth seeing. A journal commit is an fsync on an SD card: milliseconds
// when healthy, up to a second when the card wears out.
var (
	// LatencyBuckets are the buckets of sentinel_verify_seconds and
	// sentinel_decide_seconds: 25 µs to 100 ms.
	LatencyBuckets = []float64{25e-6, 50e-6, 100e-6, 250e-6, 500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3}
	// CommitBuckets are the buckets of sentinel_journal_commit_seconds:
	// 500 µs to 1 s.
	CommitBuckets = []float64{500e-6, 1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1}
)

// Metrics are the gate's counters and latency histograms since start. They
// are safe for concurrent use. Metrics is a prometheus.Collector: the
// process registers it in its own registry, as the terminal daemon does
// for its management listener's /metrics.
type Metrics struct {
	admitted, denied, referred atomic.Uint64
	overrides                  atomic.Uint64
	overridesRefused           atomic.Uint64
	pinFailures, pinLockouts   atomic.Uint64
	journalFailures            atomic.Uint64
	outputFailures             atomic.Uint64
	scanErrors                 atomic.Uint64
	incomplete                 atomic.Uint64
	replays                    atomic.Uint64

	verify, decide, commit prometheus.Histogram
	// reasons counts the passages recorded by verdict and reason.
	reasons *prometheus.CounterVec
}

var _ prometheus.Collector = (*Metrics)(nil)

// init creates the histograms; New calls it once.
func (m *Metrics) init() {
	m.verify = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "sentinel_verify_seconds",
		Help:    "Time to decode and verify a payload's signature against the trust bundle.",
		Buckets: LatencyBuckets,
	})
	m.decide = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "sentinel_decide_seconds",
		Help:    "Time from payload to decision (verification, status, replay memory and policy), without temperature and journal.",
		Buckets: LatencyBuckets,
	})
	m.commit = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name:    "sentinel_journal_commit_seconds",
		Help:    "Time to commit a journal record (passage or refused override), including failed commits.",
		Buckets: CommitBuckets,
	})
	m.reasons = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sentinel_passage_reasons_total",
		Help: "Passages recorded, by verdict and reason code (docs/reasons.md); a passage with several reasons counts under each, one with none under \"none\".",
	}, []string{"verdict", "reason"})
}

// ReasonNone is the reason label of a passage recorded without a reason
// (an admission, mostly) in sentinel_passage_reasons_total.
const ReasonNone = "none"

// countPassage counts a recorded passage by verdict, and by verdict and
// each of its reasons.
func (m *Metrics) countPassage(v passage.Verdict, reasons []string) {
	m.passages(v).Add(1)
	verdict := verdictLabel(v)
	if len(reasons) == 0 {
		m.reasons.WithLabelValues(verdict, ReasonNone).Inc()
	}
	for _, r := range reasons {
		m.reasons.WithLabelValues(verdict, r).Inc()
	}
}

// verdictLabel is the verdict label of the passages' counters.
func verdictLabel(v passage.Verdict) string {
	switch v {
	case passage.Admit:
		return "admit"
	case passage.Deny:
		return "deny"
	default:
		return "refer"
	}
}

// Counts is a snapshot of the counters.
type Counts struct {
	Admitted, Denied, Referred uint64
	Overrides                  uint64
	OverridesRefused           uint64
	PINFailures, PINLockouts   uint64
	JournalFailures            uint64
	OutputFailures             uint64
	ScanErrors                 uint64
	Incomplete                 uint64
	// Replays are codes referred because they were just used here.
	Replays uint64
}

// Counts returns the counters now.
func (m *Metrics) Counts() Counts {
	return Counts{
		Admitted: m.admitted.Load(), Denied: m.denied.Load(), Referred: m.referred.Load(),
		Overrides: m.overrides.Load(), OverridesRefused: m.overridesRefused.Load(),
		PINFailures: m.pinFailures.Load(), PINLockouts: m.pinLockouts.Load(),
		JournalFailures: m.journalFailures.Load(), OutputFailures: m.outputFailures.Load(),
		ScanErrors: m.scanErrors.Load(), Incomplete: m.incomplete.Load(),
		Replays: m.replays.Load(),
	}
}

func (m *Metrics) passages(v passage.Verdict) *atomic.Uint64 {
	switch v {
	case passage.Admit:
		return &m.admitted
	case passage.Deny:
		return &m.denied
	default:
		return &m.referred
	}
}

// The counters' descriptions. The names are what dashboards and the docs
// use; they do not change.
var (
	descPassages         = prometheus.NewDesc("sentinel_passages_total", "Passages recorded, by verdict.", []string{"verdict"}, nil)
	descOverrides        = prometheus.NewDesc("sentinel_overrides_total", "Guard overrides recorded.", nil, nil)
	descOverridesRefused = prometheus.NewDesc("sentinel_overrides_refused_total", "Override attempts refused (wrong PIN, locked, nothing to override).", nil, nil)
	descPINFailures      = prometheus.NewDesc("sentinel_override_pin_failures_total", "Override attempts with a wrong guard PIN (each is journalled).", nil, nil)
	descPINLockouts      = prometheus.NewDesc("sentinel_override_pin_lockouts_total", "Override lockouts started by wrong guard PINs.", nil, nil)
	descJournalFailures  = prometheus.NewDesc("sentinel_journal_failures_total", "Passages the journal could not commit (gate kept shut).", nil, nil)
	descOutputFailures   = prometheus.NewDesc("sentinel_output_failures_total", "Failures driving the relay, light tower or buzzer.", nil, nil)
	descScanErrors       = prometheus.NewDesc("sentinel_scan_errors_total", "Codes the scanners could not read whole.", nil, nil)
	descIncomplete       = prometheus.NewDesc("sentinel_incomplete_cards_total", "Chunked SMART Health Cards not read whole in time.", nil, nil)
	descReplays          = prometheus.NewDesc("sentinel_replays_total", "Codes referred to the guard because this terminal admitted them moments ago.", nil, nil)
)

// Describe sends the descriptions of the gate's metrics.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descPassages, descOverrides, descOverridesRefused, descPINFailures,
		descPINLockouts, descJournalFailures, descOutputFailures, descScanErrors, descIncomplete, descReplays} {
		ch <- d
	}
	m.verify.Describe(ch)
	m.decide.Describe(ch)
	m.commit.Describe(ch)
	m.reasons.Describe(ch)
}

// Collect sends the counters as they are now and the histograms.
func (m *Metrics) Collect(ch chan<- prometheus.Metric) {
	c := m.Counts()
	counter := func(d *prometheus.Desc, v uint64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
	}
	counter(descPassages, c.Admitted, "admit")
	counter(descPassages, c.Denied, "deny")
	counter(descPassages, c.Referred, "refer")
	counter(descOverrides, c.Overrides)
	counter(descOverridesRefused, c.OverridesRefused)
	counter(descPINFailures, c.PINFailures)
	counter(descPINLockouts, c.PINLockouts)
	counter(descJournalFailures, c.JournalFailures)
	counter(descOutputFailures, c.OutputFailures)
	counter(descScanErrors, c.ScanErrors)
	counter(descIncomplete, c.Incomplete)
	counter(descReplays, c.Replays)
	m.verify.Collect(ch)
	m.decide.Collect(ch)
	m.commit.Collect(ch)
	m.reasons.Collect(ch)
}

func (m *Metrics) observeVerify(d time.Duration) { m.verify.Observe(d.Seconds()) }
func (m *Metrics) observeDecide(d time.Duration) { m.decide.Observe(d.Seconds()) }
func (m *Metrics) observeCommit(d time.Duration) { m.commit.Observe(d.Seconds()) }
