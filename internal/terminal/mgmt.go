package terminal

import (
	"fmt"
	"net/http"
	"strings"

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
	mux.Handle("GET /metrics", d.metricsHandler())
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
