package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"sentinel/device/camera"
	"sentinel/device/scanner"
	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/cli"
	"sentinel/internal/wallclock"
)

// runScan runs "sentinelctl scan FILE..." and "sentinelctl scan --config".
func runScan(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinelctl scan", stderr, cli.CommandHelp(ctx))
	cfgPath := fs.String("config", "", "show codes live from the devices of this configuration file")
	asJSON := fs.Bool("json", false, "print one JSON object per file or code")
	lane := fs.String("lane", "", "with --config: only this lane's devices")
	count := fs.Int("count", 0, "with --config: stop after this many codes (0: until interrupted)")
	dur := fs.Duration("for", 0, "with --config: stop after this long (0: until interrupted)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sentinelctl scan [--json] FILE...")
		fmt.Fprintln(stderr, "       sentinelctl scan --config FILE [--lane NAME] [--count N] [--for 1m] [--json]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "With FILEs, decodes the QR code in each image (PNG, JPEG) with the camera's decoder")
		fmt.Fprintln(stderr, "and prints its text or 'no code found'; exit status 1 if any file had none.")
		fmt.Fprintln(stderr, "With --config, shows the codes that the configured scanners and cameras read, live,")
		fmt.Fprintln(stderr, "to aim the camera and test the scanners; Ctrl-C stops.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	return cli.Exit(stderr, "sentinelctl scan", func() error {
		files, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		switch {
		case *cfgPath == "" && len(files) == 0:
			fs.Usage()
			return cli.Usagef("give image files, or --config FILE to read the devices")
		case *cfgPath != "" && len(files) > 0:
			return cli.Usagef("give image files or --config, not both")
		case len(files) > 0 && (*lane != "" || *count != 0 || *dur != 0):
			return cli.Usagef("--lane, --count and --for go with --config")
		case *count < 0 || *dur < 0:
			return cli.Usagef("--count and --for must not be negative")
		}
		if len(files) > 0 {
			return scanFiles(ctx, files, *asJSON, stdout)
		}
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		return scanLive(ctx, cfg, liveOptions{lane: *lane, count: *count, dur: *dur, json: *asJSON}, stdout, stderr)
	}())
}

// scanFileResult is the --json output for one file.
type scanFileResult struct {
	File  string `json:"file"`
	Found bool   `json:"found"`
	// Text is the payload when it is UTF-8; Payload is the raw bytes
	// (base64 in JSON) otherwise.
	Text    string `json:"text,omitempty"`
	Payload []byte `json:"payload,omitempty"`
	Version int    `json:"version,omitempty"`
	ECLevel string `json:"ec_level,omitempty"`
	Error   string `json:"error,omitempty"`
}

// scanFiles decodes files; its error is cli.ErrReported when a file had
// no code or could not be read (the output says which).
func scanFiles(ctx context.Context, files []string, asJSON bool, stdout io.Writer) error {
	enc := json.NewEncoder(stdout)
	var status error
	for _, f := range files {
		if ctx.Err() != nil {
			return cli.ErrReported // interrupted: the output shows how far it got
		}
		res, err := camera.DecodeFile(f)
		r := scanFileResult{File: f, Found: err == nil}
		switch {
		case err == nil:
			r.Version, r.ECLevel = res.Version, res.ECLevel
			if utf8.Valid(res.Payload) {
				r.Text = string(res.Payload)
			} else {
				r.Payload = res.Payload
			}
		case errors.Is(err, camera.ErrNoCode):
			status = cli.ErrReported
		default:
			status = cli.ErrReported
			r.Error = err.Error()
		}
		if asJSON {
			enc.Encode(r)
			continue
		}
		switch {
		case r.Found:
			fmt.Fprintf(stdout, "%s: %s\n", f, printable(res.Payload))
		case r.Error != "":
			fmt.Fprintf(stdout, "%s: cannot read: %s\n", f, r.Error)
		default:
			fmt.Fprintf(stdout, "%s: no code found\n", f)
		}
	}
	return status
}

// printable returns a payload as is when it is printable text on one line,
// and quoted otherwise, so that it cannot move the terminal's cursor.
func printable(b []byte) string {
	s := string(b)
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) {
			return strconv.Quote(s)
		}
	}
	return s
}

type liveOptions struct {
	lane  string
	count int
	dur   time.Duration
	json  bool
}

// liveCode is one code read live, and the --json output for it.
type liveCode struct {
	At      time.Time `json:"at"`
	Lane    string    `json:"lane"`
	Device  string    `json:"device"`
	Text    string    `json:"text,omitempty"`
	Payload []byte    `json:"payload,omitempty"`
	raw     []byte
}

// liveDedup is how long the same code from a camera is shown once.
const liveDedup = 2 * time.Second

