package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"strings"
	"sync"
	"syscall"
	"time"

	"sentinel/device/scanner"
	"sentinel/device/thermo"
	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/clock"
	"sentinel/internal/demo"
	"sentinel/internal/gate"
	"sentinel/internal/passage"
	"sentinel/internal/terminal"
	"sentinel/sync/journal"
)

type demoOptions struct {
	dataDir string // keep the demo's data here; empty: a temporary directory
	once    bool   // exit once every code has passed
	stdout  io.Writer
	logger  *slog.Logger
}

// runDemo prepares the demonstration terminal and runs the daemon on it,
// printing one line per passage.
func runDemo(ctx, drainCtx context.Context, o demoOptions) error {
	dir := o.dataDir
	if dir == "" {
		tmp, err := os.MkdirTemp("", "sentinel-demo-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(tmp)
		dir = tmp
	}
	// The demo is its own centre: it vouches for the time it signed its
	// bundles at, as a sync response's signed time would.
	mon := clock.New(clock.Options{})
	opts := demo.Options{Dir: dir, Now: time.Now()}
	mon.ObserveSignedTime(opts.Now, time.Millisecond)
	if o.once {
		// Tests run the demo beside other programs: take free ports.
		opts.Display, opts.Management = "127.0.0.1:0", "127.0.0.1:0"
	} else {
		// On a machine where another program (another demo, a web server)
		// holds the usual ports, the demo still runs: it takes free ports
		// and prints where the display and the metrics are.
		opts.Display = freeOr(firmwareconfig.DefaultDisplayListen, "guard display", o.logger)
		opts.Management = freeOr(firmwareconfig.DefaultManagementListen, "metrics", o.logger)
	}
	dm, err := demo.Prepare(opts)
	if err != nil {
		return err
	}
	defer dm.Close()
	if dm.Previous != "" {
		fmt.Fprintf(o.stdout, "Sentinel demo: the earlier run's terminal data is kept in %s\n", dm.Previous)
	}

	// The embedded centre: the terminal enrols with it before the lanes
	// start, and sync uploads the passages to it.
	centre, err := dm.StartCentral(ctx, o.logger.With("side", "central"))
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), centralShutdownTimeout)
		defer cancel()
		if err := centre.Close(sctx); err != nil {
			o.logger.Warn("stop the embedded central", "error", err)
		}
	}()

	p := &demoPrinter{w: o.stdout, codes: dm.Codes, next: map[string]int{}, done: make(chan struct{})}
	var feeder sync.WaitGroup
	defer feeder.Wait()
	to := terminal.Options{
		Config: dm.Config, Logger: o.logger, Clock: mon,
		// The simulated thermometers replay recorded I²C traffic.
		Thermometer: func(lane string, _ firmwareconfig.Thermometer) (thermo.Source, io.Closer, error) {
			return dm.Thermometer(lane)
		},
		Sampler:   demo.SamplerConfig,
		OnPassage: p.print,
		Serving: func(s terminal.Serving) {
			fmt.Fprintf(o.stdout, "Sentinel demo: data directory %s\n", dir)
			fmt.Fprintf(o.stdout, "guard display: http://%s  (override PIN %s)\n", s.Display, demo.GuardPIN)
			fmt.Fprintf(o.stdout, "metrics:       http://%s/metrics\n", s.Management)
			fmt.Fprintf(o.stdout, "central:       %s  (enrolled as %s)\n\n", centre.URL, centre.Device)
			fmt.Fprintf(o.stdout, "%-6s %-8s %-7s %-9s %-12s %s\n", "LANE", "CODE", "VERDICT", "TEMP", "NAME", "REASONS")
			serial := s.Scanners[demo.SerialLane+" scanner 1"]
			feeder.Go(func() {
				ready := func() bool { return serial != nil && serial.Status().State == scanner.StatePresent }
				if err := dm.Feed(drainCtx, ready); err != nil && !errors.Is(err, context.Canceled) {
					o.logger.Error("demo feed", "error", err)
				}
			})
		},
	}
	if o.once {
		to.Until = p.done
	}
	if err := terminal.Serve(ctx, drainCtx, to); err != nil {
		return err
	}
	// The daemon's last upload is done: what did the centre get of this
	// run's journal? (The centre's store keeps earlier runs' terminals.)
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), centralShutdownTimeout)
	defer cancel()
	run, err := journalled(dir)
	if err != nil {
		return err
	}
	got, err := centre.ReceivedEpoch(rctx, run.Epoch)
	if err != nil {
		return err
	}
	fmt.Fprintln(o.stdout, "\n"+centralLine(centre.Device, got))
	if o.once && (uint64(got.Passages) != uint64(run.Last) || !got.ExactlyOnce()) {
		return fmt.Errorf("the central holds %d passages of this run (%d distinct, high-water %d), want the %d the terminal journalled, exactly once", got.Passages, got.Unique, got.HighWater, run.Last)
	}
	if p.unexpected > 0 {
		return fmt.Errorf("%d of %d passages did not get the verdict the site's policy gives", p.unexpected, len(dm.Codes))
	}
	if o.once && p.seen < len(dm.Codes) {
		return fmt.Errorf("only %d of %d codes passed", p.seen, len(dm.Codes))
	}
	return nil
}

