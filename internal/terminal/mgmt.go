package terminal

import (
	"fmt"
	"net/http"
	"strings"

	"sentinel/crypto/trust"
	"sentinel/sync/journal"
)

// mgmtHandler serves /healthz and /metrics on the management listener.
func (d *daemon) mgmtHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		problems := d.problems()
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		if len(problems) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
			fmt.Fprintln(w, strings.Join(problems, "\n"))
			return
		}
		fmt.Fprintln(w, "ok")
	})
	mux.HandleFunc("GET /metrics", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
		d.writeMetrics(w)
	})
	return mux
}

// problems lists what keeps the terminal from working: a journal that
// cannot commit. Stale bundles and a missing thermometer are not problems
// of the daemon: policy refers, and the display says why.
func (d *daemon) problems() []string {
	var p []string
	for _, a := range d.journal.Alarms() {
		if a.Kind == journal.AlarmCommit {
			p = append(p, "journal: "+a.Message)
		}
	}
	return p
}

// writeMetrics writes the gate's counters, the journal's alarms and the
// bundles' freshness in the Prometheus text format.
func (d *daemon) writeMetrics(w http.ResponseWriter) {
	d.gate.Metrics().WritePrometheus(w)
	fmt.Fprintln(w, "# HELP sentinel_journal_alarm Journal alarms raised (1) by kind.")
	fmt.Fprintln(w, "# TYPE sentinel_journal_alarm gauge")
	raised := map[journal.AlarmKind]bool{}
	for _, a := range d.journal.Alarms() {
		raised[a.Kind] = true
	}
	for _, k := range []journal.AlarmKind{journal.AlarmCorrupt, journal.AlarmCommit, journal.AlarmDisk, journal.AlarmPurge} {
		v := 0
		if raised[k] {
			v = 1
		}
		fmt.Fprintf(w, "sentinel_journal_alarm{kind=%q} %d\n", k, v)
	}
	now, _ := d.clock.Now()
	st := d.gate.State()
	fmt.Fprintln(w, "# HELP sentinel_bundle_freshness Freshness of each kind of bundle (1 for the state it is in).")
	fmt.Fprintln(w, "# TYPE sentinel_bundle_freshness gauge")
	states := []trust.Freshness{trust.FreshnessFresh, trust.FreshnessGrace, trust.FreshnessStale, trust.FreshnessBlocked}
	for _, k := range trust.Kinds() {
		f := st.Bundles[k].Freshness(now)
		for _, s := range states {
			v := 0
			if s == f {
				v = 1
			}
			fmt.Fprintf(w, "sentinel_bundle_freshness{kind=%q,state=%q} %d\n", k, s, v)
		}
	}
	fmt.Fprintln(w, "# HELP sentinel_enrolled Whether the terminal holds a pinned root and a trust bundle.")
	fmt.Fprintln(w, "# TYPE sentinel_enrolled gauge")
	fmt.Fprintf(w, "sentinel_enrolled %d\n", boolInt(st.Enrolled))
	d.writeSyncMetrics(w)
	fmt.Fprintln(w, "# HELP sentinel_lanes Lanes configured.")
	fmt.Fprintln(w, "# TYPE sentinel_lanes gauge")
	fmt.Fprintf(w, "sentinel_lanes %d\n", len(d.gate.Lanes()))
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}
