package server

import (
	"context"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"sentinel/crypto/trust"
	"sentinel/internal/central"
	"sentinel/internal/central/enrol"
	"sentinel/internal/central/metrics"
	syncenrol "sentinel/sync/enrol"
	"sentinel/sync/protocol"
	syncserver "sentinel/sync/server"
)

// scrapeTimeout bounds the store reads of one scrape.
const scrapeTimeout = 10 * time.Second

// The state read at each scrape. The names are what docs/ops.md and the
// alert rules in docs/prometheus use; they do not change.
var (
	descBundleVersion = prometheus.NewDesc("sentinel_central_bundle_version",
		"Version of the latest bundle published, by kind (absent: none published).", []string{"kind"}, nil)
	descBundleAge = prometheus.NewDesc("sentinel_central_bundle_age_seconds",
		"Time since the latest bundle of each kind was issued (signed).", []string{"kind"}, nil)
	descBundleFresh = prometheus.NewDesc("sentinel_central_bundle_fresh_seconds",
		"Time the latest bundle of each kind stays fresh for terminals (negative: stale since).", []string{"kind"}, nil)
	descDevices = prometheus.NewDesc("sentinel_central_devices",
		"Terminals in the registry, by state (active, revoked).", []string{"state"}, nil)
	descLastCall = prometheus.NewDesc("sentinel_central_device_last_call_timestamp_seconds",
		"When each active terminal last called the centre (upload, download, health, renewal); the centre's start when it has not called since.", []string{"device", "site"}, nil)
	descHighWater = prometheus.NewDesc("sentinel_central_device_acked_records",
		"Records of each terminal the centre holds: the sum of its high-water marks over its journal epochs.", []string{"device"}, nil)
	descLastIngest = prometheus.NewDesc("sentinel_central_device_last_ingest_timestamp_seconds",
		"When an upload of each terminal last stored records.", []string{"device"}, nil)
)

// stateCollector reads the bundles published, the registry and the marks
// at each scrape.
type stateCollector struct {
	repo    *liveRepo
	store   central.Store
	metrics *metrics.Metrics
	now     func() time.Time
}

var _ prometheus.Collector = stateCollector{}

func (c stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBundleVersion, descBundleAge, descBundleFresh, descDevices, descLastCall, descHighWater, descLastIngest} {
		ch <- d
	}
}

func (c stateCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	latest := map[trust.Kind]int{}
	entries := c.repo.current().List()
	for i, e := range entries {
		latest[e.Kind] = i // the chain of deltas is ascending: the last wins
	}
	for _, k := range trust.Kinds() {
		i, ok := latest[k]
		if !ok {
			continue
		}
		e := entries[i]
		gauge(descBundleVersion, float64(e.Version), string(k))
		gauge(descBundleAge, now.Sub(e.IssuedAt).Seconds(), string(k))
		gauge(descBundleFresh, e.FreshUntil.Sub(now).Seconds(), string(k))
	}

	ctx, cancel := context.WithTimeout(context.Background(), scrapeTimeout)
	defer cancel()
	devs, err := c.store.Enrolled(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descDevices, err)
	} else {
		var active, revoked float64
		for _, d := range devs {
			if !d.Revoked.IsZero() {
				revoked++
				continue
			}
			active++
			last, ok := c.metrics.LastCall(d.ID)
			if !ok {
				last = c.metrics.Start()
			}
			gauge(descLastCall, float64(last.UnixNano())/1e9, d.ID, d.Site)
		}
		gauge(descDevices, active, "active")
		gauge(descDevices, revoked, "revoked")
	}
	held, err := c.store.Devices(ctx)
	if err != nil {
		ch <- prometheus.NewInvalidMetric(descHighWater, err)
		return
	}
	for _, d := range held {
		var sum uint64
		for _, m := range d.Marks {
			sum += m.HighWater
		}
		gauge(descHighWater, float64(sum), d.ID)
		if !d.LastSeen.IsZero() {
			gauge(descLastIngest, float64(d.LastSeen.UnixNano())/1e9, d.ID)
		}
	}
}

// observeDevices records each authenticated device call, and whether the
// guard refused it because the device is revoked.
func (s *Server) observeDevices(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		next.ServeHTTP(w, r)
		if id, ok := enrol.RequestDevice(r); ok {
			revoked := w.Header().Get(syncenrol.RefusalHeader) == syncenrol.CodeRevoked
			s.metrics.DeviceCall(id, revoked, s.cfg.Now())
		}
	})
}

// observeEnrolment counts the enrolment requests by outcome.
func (s *Server) observeEnrolment(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &metrics.StatusRecorder{ResponseWriter: w}
		next.ServeHTTP(rec, r)
		switch code := rec.Code(); {
		case code < 300:
			s.metrics.Enrolment(metrics.EnrolOK)
		case w.Header().Get(syncenrol.RefusalHeader) != "":
			s.metrics.Enrolment(w.Header().Get(syncenrol.RefusalHeader))
		default:
			s.metrics.Enrolment(http.StatusText(code))
		}
	})
}

// observeReport passes each health report stored to the metrics.
func (s *Server) observeReport(rep *protocol.Health, received time.Time) {
	r := metrics.Report{Device: rep.Device, Received: received, Backlog: rep.Backlog(), Alarms: rep.Alarms,
		Offset: protocol.ClockOffset(rep.Time, received, 0)}
	for _, l := range rep.Lanes {
		if l.State != protocol.LaneOK {
			r.Faults = append(r.Faults, l.Name)
		}
	}
	s.metrics.ObserveReport(r)
}

// observeUpload passes the upload handler's outcomes to the metrics.
func (s *Server) observeUpload(o syncserver.UploadOutcome) {
	s.metrics.ObserveUpload(metrics.Upload{Refused: o.Refused, Records: o.Records, Stored: o.Stored, Breaks: o.Breaks, Ingest: o.Ingest})
}
