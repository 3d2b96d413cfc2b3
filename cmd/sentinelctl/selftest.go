package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/physic"

	"sentinel/device/camera"
	"sentinel/device/scanner"
	"sentinel/device/signal"
	"sentinel/device/thermo"
	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/cli"
	sentinelhw "sentinel/internal/hardware"
	"sentinel/sync/enrol"

	"sentinel/internal/wallclock"
)

// Results of one check.
const (
	statusOK      = "ok"
	statusFail    = "FAIL"
	statusSkipped = "skipped"
)

// checkResult is one line of the selftest's table.
type checkResult struct {
	Lane   string `json:"lane"`
	Device string `json:"device"` // scanner[0], camera, thermometer, relay, tower, buzzer
	What   string `json:"what"`   // the device as configured
	Status string `json:"status"` // ok, FAIL or skipped
	Detail string `json:"detail"`
	// Check says what to check, in plain words, when the check failed.
	Check string `json:"check,omitempty"`
}

type selftestOptions struct {
	timeout   time.Duration // how long to wait for a scanned or shown code
	noRead    bool          // presence only: no code needs to be shown
	noRelay   bool          // leave the gate's relay alone
	step      time.Duration // how long each lamp stays lit
	prompts   io.Writer     // where instructions for the installer go
	stateDirs func(lane string) string
}

// runSelftest runs "sentinelctl selftest".
func runSelftest(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := cli.NewFlagSet("sentinelctl selftest", stderr, cli.CommandHelp(ctx))
	cfgPath := fs.String("config", defaultConfigPath, "the terminal's configuration file")
	asJSON := fs.Bool("json", false, "print the results as one JSON object")
	lane := fs.String("lane", "", "test only this lane")
	timeout := fs.Duration("timeout", 20*time.Second, "how long to wait for a code at each scanner and camera")
	noRead := fs.Bool("no-read", false, "only check that scanners and cameras are there; do not wait for a code")
	noRelay := fs.Bool("no-relay", false, "do not pulse the gate's relay")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "usage: sentinelctl selftest [--config FILE] [--lane NAME] [--json] [--timeout 20s] [--no-read] [--no-relay]")
		fmt.Fprintln(stderr)
		fmt.Fprintln(stderr, "Probes every configured device: each scanner must read a code and each camera")
		fmt.Fprintln(stderr, "decode one (show any QR code when asked); the thermometer must answer with a sane")
		fmt.Fprintln(stderr, "room temperature; the light tower lights green, yellow and red in turn, the buzzer")
		fmt.Fprintln(stderr, "beeps and the relay clicks once (the gate releases once: stand clear). Without --lane it")
		fmt.Fprintln(stderr, "also checks that the clock can be trusted (NTP, or the centre's signed time) and says why not.")
		fmt.Fprintln(stderr, "It also says whether the trust bundle carries the EU value sets (without them the codes")
		fmt.Fprintln(stderr, "of EU certificates are not checked against the EU's lists).")
		fmt.Fprintln(stderr, "Stop the daemon first (systemctl stop sentineld): it holds the devices.")
		fmt.Fprintln(stderr, "Exit status: 0 all passed, 1 any failed, 2 usage error.")
		fmt.Fprintln(stderr)
		fs.PrintDefaults()
	}
	return cli.Exit(stderr, "sentinelctl selftest", func() error {
		pos, err := cli.Parse(fs, args)
		if err != nil {
			return err
		}
		if len(pos) > 0 || *timeout <= 0 {
			fs.Usage()
			return cli.Usagef("takes no arguments and a positive --timeout")
		}
		cfg, err := loadConfig(*cfgPath)
		if err != nil {
			return err
		}
		lanes := cfg.Lanes
		if *lane != "" {
			l := cfg.Lane(*lane)
			if l == nil {
				return cli.Usagef("no lane %q in %s", *lane, *cfgPath)
			}
			lanes = []firmwareconfig.Lane{*l}
		}
		opts := selftestOptions{
			timeout: *timeout, noRead: *noRead, noRelay: *noRelay,
			step: 700 * time.Millisecond, prompts: stderr, stateDirs: cfg.LaneStateDir,
		}
		hw := openHardware()
		var results []checkResult
		// The enrolment is a row of its own only when it fails (revoked,
		// a broken or expired certificate); otherwise a line below the table.
		enrolment := checkEnrolment(cfg.DataDir)
		if enrolment.Status == statusFail {
			results = append(results, enrolment)
		}
		valueSets := checkValueSets(cfg.DataDir, time.Now())
		euRules := checkEURules(cfg.DataDir, time.Now())
		for _, l := range lanes {
			results = append(results, selftestLane(ctx, hw, l, opts)...)
			if ctx.Err() != nil {
				break
			}
		}
		if *lane == "" && ctx.Err() == nil && hw.timeProbe != nil {
			results = append(results, checkClock(ctx, cfg, hw.timeProbe()))
		}
		failed := 0
		for _, r := range results {
			if r.Status == statusFail {
				failed++
			}
		}
		if *asJSON {
			enc := json.NewEncoder(stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(struct {
				OK        bool          `json:"ok"`
				Results   []checkResult `json:"results"`
				Enrolment checkResult   `json:"enrolment"`
				ValueSets checkResult   `json:"value_sets"`
				EURules   checkResult   `json:"eu_rules"`
			}{failed == 0 && ctx.Err() == nil, results, enrolment, valueSets, euRules}); err != nil {
				return err
			}
		} else {
			printSelftest(stdout, results, failed)
			if enrolment.Status != statusFail {
				fmt.Fprintf(stdout, "enrolment: %s\n", enrolment.Detail)
			}
			fmt.Fprintf(stdout, "EU value sets: %s\n", valueSets.Detail)
			fmt.Fprintf(stdout, "EU business rules: %s\n", euRules.Detail)
		}
		if ctx.Err() != nil {
			return errors.New("interrupted")
		}
		if failed > 0 {
			return cli.ErrReported
		}
		return nil
	}())
}

