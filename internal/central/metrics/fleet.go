package metrics

import (
	"sort"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Report is what a terminal's health report says, as the centre's
// metrics keep it: what Prometheus cannot scrape from a terminal it does
// not reach (behind a site's NAT, or on no management network).
type Report struct {
	Device   string
	Received time.Time     // the centre's clock when it arrived
	Backlog  uint64        // journal records not acknowledged
	Alarms   uint64        // journal alarms raised
	Offset   time.Duration // the terminal's clock minus the centre's at arrival (network delay included)
	// Faults are the lanes' devices that are missing or failing, named
	// as the report names them ("in-1 thermometer").
	Faults []string
}

// The reports' gauges, one series per terminal that reported since the
// centre started.
var (
	descReportAt = prometheus.NewDesc("sentinel_central_device_report_timestamp_seconds",
		"When each terminal's last health report arrived (terminals that reported since the centre started).", []string{"device"}, nil)
	descReportBacklog = prometheus.NewDesc("sentinel_central_device_backlog_records",
		"Journal records each terminal reported not yet acknowledged by the centre.", []string{"device"}, nil)
	descReportAlarms = prometheus.NewDesc("sentinel_central_device_journal_alarms",
		"Journal alarms each terminal reported raised.", []string{"device"}, nil)
	descReportOffset = prometheus.NewDesc("sentinel_central_device_clock_offset_seconds",
		"Each terminal's clock minus the centre's when its report arrived (network delay included: seconds matter, not milliseconds).", []string{"device"}, nil)
	descReportFault = prometheus.NewDesc("sentinel_central_device_fault",
		"1 for each lane device a terminal reported missing or failing, by part (\"in-1 thermometer\").", []string{"device", "part"}, nil)
)

// reports keeps the latest report of each terminal.
type reports struct {
	mu sync.Mutex
	by map[string]Report
}

var _ prometheus.Collector = (*reports)(nil)

func (r *reports) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descReportAt, descReportBacklog, descReportAlarms, descReportOffset, descReportFault} {
		ch <- d
	}
}

func (r *reports) Collect(ch chan<- prometheus.Metric) {
	r.mu.Lock()
	all := make([]Report, 0, len(r.by))
	for _, rep := range r.by {
		all = append(all, rep)
	}
	r.mu.Unlock()
	sort.Slice(all, func(i, j int) bool { return all[i].Device < all[j].Device })
	gauge := func(d *prometheus.Desc, v float64, labels ...string) {
		ch <- prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
	}
	for _, rep := range all {
		gauge(descReportAt, float64(rep.Received.UnixNano())/1e9, rep.Device)
		gauge(descReportBacklog, float64(rep.Backlog), rep.Device)
		gauge(descReportAlarms, float64(rep.Alarms), rep.Device)
		gauge(descReportOffset, rep.Offset.Seconds(), rep.Device)
		for _, part := range rep.Faults {
			gauge(descReportFault, 1, rep.Device, part)
		}
	}
}

// ObserveReport keeps a terminal's health report, replacing its previous
// one (an older report arriving late is ignored).
func (m *Metrics) ObserveReport(rep Report) {
	if m == nil {
		return
	}
	m.reports.mu.Lock()
	defer m.reports.mu.Unlock()
	if prev, ok := m.reports.by[rep.Device]; ok && prev.Received.After(rep.Received) {
		return
	}
	m.reports.by[rep.Device] = rep
}
