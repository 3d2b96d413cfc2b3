package terminal

import (
	"log/slog"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"sentinel/crypto/trust"
	"sentinel/internal/clock"
	"sentinel/internal/ui"
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

// newFrameUnchanged returns the counter of the cameras' frames that were
// not decoded because nothing in view moved (an idle gate): with the
// decode histogram's count, the share of frames an idle camera spares.
func newFrameUnchanged() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sentinel_camera_frames_unchanged_total",
		Help: "Camera frames not decoded because nothing in view moved since the last frame decoded, which held no code, by lane (frames decoded are counted by sentinel_camera_decode_seconds).",
	}, []string{"lane"})
}

// newSyncErrors returns the counter of failed exchanges with the centre.
func newSyncErrors() *prometheus.CounterVec {
	return prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sentinel_sync_errors_total",
		Help: "Failed exchanges with the centre, by kind (upload, bundle, status, time, health, renew) and error (network, revoked, busy, server, refused).",
	}, []string{"kind", "error"})
}

// metricsHandler serves the daemon's metrics from a registry of its own:
// the gate's counters and histograms, the cameras' decoding, the journal,
// the bundles, the clock, the devices, enrolment and sync. docs/ops.md
// lists them; the alert rules in docs/prometheus use them.
func (d *daemon) metricsHandler() http.Handler {
	reg := prometheus.NewRegistry()
	reg.MustRegister(d.collectors()...)
	reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	return promhttp.HandlerFor(reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(d.logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// collectors are the daemon's own metrics (without the process's and the
// Go runtime's).
func (d *daemon) collectors() []prometheus.Collector {
	cs := []prometheus.Collector{d.gate.Metrics(), daemonCollector{d}}
	if d.devices != nil {
		cs = append(cs, d.devices.frameDecode, d.devices.frameUnchanged)
	}
	if d.syncErrors != nil {
		cs = append(cs, d.syncErrors)
	}
	return cs
}

// The daemon's state, read when /metrics is scraped. The names are what
// dashboards, the docs and the alert rules use; they do not change.
var (
	descJournalAlarm = prometheus.NewDesc("sentinel_journal_alarm", "Journal alarms raised (1) by kind.", []string{"kind"}, nil)
	descJournalLast  = prometheus.NewDesc("sentinel_journal_last_seq", "Sequence number of the journal's newest record (0: empty).", nil, nil)
	descJournalAcked = prometheus.NewDesc("sentinel_journal_acked_seq", "Sequence number up to which the centre acknowledged the journal.", nil, nil)
	descFreshness    = prometheus.NewDesc("sentinel_bundle_freshness", "Freshness of each kind of bundle (1 for the state it is in).", []string{"kind", "state"}, nil)
	descStatusList   = prometheus.NewDesc("sentinel_status_list_freshness", "Freshness of the status list, the base with its updates as the guard display shows it (1 for the state it is in): fresh updates keep an older base fresh.", []string{"state"}, nil)
	descBundleVer    = prometheus.NewDesc("sentinel_bundle_version", "Version of the bundle in force, by kind (absent: none).", []string{"kind"}, nil)
	descBundleAge    = prometheus.NewDesc("sentinel_bundle_age_seconds", "Time since the bundle in force was issued, by kind (absent: none).", []string{"kind"}, nil)
	descEnrolled     = prometheus.NewDesc("sentinel_enrolled", "Whether the terminal holds a pinned root and a trust bundle.", nil, nil)
	descLanes        = prometheus.NewDesc("sentinel_lanes", "Lanes configured.", nil, nil)
	descDeviceFault  = prometheus.NewDesc("sentinel_device_fault", "Whether a lane's device is faulty or missing (1) or working (0), by lane and device (scanner, camera, thermometer); devices the lane does not have are absent.", []string{"lane", "device"}, nil)
	descClockTrusted = prometheus.NewDesc("sentinel_clock_trusted", "Whether the terminal trusts its clock (untrusted: everyone is referred to the guard).", nil, nil)
	descClockSource  = prometheus.NewDesc("sentinel_clock_source", "The source of the clock's trust (1 for the one in use): ntp, central, rtc or none.", []string{"source"}, nil)
	descClockError   = prometheus.NewDesc("sentinel_clock_max_error_seconds", "The bound on the clock's error that its source gives (absent: none).", nil, nil)
	descClockOffset  = prometheus.NewDesc("sentinel_clock_offset_seconds", "How far the system clock is ahead of the centre's signed time (negative: behind); absent before a signed time arrived.", nil, nil)
	descClockOffErr  = prometheus.NewDesc("sentinel_clock_offset_error_seconds", "The bound on the error of sentinel_clock_offset_seconds.", nil, nil)
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
	for _, d := range []*prometheus.Desc{descJournalAlarm, descJournalLast, descJournalAcked, descFreshness, descStatusList,
		descBundleVer, descBundleAge, descEnrolled, descLanes, descDeviceFault, descClockTrusted, descClockSource,
		descClockError, descClockOffset, descClockOffErr, descSyncEnabled, descRevoked, descSyncOnline, descSyncLast,
		descSyncBacklog} {
		ch <- d
	}
}

// Collect sends the daemon's gauges as they are now. The sync gauges
// sentinel_sync_online and sentinel_sync_last_success_timestamp_seconds
// appear only while sync runs, and the journal's positions only when the
// journal could be read.
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
	if last, acked, err := journalPositions(d.journal); err != nil {
		d.logger.Warn("metrics: the journal's positions could not be read", "error", err)
	} else {
		gauge(descJournalLast, float64(last))
		gauge(descJournalAcked, float64(acked))
		gauge(descSyncBacklog, float64(last-min(acked, last)))
	}

	now, trusted := d.clock.Now()
	st := d.gate.State()
	for _, k := range trust.Kinds() {
		b := st.Bundles[k]
		f := b.Freshness(now)
		for _, s := range []trust.Freshness{trust.FreshnessFresh, trust.FreshnessGrace, trust.FreshnessStale, trust.FreshnessBlocked} {
			gauge(descFreshness, boolFloat(s == f), string(k), s.String())
		}
		if b.Version > 0 {
			gauge(descBundleVer, float64(b.Version), string(k))
		}
		if !b.IssuedAt.IsZero() {
			gauge(descBundleAge, now.Sub(b.IssuedAt).Seconds(), string(k))
		}
	}
	sl := st.StatusList().Freshness(now)
	for _, s := range []trust.Freshness{trust.FreshnessFresh, trust.FreshnessGrace, trust.FreshnessStale, trust.FreshnessBlocked} {
		gauge(descStatusList, boolFloat(s == sl), s.String())
	}
	gauge(descEnrolled, boolFloat(st.Enrolled))
	gauge(descLanes, float64(len(d.gate.Lanes())))
	for _, l := range d.displayStatus().Lanes {
		for _, dev := range []struct {
			name  string
			state ui.DeviceState
		}{{"scanner", l.Scanner}, {"camera", l.Camera}, {"thermometer", l.Thermometer}} {
			switch dev.state {
			case ui.DeviceOK, ui.DeviceFault:
				gauge(descDeviceFault, boolFloat(dev.state == ui.DeviceFault), l.Name, dev.name)
			}
		}
	}

	gauge(descClockTrusted, boolFloat(trusted))
	if cs, ok := d.clock.(clockStater); ok {
		cst := cs.ClockState()
		for _, s := range []string{clock.SourceNTP, clock.SourceCentral, clock.SourceRTC, clock.SourceNone} {
			gauge(descClockSource, boolFloat(s == cst.Source), s)
		}
		if cst.MaxError > 0 {
			gauge(descClockError, cst.MaxError.Seconds())
		}
	}
	if co, ok := d.clock.(clockOffsetter); ok {
		if off, bound, ok := co.Offset(); ok {
			gauge(descClockOffset, off.Seconds())
			gauge(descClockOffErr, bound.Seconds())
		}
	}

	sy := d.sync.Load()
	gauge(descSyncEnabled, boolFloat(sy != nil))
	revoked := false
	if sy != nil {
		_, revoked = sy.Revoked()
	}
	gauge(descRevoked, boolFloat(revoked))
	if sy == nil {
		return
	}
	sst := sy.State()
	gauge(descSyncOnline, boolFloat(sst.Online))
	var ts float64
	if !sst.Last.IsZero() {
		ts = float64(sst.Last.UnixNano()) / 1e9
	}
	gauge(descSyncLast, ts)
}

// journalPositions returns the sequence numbers of the journal's newest
// record and of the last one the centre acknowledged.
func journalPositions(j *journal.Journal) (last, acked journal.Seq, err error) {
	_, seqs, err := j.Tail(1)
	if err != nil {
		return 0, 0, err
	}
	if len(seqs) > 0 {
		last = seqs[0]
	}
	acked, err = j.Acked()
	return last, acked, err
}

func boolFloat(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