func printSelftest(w io.Writer, results []checkResult, failed int) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "LANE\tDEVICE\tRESULT\tDETAIL")
	for _, r := range results {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Lane, r.Device, r.Status, r.Detail)
	}
	tw.Flush()
	if failed > 0 {
		fmt.Fprintln(w)
		fmt.Fprintln(w, "What to check:")
		for _, r := range results {
			if r.Status == statusFail {
				fmt.Fprintf(w, "  lane %s, %s (%s): %s\n", r.Lane, r.Device, r.What, r.Check)
			}
		}
	}
	fmt.Fprintln(w)
	if failed == 0 {
		fmt.Fprintf(w, "selftest: all %d checks passed\n", len(results))
		return
	}
	fmt.Fprintf(w, "selftest: %d of %d checks FAILED\n", failed, len(results))
}

// checkEnrolment says whether the terminal holds an identity and whether
// the centre revoked it (sentineld records the centre's word).
func checkEnrolment(dataDir string) checkResult {
	r := checkResult{Lane: "-", Device: "enrolment", What: dataDir}
	rev, revoked, err := enrol.Revoked(dataDir)
	if err != nil {
		return r.fail(err.Error(), "check the data directory's permissions")
	}
	if revoked {
		when := ""
		if !rev.At.IsZero() {
			when = " on " + rev.At.Format(time.RFC3339)
		}
		return r.fail(fmt.Sprintf("REMOVED FROM SERVICE: the centre revoked device %s%s (%s)", rev.Device, when, rev.Message),
			"call the central office (ops): this terminal was removed from service; it serves again only after ops make a new token and the installer runs 'sentinelctl enrol --force --token TICKET'")
	}
	data, err := os.ReadFile(filepath.Join(dataDir, enrol.CertFile))
	if err != nil {
		return r.skip("not enrolled: run 'sentinelctl enrol --token TICKET' with the ticket ops made ('sentinel-central devices add')")
	}
	cert, err := enrol.ParseCertificatePEM(data)
	if err != nil {
		return r.fail(fmt.Sprintf("%s: %v", enrol.CertFile, err), "enrol again: 'sentinelctl enrol --force --token TICKET'")
	}
	id, _ := enrol.DeviceID(cert)
	if time.Now().After(cert.NotAfter) {
		return r.fail(fmt.Sprintf("device %s: certificate expired %s", id, cert.NotAfter.UTC().Format(time.RFC3339)),
			"enrol again with a new token: 'sentinelctl enrol --force --token TICKET'")
	}
	return r.ok(fmt.Sprintf("device %s, certificate until %s", id, cert.NotAfter.UTC().Format(time.RFC3339)))
}

