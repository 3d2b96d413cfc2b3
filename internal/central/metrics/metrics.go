// Package metrics holds the central server's Prometheus metrics: one
// Metrics per server, in a registry of its own (never the process-wide
// default), so that a process or a test may run several centres.
//
// The server, the upload handler, enrolment and the operator API report
// what happens to it (uploads, ingest, refusals, enrolments, device calls,
// operator calls, audit writes); state that lives elsewhere (the bundles
// published, the device registry, the marks) is read at each scrape by
// collectors the server registers with Register. docs/ops.md lists every
// name; the alert rules in docs/prometheus use them.
package metrics

import (
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// IngestBuckets are the buckets of sentinel_central_ingest_seconds: one
// batch into the store, 1 ms (bbolt on a quiet disk) to 10 s (PostgreSQL
// under load; the upload handler gives up at 30 s).
var IngestBuckets = []float64{1e-3, 2.5e-3, 5e-3, 10e-3, 25e-3, 50e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10}

// SweepBuckets are the buckets of sentinel_central_engine_sweep_seconds:
// one sweep of the code engine, 1 ms (a fever's holder alone) to 2 min
// (every holder of a large centre).
var SweepBuckets = []float64{1e-3, 5e-3, 25e-3, 100e-3, 250e-3, 500e-3, 1, 2.5, 5, 10, 30, 60, 120}

// Triggers of the code engine's sweeps.
const (
	TriggerScheduled = "scheduled" // serve's scheduled round
	TriggerEvent     = "event"     // a change of the engine's data
	TriggerFever     = "fever"     // a fever kept at ingest (its holders alone)
)

// Outcomes of operator calls and audit writes.
const (
	OutcomeOK           = "ok"           // answered 2xx
	OutcomeUnauthorized = "unauthorized" // no valid token (401)
	OutcomeForbidden    = "forbidden"    // a token of the wrong role (403)
	OutcomeRefused      = "refused"      // another 4xx: a request the API refuses
	OutcomeError        = "error"        // 5xx: the centre failed
	OutcomeFailed       = "failed"       // an audit entry not written
	// RoleNone is the role label of a call without a valid token.
	RoleNone = "none"
	// EnrolOK is the outcome of an enrolment that succeeded; refusals
	// carry their refusal code (token-used, token-expired...).
	EnrolOK = "enrolled"
)

// Metrics are one central server's metrics. Its methods are safe for
// concurrent use; a nil *Metrics records nothing.
type Metrics struct {
	reg   *prometheus.Registry
	start time.Time

	uploads       prometheus.Counter
	rejected      *prometheus.CounterVec
	received      prometheus.Counter
	stored        prometheus.Counter
	breaks        prometheus.Counter
	ingest        prometheus.Histogram
	enrolments    *prometheus.CounterVec
	revokedCalls  *prometheus.CounterVec
	opsCalls      *prometheus.CounterVec
	auditWrites   *prometheus.CounterVec
	sweeps        *prometheus.CounterVec
	sweepSeconds  *prometheus.HistogramVec
	judged        prometheus.Counter
	changes       prometheus.Counter
	lastSweep     prometheus.Gauge
	reports       *reports
	own           []prometheus.Collector // this package's and Register's
	deviceCallsMu sync.Mutex
	deviceCalls   map[string]time.Time // device → its last call seen here
}

// New returns the metrics of a server started at start, with the
// process's and the Go runtime's collectors.
func New(start time.Time) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(), start: start, deviceCalls: map[string]time.Time{},
		reports: &reports{by: map[string]Report{}},
		uploads: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sentinel_central_uploads_total",
			Help: "Journal upload requests from terminals, stored or refused.",
		}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sentinel_central_upload_rejected_total",
			Help: "Upload requests refused, by reason: the sync protocol's refusal code (malformed, too-large, version, rate, identity, unavailable, gap, fork, branch, epoch-owner).",
		}, []string{"reason"}),
		received: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sentinel_central_upload_records_total",
			Help: "Journal records received in uploads that reached the store, stored or already held.",
		}),
		stored: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sentinel_central_ingest_records_total",
			Help: "Journal records stored (rows ingested); its rate is the ingest rate.",
		}),
		breaks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sentinel_central_chain_breaks_total",
			Help: "Records stored with a broken hash chain (flagged, never dropped).",
		}),
		ingest: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "sentinel_central_ingest_seconds",
			Help:    "Time the store took to ingest one upload's batch, stored or refused by the store.",
			Buckets: IngestBuckets,
		}),
		enrolments: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sentinel_central_enrolments_total",
			Help: "Enrolment requests, by outcome: enrolled, or the refusal code (token-unknown, token-used, token-expired, malformed...).",
		}, []string{"outcome"}),
		revokedCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sentinel_central_revoked_calls_total",
			Help: "Calls refused because the device was revoked, by device: a revoked terminal still switched on.",
		}, []string{"device"}),
		opsCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sentinel_central_ops_requests_total",
			Help: "Operator API calls, by the caller's role (none without a valid token) and outcome (ok, unauthorized, forbidden, refused, error).",
		}, []string{"role", "outcome"}),
		auditWrites: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sentinel_central_audit_writes_total",
			Help: "Audit log entries written (ok) or not (failed).",
		}, []string{"outcome"}),
		sweeps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sentinel_central_engine_sweeps_total",
			Help: "Sweeps of the code engine, by trigger (scheduled, event, fever) and outcome (ok, error: nothing of a failed sweep is published).",
		}, []string{"trigger", "outcome"}),
		sweepSeconds: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "sentinel_central_engine_sweep_seconds",
			Help:    "Time one sweep of the code engine took, load to publication, by trigger.",
			Buckets: SweepBuckets,
		}, []string{"trigger"}),
		judged: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sentinel_central_engine_holders_judged_total",
			Help: "Holders the deployed colour rules judged in the engine's successful sweeps.",
		}),
		changes: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "sentinel_central_engine_status_changes_total",
			Help: "Status changes the engine's sweeps published.",
		}),
		lastSweep: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "sentinel_central_engine_last_success_timestamp_seconds",
			Help: "When the code engine's last successful sweep ended (Unix time; the server's start until one has).",
		}),
	}
	m.lastSweep.Set(float64(start.Unix()))
	m.own = []prometheus.Collector{m.uploads, m.rejected, m.received, m.stored, m.breaks, m.ingest,
		m.enrolments, m.revokedCalls, m.opsCalls, m.auditWrites, m.sweeps, m.sweepSeconds, m.judged, m.changes, m.lastSweep, m.reports}
	m.reg.MustRegister(m.own...)
	m.reg.MustRegister(collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}), collectors.NewGoCollector())
	return m
}

