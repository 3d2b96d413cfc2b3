package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"sentinel/internal/cli"
	termclock "sentinel/internal/clock"
	"sentinel/sync/enrol"
)

// statusPollEvery is how often status --wait asks the daemon again.
const statusPollEvery = 500 * time.Millisecond

// terminalState is what status reads of the guard display's state
// (GET /state on listen.display): the same facts the guard sees.
type terminalState struct {
	Site  string `json:"site"`
	Lanes []struct {
		Name    string `json:"name"`
		Devices struct {
			Scanner     string `json:"scanner"`
			Camera      string `json:"camera"`
			Thermometer string `json:"thermometer"`
		} `json:"devices"`
		Verdict *struct {
			Outcome string   `json:"outcome"`
			Colour  string   `json:"colour"`
			Message string   `json:"message"`
			Reasons []string `json:"reasons"`
			At      string   `json:"at"`
		} `json:"verdict"`
	} `json:"lanes"`
	Counts struct {
		Admitted  uint64 `json:"admitted"`
		Refused   uint64 `json:"refused"`
		Referred  uint64 `json:"referred"`
		Overrides uint64 `json:"overrides"`
	} `json:"counts"`
	Manual bool `json:"manual"`
	Status *struct {
		Online         bool   `json:"online"`
		LastSync       string `json:"last_sync"`
		NotEnrolled    bool   `json:"not_enrolled"`
		Revoked        string `json:"revoked"` // the centre's words; "" when not revoked
		ClockUntrusted bool   `json:"clock_untrusted"`
		ClockReason    string `json:"clock_reason"`
		Bundles        []struct {
			Kind      string `json:"kind"`
			Freshness string `json:"freshness"`
			Version   uint64 `json:"version"`
		} `json:"bundles"`
	} `json:"status"`
}

// statusReport is what status prints with --json.
type statusReport struct {
	Ready    bool           `json:"ready"`
	Problems []string       `json:"problems"`
	Device   string         `json:"device,omitempty"`
	Terminal string         `json:"terminal"`
	Site     string         `json:"site"`
	State    *terminalState `json:"state"`
}

// readyBundles are the bundles a terminal needs fresh to decide on its own.
var readyBundles = []string{"trust", "status-base", "policy", "config"}

// problems lists what keeps the terminal from deciding on its own, in the
// words of the installer's checklist.
func (s *terminalState) problems() []string {
	var out []string
	if s.Status == nil {
		return []string{"the daemon has not reported its state yet"}
	}
	st := s.Status
	if st.Revoked != "" {
		out = append(out, "revoked ("+st.Revoked+"): it decides offline but uploads nothing; enrol it again with a new ticket from ops (sentinelctl enrol --force --token TICKET)")
	}
	// A terminal that is not enrolled has no centre to sync with: its
	// clock, bundles and link wait for enrolment, not for the network or
	// for ops, so those lines say to enrol first.
	clockDo, bundleDo, onlineDo := "check the network to the centre", "wait for the next sync, or ask ops to publish it", ""
	if st.NotEnrolled {
		out = append(out, "not enrolled: run sentinelctl enrol with the ticket from ops")
		clockDo = "enrol first: an enrolled terminal gets the centre's signed time (or give it NTP)"
		bundleDo = "enrol first: enrolment brings the first bundles"
		onlineDo = " (it has no centre before it is enrolled)"
	}
	if st.ClockUntrusted {
		why := "no synchronised NTP and no signed time from the centre yet"
		if st.ClockReason != "" {
			// The display sends the reason as internal/clock's code;
			// say it in the display's words.
			why, _ = termclock.CodeWords(st.ClockReason, "en")
		}
		out = append(out, "clock not trusted ("+why+"): "+clockDo)
	}
	fresh := map[string]string{}
	for _, b := range st.Bundles {
		fresh[b.Kind] = b.Freshness
		if b.Version == 0 {
			fresh[b.Kind] = "none" // never installed: nothing is blocked
		}
	}
	for _, k := range readyBundles {
		if f := fresh[k]; f != "fresh" {
			if f == "" {
				f = "none"
			}
			out = append(out, fmt.Sprintf("%s bundle %s: %s", k, f, bundleDo))
		}
	}
	if !st.Online {
		out = append(out, "offline: the last exchange with the centre failed"+onlineDo)
	}
	if s.Manual {
		out = append(out, "manual procedure: the journal cannot record passages")
	}
	for _, l := range s.Lanes {
		for _, d := range []struct{ name, state string }{{"scanner", l.Devices.Scanner}, {"camera", l.Devices.Camera}, {"thermometer", l.Devices.Thermometer}} {
			if d.state == "fault" {
				out = append(out, fmt.Sprintf("lane %s: the %s has a fault: run sentinelctl selftest --lane %s", l.Name, d.name, l.Name))
			}
		}
	}
	return out
}