// selftestLane checks one lane's devices in turn: scanners, camera,
// thermometer, outputs.
func selftestLane(ctx context.Context, hw hardware, l firmwareconfig.Lane, opts selftestOptions) []checkResult {
	var out []checkResult
	for i, s := range l.Scanners {
		if ctx.Err() != nil {
			return out
		}
		out = append(out, checkScanner(ctx, hw, l.Name, i, s, opts))
	}
	if l.Camera != nil && ctx.Err() == nil {
		out = append(out, checkCamera(ctx, hw, l.Name, *l.Camera, opts))
	}
	if l.Thermometer != nil && ctx.Err() == nil {
		out = append(out, checkThermometer(hw, l.Name, *l.Thermometer, opts))
	}
	if ctx.Err() == nil {
		out = append(out, checkOutputs(hw, l.Name, l.Outputs, opts)...)
	}
	return out
}

// presenceWait is how long --no-read gives a scanner or camera to open.
const presenceWait = 3 * time.Second

func checkScanner(ctx context.Context, hw hardware, lane string, i int, sc firmwareconfig.Scanner, opts selftestOptions) checkResult {
	r := checkResult{Lane: lane, Device: fmt.Sprintf("scanner[%d]", i), What: describeScanner(sc)}
	advice := scannerAdvice(sc)
	src, err := hw.scanner(fmt.Sprintf("%s/%s", lane, r.Device), sc)
	if err != nil {
		return r.fail(err.Error(), "fix this scanner's block in the configuration: "+advice)
	}
	defer src.Close()

	wait := opts.timeout
	if opts.noRead {
		wait = min(wait, presenceWait)
	} else {
		fmt.Fprintf(opts.prompts, "lane %s, %s (%s): scan any code now (waiting up to %v)\n", lane, r.Device, r.What, wait)
	}
	cctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	type next struct {
		code scanner.Code
		err  error
	}
	done := make(chan next, 1)
	go func() {
		c, err := src.Next(cctx)
		done <- next{c, err}
	}()
	// A scanner that cannot be opened is reported at once, not after the
	// whole wait: the source keeps retrying in the background.
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var res next
wait:
	for {
		select {
		case res = <-done:
			break wait
		case <-tick.C:
			if st := src.Status(); st.State == scanner.StateMissing && st.Attempts >= 2 {
				cancel()
				res = <-done
				break wait
			}
		}
	}
	st := src.Status()
	dev := st.Device
	if dev == "" {
		dev = "no device"
	}
	switch {
	case res.err == nil:
		return r.ok(fmt.Sprintf("read a %d-byte code on %s", len(res.code.Text), dev))
	case st.State == scanner.StateMissing:
		reason := st.Reason
		if reason == "" {
			reason = "not found"
		}
		return r.fail("missing: "+reason, advice)
	case ctx.Err() != nil:
		return r.fail("interrupted", "run the selftest again")
	case errors.Is(res.err, context.DeadlineExceeded) && st.State == scanner.StatePresent && opts.noRead:
		return r.ok("present on " + dev + " (reading not tested)")
	case errors.Is(res.err, context.DeadlineExceeded) && st.State == scanner.StatePresent:
		check := "scan a code with it while the selftest waits"
		if sc.Type == firmwareconfig.ScannerSerial {
			check += fmt.Sprintf("; if it beeps but nothing arrives, set its speed to %d baud and its suffix to %s as in the configuration, or change the configuration to match the scanner", sc.Baud, strings.ToUpper(string(sc.Framing)))
		} else {
			check += "; if it beeps but nothing arrives, check that it is in USB keyboard (HID) mode with the US layout"
		}
		return r.fail(fmt.Sprintf("connected on %s but read no code in %v", dev, wait), check)
	case errors.Is(res.err, context.DeadlineExceeded):
		return r.fail(fmt.Sprintf("did not open within %v", wait), advice)
	}
	return r.fail(res.err.Error(), "scan the code again; if this repeats, "+advice)
}

func scannerAdvice(sc firmwareconfig.Scanner) string {
	const daemon = "; stop sentineld while testing (systemctl stop sentineld), since it holds the scanner"
	if sc.Type == firmwareconfig.ScannerHID {
		return "check the scanner's USB cable, that the device path exists (ls /dev/input/by-id/), and that the user sentinel is in group input" + daemon
	}
	if sc.USB != "" {
		return "check the scanner's USB cable, that it is in USB CDC (virtual COM port) mode, and that lsusb lists " + sc.USB + "; the user sentinel must be in group dialout" + daemon
	}
	return "check the scanner's cable and power, that " + sc.Port + " exists (ls /dev/serial/by-id/), and that the user sentinel is in group dialout" + daemon
}