// journalled reads what the demo terminal's journal holds: its epoch and
// last record.
func journalled(dir string) (journal.VerifyResult, error) {
	r, err := journal.OpenReader(journal.Path(dir), time.Second)
	if err != nil {
		return journal.VerifyResult{}, fmt.Errorf("read the demo's journal: %w", err)
	}
	defer r.Close()
	res, err := r.Verify()
	if err != nil {
		return res, fmt.Errorf("verify the demo's journal: %w", err)
	}
	return res, nil
}

// centralShutdownTimeout bounds the embedded centre's shutdown and the
// query of what it received.
const centralShutdownTimeout = 3 * time.Second

// centralLine says what the embedded centre received from the terminal.
func centralLine(device string, r demo.Received) string {
	once := "exactly once"
	if !r.ExactlyOnce() {
		once = fmt.Sprintf("NOT exactly once: %d distinct, high-water %d", r.Unique, r.HighWater)
	}
	return fmt.Sprintf("central: %d passages received from %s (%s), %d holders opened", r.Passages, device, once, r.Holders)
}

// demoPrinter prints each passage as one line and checks it against the
// scenario: the lanes present their codes in order.
type demoPrinter struct {
	w     io.Writer
	codes []demo.Code

	mu         sync.Mutex
	next       map[string]int // lane → passages seen
	seen       int
	unexpected int
	done       chan struct{}
}

func (p *demoPrinter) print(r gate.Result) {
	p.mu.Lock()
	defer p.mu.Unlock()
	ps := r.Passage
	var code *demo.Code
	if ps.Override == nil {
		n := p.next[ps.Lane]
		p.next[ps.Lane]++
		for i := range p.codes {
			if p.codes[i].Lane != ps.Lane {
				continue
			}
			if n == 0 {
				code = &p.codes[i]
				break
			}
			n--
		}
	}
	kind := "?"
	if ps.Override != nil {
		kind = "override"
	} else if code != nil {
		kind = code.Kind
	}
	temp := "-"
	if ps.Temperature.Available() {
		temp = fmt.Sprintf("%.1f °C", ps.Temperature.Celsius())
	} else if ps.Temperature.State != passage.TempNotTaken {
		temp = string(ps.Temperature.State)
	}
	reasons := "-"
	if len(ps.Reasons) > 0 {
		reasons = strings.Join(ps.Reasons, ",")
	}
	name := r.MaskedName
	if name == "" {
		name = "-"
	}
	verdict := string(ps.Decision)
	if !r.Committed {
		verdict = "FAULT"
		reasons = gate.ReasonJournal
	}
	line := fmt.Sprintf("%-6s %-8s %-7s %-9s %-12s %s", ps.Lane, kind, verdict, temp, name, reasons)
	if code != nil && (code.Want != ps.Decision || !r.Committed) {
		p.unexpected++
		line += fmt.Sprintf("   UNEXPECTED: want %s", code.Want)
	}
	fmt.Fprintln(p.w, line)
	if code != nil {
		p.seen++
		if p.seen == len(p.codes) {
			close(p.done)
		}
	}
}

// freeOr returns addr when a listener can take it now, and otherwise a
// free port on the same host ("HOST:0"), saying so in the log: the demo's
// banner prints the address the daemon then listens on.
func freeOr(addr, what string, logger *slog.Logger) string {
	ln, err := net.Listen("tcp", addr)
	if err == nil {
		ln.Close()
		return addr
	}
	host, _, splitErr := net.SplitHostPort(addr)
	if splitErr != nil || !errors.Is(err, syscall.EADDRINUSE) {
		return addr // the daemon says what is wrong with it
	}
	logger.Warn("another program uses the "+what+"'s usual address: the demo takes a free port instead (the address is printed below)", "usual", addr)
	return net.JoinHostPort(host, "0")
}