// Register adds collectors read at each scrape (the server's view of the
// bundles, the registry and the marks).
func (m *Metrics) Register(cs ...prometheus.Collector) error {
	for _, c := range cs {
		if err := m.reg.Register(c); err != nil {
			return err
		}
		m.own = append(m.own, c)
	}
	return nil
}

// Describe sends the descriptions of the server's own metrics, whether
// or not they have a sample yet (not the process's or the runtime's):
// what the alert rules' test holds the rules to.
func (m *Metrics) Describe(ch chan<- *prometheus.Desc) {
	for _, c := range m.own {
		c.Describe(ch)
	}
}

// Handler serves the metrics in Prometheus' exposition formats. A
// collector that fails (a store that cannot be read) is logged and left
// out; the rest is served.
func (m *Metrics) Handler(logger *slog.Logger) http.Handler {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(logger.Handler(), slog.LevelError),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

// Gatherer returns the registry, for tests and for collectors' checks.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// Upload is what one upload request came to.
type Upload struct {
	// Refused is the protocol's refusal code; empty when the batch was
	// stored (or all of it was held already).
	Refused string
	// Records is the batch's length when it reached the store, Stored
	// how many of them were new, Breaks how many broke the hash chain.
	Records, Stored, Breaks int
	// Ingest is the store's time; zero when the batch did not reach it.
	Ingest time.Duration
}

// ObserveUpload records one upload request.
func (m *Metrics) ObserveUpload(u Upload) {
	if m == nil {
		return
	}
	m.uploads.Inc()
	if u.Refused != "" {
		m.rejected.WithLabelValues(u.Refused).Inc()
	}
	if u.Ingest > 0 {
		m.ingest.Observe(u.Ingest.Seconds())
		m.received.Add(float64(u.Records))
	}
	m.stored.Add(float64(u.Stored))
	m.breaks.Add(float64(u.Breaks))
}

// Enrolment records an enrolment request's outcome: EnrolOK or the
// refusal code.
func (m *Metrics) Enrolment(outcome string) {
	if m == nil {
		return
	}
	m.enrolments.WithLabelValues(outcome).Inc()
}

// DeviceCall records an authenticated call of device at t; revoked says
// that it was refused because the device is revoked.
func (m *Metrics) DeviceCall(device string, revoked bool, t time.Time) {
	if m == nil {
		return
	}
	if revoked {
		m.revokedCalls.WithLabelValues(device).Inc()
	}
	m.deviceCallsMu.Lock()
	if t.After(m.deviceCalls[device]) {
		m.deviceCalls[device] = t
	}
	m.deviceCallsMu.Unlock()
}

// LastCall returns when device last called this server; ok is false
// when it has not since start.
func (m *Metrics) LastCall(device string) (t time.Time, ok bool) {
	if m == nil {
		return time.Time{}, false
	}
	m.deviceCallsMu.Lock()
	defer m.deviceCallsMu.Unlock()
	t, ok = m.deviceCalls[device]
	return t, ok
}

// Start returns when the server started, what a device that has not
// called since is reported as last calling.
func (m *Metrics) Start() time.Time { return m.start }

// OpsCall records an operator API call by role with its HTTP status.
func (m *Metrics) OpsCall(role string, status int) {
	if m == nil {
		return
	}
	if role == "" {
		role = RoleNone
	}
	m.opsCalls.WithLabelValues(role, OpsOutcome(status)).Inc()
}

// OpsOutcome names the outcome of an operator call answered status.
func OpsOutcome(status int) string {
	switch {
	case status < 400:
		return OutcomeOK
	case status == http.StatusUnauthorized:
		return OutcomeUnauthorized
	case status == http.StatusForbidden:
		return OutcomeForbidden
	case status < 500:
		return OutcomeRefused
	}
	return OutcomeError
}

// AuditWrite records an audit entry written (err nil) or not.
func (m *Metrics) AuditWrite(err error) {
	if m == nil {
		return
	}
	if err != nil {
		m.auditWrites.WithLabelValues(OutcomeFailed).Inc()
		return
	}
	m.auditWrites.WithLabelValues(OutcomeOK).Inc()
}

// Sweep is what one sweep of the code engine came to.
type Sweep struct {
	Trigger string // TriggerScheduled, TriggerEvent or TriggerFever
	// Took is its time; End when it ended.
	Took time.Duration
	End  time.Time
	// Judged counts the holders the rules judged, Changes the status
	// changes published; Err is why it failed (nil: it did not).
	Judged, Changes int
	Err             error
}

// ObserveSweep records one sweep of the code engine.
func (m *Metrics) ObserveSweep(s Sweep) {
	if m == nil {
		return
	}
	m.sweepSeconds.WithLabelValues(s.Trigger).Observe(s.Took.Seconds())
	if s.Err != nil {
		m.sweeps.WithLabelValues(s.Trigger, OutcomeError).Inc()
		return
	}
	m.sweeps.WithLabelValues(s.Trigger, OutcomeOK).Inc()
	m.judged.Add(float64(s.Judged))
	m.changes.Add(float64(s.Changes))
	m.lastSweep.Set(float64(s.End.UnixNano()) / 1e9)
}

// StatusRecorder is an http.ResponseWriter that remembers the status
// written, for handlers that count their answers.
type StatusRecorder struct {
	http.ResponseWriter
	Status int
}

// WriteHeader records code and passes it on.
func (s *StatusRecorder) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write records 200 when nothing was written before.
func (s *StatusRecorder) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the writer's Flush and
// deadlines.
func (s *StatusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Code returns the status written; 200 when the handler wrote none.
func (s *StatusRecorder) Code() int {
	if s.Status == 0 {
		return http.StatusOK
	}
	return s.Status
}

// Flush flushes the underlying writer when it can.
func (s *StatusRecorder) Flush() { http.NewResponseController(s.ResponseWriter).Flush() }