func checkCamera(ctx context.Context, hw hardware, lane string, c firmwareconfig.Camera, opts selftestOptions) checkResult {
	r := checkResult{Lane: lane, Device: "camera", What: describeCamera(c)}
	advice := "check the camera's cable and power, that the user sentinel is in group video, the device in the configuration (v4l2-ctl --list-devices), and that sentineld is stopped (it holds the camera)"
	if c.Source == firmwareconfig.CameraMJPEG || c.Source == firmwareconfig.CameraFFmpeg {
		advice = "check that the camera is powered and reachable on the network (open its stream address in a browser or with ffplay) and the address in the configuration"
	}
	src, err := hw.camera(ctx, c)
	if err != nil {
		return r.fail(err.Error(), advice)
	}
	defer src.Close()
	wait := opts.timeout
	if opts.noRead {
		wait = min(wait, presenceWait)
	} else {
		fmt.Fprintf(opts.prompts, "lane %s, camera (%s): show any QR code to the camera now (waiting up to %v)\n", lane, r.What, wait)
	}
	cctx, cancel := context.WithTimeout(ctx, wait)
	defer cancel()
	dec := camera.NewDecoder()
	frames := 0
	var size image.Point
	var lastErr error
	for {
		img, err := src.Next(cctx)
		if err != nil {
			if !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, context.Canceled) {
				lastErr = err
			}
			break
		}
		frames++
		size = img.Bounds().Size()
		if opts.noRead {
			break
		}
		res, err := dec.Decode(img)
		if err == nil {
			return r.ok(fmt.Sprintf("%d frames of %dx%d; decoded a %d-byte code", frames, size.X, size.Y, len(res.Payload)))
		}
	}
	switch {
	case ctx.Err() != nil:
		return r.fail("interrupted", "run the selftest again")
	case frames == 0 && lastErr != nil:
		return r.fail("no frames: "+lastErr.Error(), advice)
	case frames == 0:
		return r.fail(fmt.Sprintf("no frame in %v", wait), advice)
	case opts.noRead:
		return r.ok(fmt.Sprintf("delivers frames of %dx%d (decoding not tested)", size.X, size.Y))
	}
	return r.fail(fmt.Sprintf("%d frames of %dx%d but no code decoded in %v", frames, size.X, size.Y, wait),
		"hold a QR code still, 20 to 40 cm in front of the camera, and run the selftest again; if it still fails, check the focus, and light the code without glare on the phone's screen")
}

func checkThermometer(hw hardware, lane string, t firmwareconfig.Thermometer, opts selftestOptions) checkResult {
	r := checkResult{Lane: lane, Device: "thermometer", What: describeThermometer(t)}
	bus := t.Bus
	if bus == "" {
		bus = "1"
	}
	src, closer, err := hw.thermometer(t)
	if err != nil {
		return r.fail(err.Error(), "check that I2C is enabled (dtparam=i2c_arm=on on a Raspberry Pi), the bus name in the configuration (ls /dev/i2c-*), and that the user sentinel is in group i2c")
	}
	defer closer.Close()
	cal, calErr := thermo.LoadCalibration(opts.stateDirs(lane))
	cfg := thermo.DefaultSamplerConfig()
	cfg.Clock = hw.clock
	if calErr == nil {
		cfg.Calibration = cal
	}
	s, err := thermo.NewSampler(src, cfg)
	if err != nil {
		return r.fail(err.Error(), "report this to the terminal's supplier")
	}
	var smp thermo.Sample
	for range 3 {
		if smp, err = s.Check(); err != nil {
			break
		}
	}
	if err != nil {
		var ue *thermo.UnavailableError
		reason := thermo.ReasonNone
		if errors.As(err, &ue) {
			reason = ue.Reason
		}
		return r.fail(err.Error(), thermoAdvice(reason, t, bus))
	}
	detail := fmt.Sprintf("room %s, sensor sees %s", fmtCelsius(smp.Ambient), fmtCelsius(smp.Object))
	switch {
	case calErr == nil:
		detail += fmt.Sprintf("; calibrated %s", cal.At.UTC().Format(time.DateOnly))
	case errors.Is(calErr, thermo.ErrNoCalibration):
		detail += "; not calibrated yet: run sentinelctl calibrate thermo --lane " + lane
	default:
		detail += "; calibration unreadable: " + calErr.Error()
	}
	return r.ok(detail)
}

