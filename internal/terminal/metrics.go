package terminal

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"sentinel/crypto/trust"
	"sentinel/sync/journal"
)

// frameBuckets are the buckets of sentinel_camera_decode_seconds: 1 ms to
// 1 s. A frame without a code is rejected in a few milliseconds; a
// 1280-pixel frame with a code takes tens of milliseconds on a desktop and
// several times that on a terminal's ARM core, so the buckets reach further
// than the gate's 100 ms.
var frameBuckets = []float64{1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1}

// newFrameDecode returns the histogram of the cameras' frame decoding.
func newFrameDecode() *prometheus.HistogramVec {
	return prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name:    "sentinel_camera_decode_seconds",
		Help:    "Time to search a camera frame for a QR code and decode it, found or not, by lane.",
		Buckets: frameBuckets,
	}, []string{"lane"})
}

// metricsHandler serves the daemon's metrics from a registry of its own:
// the gate's counters and histograms, the cameras' decoding, the journal's
// alarms, the bundles' freshness, enrolment and sync.
func (d *daemon) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(d.gate.Metrics(), daemonCollector{d},
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		collectors.NewGoCollector())
	if d.devices != nil {
		reg.MustRegister(d.devices.frameDecode)
	}
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(d.logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// The daemon's state, read when /metrics is scraped. The names are what
// dashboards, the docs and the guide's tests use; they do not change.
var (
	descJournalAlarm = prometheus.NewDesc("sentinel_journal_alarm", "Journal alarms raised (1) by kind.", []string{"kind"}, nil)
	descFreshness    = prometheus.NewDesc("sentinel_bundle_freshness", "Freshness of each kind of bundle (1 for the state it is in).", []string{"kind", "state"}, nil)
	descEnrolled     = prometheus.NewDesc("sentinel_enrolled", "Whether the terminal holds a pinned root and a trust bundle.", nil, nil)
	descLanes        = prometheus.NewDesc("sentinel_lanes", "Lanes configured.", nil, nil)
	descSyncEnabled  = prometheus.NewDesc("sentinel_sync_enabled", "Whether the terminal syncs with the centre (enrolled, with a central URL).", nil, nil)
	descRevoked      = prometheus.NewDesc("sentinel_revoked", "Whether the centre said that it revoked this terminal (removed from service).", nil, nil)
	descSyncOnline   = prometheus.NewDesc("sentinel_sync_online", "Whether the last exchange of every kind with the centre succeeded.", nil, nil)
	descSyncLast     = prometheus.NewDesc("sentinel_sync_last_success_timestamp_seconds", "When an exchange with the centre last succeeded (0: never).", nil, nil)
	descSyncBacklog  = prometheus.NewDesc("sentinel_sync_backlog_records", "Journal records the centre has not acknowledged.", nil, nil)
)

// daemonCollector reports the daemon's state as gauges at each scrape.
type daemonCollector struct{ d *daemon }

var _ prometheus.Collector = daemonCollector{}

// Describe sends the descriptions of the daemon's gauges.
func (c daemonCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descJournalAlarm, descFreshness, descEnrolled, descLanes,
		descSyncEnabled, descRevoked, descSyncOnline, descSyncLast, descSyncBacklog} {
		ch <- d
	}
}

// Collect sends the daemon's gauges as they are now. The sync gauges other
// than sentinel_sync_enabled appear only while sync runs, and the backlog
// only when the journal could be read.
func (c daemonCollector) Collect(ch chan<- prometheus.Metric) {
	d := c.d
	gauge := func(desc *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(desc, prometheus.GaugeValue, v, labels...)
	}
	raised := map[journal.AlarmKind]bool{}
	for _, a := range d.journal.Alarms() {
		raised[a.Kind] = true
	}
	for _, k := range []journal.AlarmKind{journal.AlarmCorrupt, journal.AlarmCommit, journal.AlarmDisk, journal.AlarmPurge} {
		gauge(descJournalAlarm, boolFloat(raised[k]), string(k))
	}
	now, _ := d.clock.Now()
	st := d.gate.State()
	for _, k := range trust.Kinds() {
		f := st.Bundles[k].Freshness(now)
		for _, s := range []trust.Freshness{trust.FreshnessFresh, trust.FreshnessGrace, trust.FreshnessStale, trust.FreshnessBlocked} {
			gauge(descFreshness, boolFloat(s == f), string(k), s.String())
		}
	}
	gauge(descEnrolled, boolFloat(st.Enrolled))
	gauge(descLanes, float64(len(d.gate.Lanes())))

	sy := d.sync.Load()
	gauge(descSyncEnabled, boolFloat(sy != nil))
	if sy == nil {
		return
	}
	_, revoked := sy.Revoked()
	gauge(descRevoked, boolFloat(revoked))
	sst := sy.State()
	gauge(descSyncOnline, boolFloat(sst.Online))
	var ts float64
	if !sst.Last.IsZero() {
		ts = float64(sst.Last.UnixNano()) / 1e9
	}
	gauge(descSyncLast, ts)
	if n, err := backlog(d.journal); err == nil {
		gauge(descSyncBacklog, float64(n))
	}
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