func scanLive(ctx context.Context, cfg *firmwareconfig.Config, opts liveOptions, stdout, stderr io.Writer) error {
	lanes := cfg.Lanes
	if opts.lane != "" {
		l := cfg.Lane(opts.lane)
		if l == nil {
			return cli.Usagef("no lane %q in the configuration", opts.lane)
		}
		lanes = []firmwareconfig.Lane{*l}
	}
	if opts.dur > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.dur)
		defer cancel()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()

	stderr = &lockedWriter{w: stderr} // the readers report from their goroutines
	hw := openHardware()
	codes := make(chan liveCode)
	var wg sync.WaitGroup
	sources := 0
	for _, l := range lanes {
		for i, sc := range l.Scanners {
			dev := fmt.Sprintf("scanner[%d]", i)
			src, err := hw.scanner(l.Name+"/"+dev, sc)
			if err != nil {
				fmt.Fprintf(stderr, "lane %s, %s: %v\n", l.Name, dev, err)
				continue
			}
			if w := sc.DedupWindow.Std(); w > 0 {
				// As the gate will see it: a code read twice within the
				// configured window once.
				src = scanner.NewDedup(src, scanner.DedupConfig{Window: w})
			}
			sources++
			wg.Go(func() {
				defer src.Close()
				liveScanner(ctx, l.Name, dev, src, codes, stderr)
			})
		}
		if l.Camera != nil {
			src, err := hw.camera(ctx, *l.Camera)
			if err != nil {
				fmt.Fprintf(stderr, "lane %s, camera: %v\n", l.Name, err)
				continue
			}
			sources++
			wg.Go(func() {
				defer src.Close()
				liveCamera(ctx, hw.clock, l.Name, src, codes, stderr)
			})
		}
	}
	if sources == 0 {
		return errors.New("no scanner or camera could be opened")
	}
	fmt.Fprintf(stderr, "reading from %d devices: scan or show codes; Ctrl-C stops\n", sources)
	go func() {
		wg.Wait()
		close(codes)
	}()

	enc := json.NewEncoder(stdout)
	n := 0
	type seen struct {
		payload []byte
		at      time.Time
	}
	last := map[string]seen{}
	for c := range codes {
		// A code held up to a camera is in every frame: show it once
		// within liveDedup. Scanners repeat as their dedup_window says.
		key := c.Lane + "\x00" + c.Device
		if p, ok := last[key]; ok && c.Device == "camera" && bytes.Equal(p.payload, c.raw) && c.At.Sub(p.at) < liveDedup {
			last[key] = seen{c.raw, c.At}
			continue
		}
		last[key] = seen{c.raw, c.At}
		if opts.json {
			enc.Encode(c)
		} else {
			fmt.Fprintf(stdout, "%s  %s  %-10s  %s\n", c.At.Format("15:04:05.000"), c.Lane, c.Device, printable(c.raw))
		}
		n++
		if opts.count > 0 && n >= opts.count {
			cancel()
			break
		}
	}
	cancel()
	for range codes {
		// Drain the readers that were mid-send.
	}
	return nil
}

func newLiveCode(at time.Time, lane, dev string, b []byte) liveCode {
	c := liveCode{At: at, Lane: lane, Device: dev, raw: b}
	if utf8.Valid(b) {
		c.Text = string(b)
	} else {
		c.Payload = b
	}
	return c
}

func liveScanner(ctx context.Context, lane, dev string, src scanner.Source, out chan<- liveCode, stderr io.Writer) {
	// Say when the scanner goes missing and when it is back: Next waits
	// quietly for a scanner that is unplugged.
	watch, stop := context.WithCancel(ctx)
	defer stop()
	go func() {
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		last := scanner.StateUnknown
		for {
			select {
			case <-watch.Done():
				return
			case <-tick.C:
			}
			st := src.Status()
			switch {
			case st.State == last:
			case st.State == scanner.StateMissing:
				fmt.Fprintf(stderr, "lane %s, %s: missing: %s\n", lane, dev, st.Reason)
			case st.State == scanner.StatePresent:
				fmt.Fprintf(stderr, "lane %s, %s: ready on %s\n", lane, dev, st.Device)
			}
			last = st.State
		}
	}()
	for {
		code, err := src.Next(ctx)
		switch {
		case err == nil:
			select {
			case out <- newLiveCode(code.At, lane, dev, code.Text):
			case <-ctx.Done():
				return
			}
		case ctx.Err() != nil, errors.Is(err, scanner.ErrClosed):
			return
		default:
			fmt.Fprintf(stderr, "lane %s, %s: %v\n", lane, dev, err)
		}
	}
}

func liveCamera(ctx context.Context, clk wallclock.Clock, lane string, src frameSource, out chan<- liveCode, stderr io.Writer) {
	// As the gate decodes: frames in which nothing moved are not.
	dec := camera.NewStill(nil, camera.StillConfig{})
	var lastErr string
	for {
		img, err := src.Next(ctx)
		if ctx.Err() != nil {
			return
		}
		if err != nil {
			if err.Error() != lastErr {
				fmt.Fprintf(stderr, "lane %s, camera: %v\n", lane, err)
				lastErr = err.Error()
			}
			select {
			case <-clk.After(time.Second):
			case <-ctx.Done():
				return
			}
			continue
		}
		res, err := dec.Decode(img)
		if err != nil {
			continue
		}
		select {
		case out <- newLiveCode(clk.Now(), lane, "camera", bytes.Clone(res.Payload)):
		case <-ctx.Done():
			return
		}
	}
}

// lockedWriter serialises writes from several goroutines.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}