func thermoAdvice(reason thermo.Reason, t firmwareconfig.Thermometer, bus string) string {
	switch reason {
	case thermo.ReasonAmbient:
		return "the thermometer measures people only in a room between 10 and 40 °C (it reads the room from its own temperature): shade the terminal from sun, drafts and heaters, let it settle for 30 minutes, and run the selftest again"
	case thermo.ReasonCorrupt:
		return "transfers on the I2C bus are corrupted: shorten or shield the sensor's cable (at most about 1 m), and check its ground"
	case thermo.ReasonSensorFlag, thermo.ReasonStuck, thermo.ReasonOutOfRange:
		return "the sensor reports a fault: power-cycle the terminal; if this persists, replace the sensor"
	}
	return fmt.Sprintf("check the sensor's wiring (SDA, SCL, 3.3 V, GND) and its address: i2cdetect -y %s should show %02x", bus, t.Address)
}

// checkOutputs toggles the outputs in a pattern the installer can see and
// hear: green, yellow, red in turn, one beep, one relay pulse.
func checkOutputs(hw hardware, lane string, o firmwareconfig.Outputs, opts selftestOptions) []checkResult {
	var out []checkResult
	pinAdvice := func(pins ...string) string {
		return fmt.Sprintf("check the pin names in the configuration (%s), the wiring to the board, and that the user sentinel is in group gpio", strings.Join(pins, ", "))
	}
	if t := o.Tower; t != nil {
		var names, lamps []string
		for _, c := range []struct{ colour, pin string }{{"green", t.Green}, {"yellow", t.Yellow}, {"red", t.Red}} {
			if c.pin != "" {
				names = append(names, c.pin)
				lamps = append(lamps, c.colour+" "+c.pin)
			}
		}
		r := checkResult{Lane: lane, Device: "tower", What: strings.Join(lamps, ", ") + activeLow(t.ActiveLow)}
		pins, openErr := sentinelhw.TowerPins(t, hw.pin)
		if openErr != nil {
			out = append(out, r.fail(openErr.Error(), pinAdvice(names...)))
		} else if err := showTower(hw, pins, t.ActiveLow, opts.step); err != nil {
			out = append(out, r.fail(err.Error(), pinAdvice(names...)))
		} else {
			out = append(out, r.ok("lit "+litColours(t)+" in turn, then off: check that you saw each"))
		}
	}
	if b := o.Buzzer; b != nil {
		r := checkResult{Lane: lane, Device: "buzzer", What: b.Pin + activeLow(b.ActiveLow)}
		if err := beep(hw, b); err != nil {
			out = append(out, r.fail(err.Error(), pinAdvice(b.Pin)+"; the buzzer must be an active one"))
		} else {
			out = append(out, r.ok("beeped once: check that you heard it"))
		}
	}
	if rl := o.Relay; rl != nil {
		r := checkResult{Lane: lane, Device: "relay", What: fmt.Sprintf("%s pulse %v%s", rl.Pin, rl.Pulse, activeLow(rl.ActiveLow))}
		switch {
		case opts.noRelay:
			out = append(out, r.skip("--no-relay"))
		default:
			if err := pulse(hw, rl); err != nil {
				out = append(out, r.fail(err.Error(), pinAdvice(rl.Pin)+"; if the relay is held, switch off its power"))
			} else {
				out = append(out, r.ok(fmt.Sprintf("pulsed once for %v: check that it clicked and the gate released once", rl.Pulse)))
			}
		}
	}
	return out
}

func litColours(t *firmwareconfig.Tower) string {
	var c []string
	for _, x := range []struct{ name, pin string }{{"green", t.Green}, {"yellow", t.Yellow}, {"red", t.Red}} {
		if x.pin != "" {
			c = append(c, x.name)
		}
	}
	return strings.Join(c, ", ")
}

func showTower(hw hardware, pins [3]gpio.PinOut, activeLow bool, step time.Duration) error {
	tw, err := signal.NewTower(pins[0], pins[1], pins[2], &signal.TowerOpts{ActiveLow: activeLow})
	if err != nil {
		return err
	}
	defer tw.Halt()
	for i, l := range []signal.Light{signal.Green, signal.Yellow, signal.Red} {
		if pins[i] == nil {
			continue
		}
		if err := tw.Set(l); err != nil {
			return err
		}
		<-hw.clock.After(step)
	}
	return tw.Set(signal.Off)
}