func runStatus(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinelctl status", stderr, cli.CommandHelp(ctx))
	cfgPath := fs.String("config", defaultConfigPath, "the terminal's configuration `FILE`")
	wait := fs.Duration("wait", 0, "wait up to `DURATION` (e.g. 2m) for the terminal to be ready instead of answering at once")
	asJSON := fs.Bool("json", false, "print JSON")
	fs.Usage = func() {
		fmt.Fprintln(stderr, `usage: sentinelctl status [--config FILE] [--wait DURATION] [--json]

Asks the running daemon (sentineld) what its guard display shows and says
whether the terminal is ready to decide on its own: enrolled and not
revoked, a trusted clock, fresh trust, status, policy and config bundles,
online, the journal recording, no device fault. It also shows the lanes, the
passages counted today and each lane's result on screen.
Exit status: 0 ready, 1 not ready (each problem with what to do), 2 usage.`)
		fs.PrintDefaults()
	}
	return cli.Exit(stderr, "sentinelctl status", func() error {
		if err := cli.ParseNoArgs(fs, args); err != nil {
			return err
		}
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		rep := statusReport{Terminal: cfg.Terminal.ID, Site: cfg.Terminal.SiteID, Problems: []string{}}
		if pem, err := os.ReadFile(filepath.Join(cfg.DataDir, enrol.CertFile)); err == nil {
			if c, err := enrol.ParseCertificatePEM(pem); err == nil {
				rep.Device, _ = enrol.DeviceID(c)
			}
		}
		url := "http://" + cfg.Listen.Display + "/state?lang=en"
		hc := &http.Client{Timeout: 5 * time.Second}
		deadline := time.Now().Add(*wait)
		for {
			st, err := fetchState(ctx, hc, url)
			if err != nil {
				rep.State, rep.Problems = nil, []string{fmt.Sprintf("the daemon does not answer at %s (%v): is sentineld running? (systemctl status sentineld)", cfg.Listen.Display, err)}
			} else {
				rep.State, rep.Problems = st, st.problems()
			}
			rep.Ready = len(rep.Problems) == 0
			if rep.Ready || !time.Now().Before(deadline) || ctx.Err() != nil {
				break
			}
			select {
			case <-ctx.Done():
			case <-time.After(statusPollEvery):
			}
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(rep); err != nil {
				return err
			}
		} else {
			printStatus(stdout, rep)
		}
		if !rep.Ready {
			return cli.ErrReported
		}
		return nil
	}())
}

func fetchState(ctx context.Context, hc *http.Client, url string) (*terminalState, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("answered %s", resp.Status)
	}
	var st terminalState
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&st); err != nil {
		return nil, fmt.Errorf("its state does not read: %w", err)
	}
	return &st, nil
}

func printStatus(w io.Writer, rep statusReport) {
	device := rep.Device
	if device == "" {
		device = "not enrolled"
	}
	fmt.Fprintf(w, "terminal %s at site %s (device %s)\n", rep.Terminal, rep.Site, device)
	if st := rep.State; st != nil && st.Status != nil {
		s := st.Status
		clock := "trusted"
		if s.ClockUntrusted {
			clock = "NOT trusted"
		}
		centre := "online"
		if !s.Online {
			centre = "OFFLINE"
		}
		if s.LastSync != "" {
			centre += ", " + s.LastSync
		}
		var bs []string
		for _, b := range s.Bundles {
			if b.Version > 0 {
				bs = append(bs, fmt.Sprintf("%s %s (v%d)", b.Kind, b.Freshness, b.Version))
			} else {
				bs = append(bs, b.Kind+" none")
			}
		}
		fmt.Fprintf(w, "clock:    %s\ncentre:   %s\nbundles:  %s\n", clock, centre, strings.Join(bs, ", "))
	}
	if st := rep.State; st != nil {
		for _, l := range st.Lanes {
			fmt.Fprintf(w, "lane %s: scanner %s, camera %s, thermometer %s", l.Name, l.Devices.Scanner, l.Devices.Camera, l.Devices.Thermometer)
			if v := l.Verdict; v != nil {
				fmt.Fprintf(w, "; on screen: %s %s at %s", strings.ToUpper(v.Outcome), v.Colour, v.At)
				if v.Message != "" {
					fmt.Fprintf(w, " (%s)", v.Message)
				}
			}
			fmt.Fprintln(w)
		}
		c := st.Counts
		fmt.Fprintf(w, "today:    %d admitted, %d refused, %d referred, %d overrides\n", c.Admitted, c.Refused, c.Referred, c.Overrides)
	}
	if rep.Ready {
		fmt.Fprintln(w, "READY: the terminal decides on its own")
		return
	}
	fmt.Fprintln(w, "NOT READY:")
	for _, p := range rep.Problems {
		fmt.Fprintf(w, "  - %s\n", p)
	}
}
