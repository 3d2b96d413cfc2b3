package gate

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"
)

// Metrics are the gate's counters since start. They are safe for concurrent
// use.
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
	decideCount                atomic.Uint64
	decideNanos                atomic.Uint64
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

func (m *Metrics) passages(v Verdict) *atomic.Uint64 {
	switch v {
	case Admit:
		return &m.admitted
	case Deny:
		return &m.denied
	default:
		return &m.referred
	}
}

func (m *Metrics) observeDecide(d time.Duration) {
	m.decideCount.Add(1)
	m.decideNanos.Add(uint64(d))
}

// WritePrometheus writes the counters in the Prometheus text exposition
// format (version 0.0.4).
func (m *Metrics) WritePrometheus(w io.Writer) error {
	c := m.Counts()
	type metric struct {
		name, help, typ string
		lines           []string
	}
	counter := func(name, help string, v uint64) metric {
		return metric{name, help, "counter", []string{fmt.Sprintf("%s %d", name, v)}}
	}
	ms := []metric{
		{"sentinel_passages_total", "Passages recorded, by verdict.", "counter", []string{
			fmt.Sprintf(`sentinel_passages_total{verdict="admit"} %d`, c.Admitted),
			fmt.Sprintf(`sentinel_passages_total{verdict="deny"} %d`, c.Denied),
			fmt.Sprintf(`sentinel_passages_total{verdict="refer"} %d`, c.Referred),
		}},
		counter("sentinel_overrides_total", "Guard overrides recorded.", c.Overrides),
		counter("sentinel_overrides_refused_total", "Override attempts refused (wrong PIN, locked, nothing to override).", c.OverridesRefused),
		counter("sentinel_override_pin_failures_total", "Override attempts with a wrong guard PIN (each is journalled).", c.PINFailures),
		counter("sentinel_override_pin_lockouts_total", "Override lockouts started by wrong guard PINs.", c.PINLockouts),
		counter("sentinel_journal_failures_total", "Passages the journal could not commit (gate kept shut).", c.JournalFailures),
		counter("sentinel_output_failures_total", "Failures driving the relay, light tower or buzzer.", c.OutputFailures),
		counter("sentinel_scan_errors_total", "Codes the scanners could not read whole.", c.ScanErrors),
		counter("sentinel_incomplete_cards_total", "Chunked SMART Health Cards not read whole in time.", c.Incomplete),
		counter("sentinel_replays_total", "Codes referred to the guard because this terminal admitted them moments ago.", c.Replays),
		{"sentinel_decide_seconds", "Time from payload to decision, without temperature and journal.", "summary", []string{
			fmt.Sprintf("sentinel_decide_seconds_sum %g", float64(m.decideNanos.Load())/1e9),
			fmt.Sprintf("sentinel_decide_seconds_count %d", m.decideCount.Load()),
		}},
	}
	for _, x := range ms {
		if _, err := fmt.Fprintf(w, "# HELP %s %s\n# TYPE %s %s\n", x.name, x.help, x.name, x.typ); err != nil {
			return err
		}
		for _, l := range x.lines {
			if _, err := fmt.Fprintln(w, l); err != nil {
				return err
			}
		}
	}
	return nil
}