func beep(hw hardware, b *firmwareconfig.Buzzer) error {
	p, err := hw.pin(b.Pin)
	if err != nil {
		return err
	}
	bz, err := signal.NewBuzzer(p, &signal.BuzzerOpts{ActiveLow: b.ActiveLow, Clock: hw.clock})
	if err != nil {
		return err
	}
	defer bz.Halt()
	return bz.Play(signal.DefaultPatterns().Admit)
}

func pulse(hw hardware, rl *firmwareconfig.Relay) error {
	p, err := hw.pin(rl.Pin)
	if err != nil {
		return err
	}
	r, err := signal.NewRelay(p, &signal.RelayOpts{ActiveLow: rl.ActiveLow, PulseLength: rl.Pulse.Std(), Clock: hw.clock})
	if err != nil {
		return err
	}
	defer r.Halt()
	return r.Trigger()
}

func (r checkResult) ok(detail string) checkResult {
	r.Status, r.Detail = statusOK, detail
	return r
}

func (r checkResult) fail(detail, check string) checkResult {
	r.Status, r.Detail, r.Check = statusFail, detail, check
	return r
}

func (r checkResult) skip(detail string) checkResult {
	r.Status, r.Detail = statusSkipped, detail
	return r
}

// fmtCelsius formats a temperature in °C with one decimal.
func fmtCelsius(t physic.Temperature) string {
	return fmt.Sprintf("%.1f °C", celsius(t))
}

func celsius(t physic.Temperature) float64 {
	return float64(t-physic.ZeroCelsius) / float64(physic.Kelvin)
}

// ---------------------------------------------------------------------------
// The machine: every device the installer commands open, and time. Only
// hostHardware touches real hardware; tests replace openHardware.
// ---------------------------------------------------------------------------

// frameSource delivers a camera's frames as grey images.
type frameSource interface {
	// Next blocks until the next frame or until ctx is done.
	Next(ctx context.Context) (*image.Gray, error)
	Close() error
}

// hardware opens the devices that a configuration names.
type hardware struct {
	// scanner returns a lane's scanner; the device itself opens on Next.
	scanner func(name string, c firmwareconfig.Scanner) (scanner.Source, error)
	// camera opens a lane's camera; ctx bounds a child process.
	camera func(ctx context.Context, c firmwareconfig.Camera) (frameSource, error)
	// thermometer opens a lane's thermometer and what must be closed after.
	thermometer func(c firmwareconfig.Thermometer) (thermo.Source, io.Closer, error)
	// pin opens a GPIO pin by name.
	pin func(name string) (gpio.PinIO, error)
	// clock times everything above.
	clock wallclock.Clock
	// timeProbe judges whether the terminal's clock can be trusted.
	timeProbe func() timeProbe
}

// openHardware returns the machine the commands use; tests replace it.
var openHardware = hostHardware

// hostHardware opens real devices with internal/hardware.
func hostHardware() hardware {
	c := wallclock.System{}
	return hardware{
		scanner: sentinelhw.OpenScanner,
		camera: func(ctx context.Context, cc firmwareconfig.Camera) (frameSource, error) {
			return openCamera(ctx, cc, c)
		},
		thermometer: sentinelhw.OpenThermometer,
		pin:         signal.OpenPin,
		clock:       c,
		timeProbe:   hostTimeProbe,
	}
}

// openCamera opens a camera; a replay camera loops at its frame rate on
// clk. ctx bounds an ffmpeg child process; Close ends every source.
func openCamera(ctx context.Context, c firmwareconfig.Camera, clk wallclock.Clock) (frameSource, error) {
	src, err := sentinelhw.OpenCamera(ctx, c, &sentinelhw.CameraOpts{Pace: clk})
	if err != nil {
		return nil, err
	}
	if f, ok := src.(frameSource); ok {
		return f, nil
	}
	return nopCloser{src}, nil
}

// nopCloser is a frame source that holds nothing to close.
type nopCloser struct{ camera.FrameSource }

func (nopCloser) Close() error { return nil }

var (
	_ frameSource = nopCloser{}
	_ frameSource = (*camera.V4L2)(nil)
	_ frameSource = (*camera.MJPEGStream)(nil)
	_ frameSource = (*camera.FFmpeg)(nil)
)
