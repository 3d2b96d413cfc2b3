package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/jpeg"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"golang.org/x/sys/unix"
	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
	"periph.io/x/conn/v3/i2c/i2ctest"

	"sentinel/device/scanner"
	"sentinel/device/thermo"
	"sentinel/device/thermo/thermotest"
	firmwareconfig "sentinel/firmware-config"
	sentinelhw "sentinel/internal/hardware"
	"sentinel/internal/ptytest"
	"sentinel/internal/wallclock"
)

// fastClock is a virtual clock: After fires at once and moves the time
// on, so pulses, patterns and sampling take no real time and their lengths
// can still be measured. Tests whose devices block on real I/O (a serial
// scanner on a pseudo-terminal, a camera over HTTP) need it: a
// testing/synctest bubble does not move its time while a goroutine waits
// on I/O. Tests of devices that block only on channels and timers run in
// a bubble with the system clock instead (newBubbleMachine).
type fastClock struct {
	mu  sync.Mutex
	now time.Time
}

func newFastClock() *fastClock {
	return &fastClock{now: time.Date(2026, 11, 29, 9, 0, 0, 0, time.UTC)}
}

func (c *fastClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fastClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

// pinEvent is a change of a pin's level at a virtual time.
type pinEvent struct {
	pin   string
	level gpio.Level
	at    time.Time
}

// pinBoard hands out recording gpiotest pins and logs every change.
type pinBoard struct {
	clock  wallclock.Clock
	mu     sync.Mutex
	pins   map[string]*recPin
	events []pinEvent
	broken map[string]bool
}

type recPin struct {
	*gpiotest.Pin
	board *pinBoard
}

func (p *recPin) Out(l gpio.Level) error {
	if p.Read() != l {
		p.board.mu.Lock()
		p.board.events = append(p.board.events, pinEvent{p.N, l, p.board.clock.Now()})
		p.board.mu.Unlock()
	}
	return p.Pin.Out(l)
}

func (b *pinBoard) open(name string) (gpio.PinIO, error) {
	if b.broken[name] {
		return nil, fmt.Errorf("gpio: no pin called %q on this board", name)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if p, ok := b.pins[name]; ok {
		return p, nil
	}
	p := &recPin{Pin: &gpiotest.Pin{N: name}, board: b}
	b.pins[name] = p
	return p, nil
}

// changes returns the recorded changes of the named pins, in order.
func (b *pinBoard) changes(pins ...string) []string {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []string
	for _, e := range b.events {
		for _, p := range pins {
			if e.pin == p {
				out = append(out, fmt.Sprintf("%s=%s", e.pin, e.level))
			}
		}
	}
	return out
}

// mlxSamples is the traffic of n samples (object, then ambient, in °C) of
// the MLX90614 at 0x5A; the object temperature alternates by one step of
// 0.02 K so that the sensor does not look stuck.
func mlxSamples(n int, object, ambient float64) []i2ctest.IO {
	return thermotest.MLX90614Samples(thermo.DefaultAddr, n, degrees(object), degrees(ambient))
}

// fakeScanner is a scanner that yields the codes sent on its channel.
type fakeScanner struct {
	name  string
	codes chan string
	mu    sync.Mutex
	state scanner.State
}

func (f *fakeScanner) Next(ctx context.Context) (scanner.Code, error) {
	f.mu.Lock()
	f.state = scanner.StatePresent
	f.mu.Unlock()
	select {
	case c := <-f.codes:
		return scanner.Code{Text: []byte(c), Source: f.name, At: time.Now()}, nil
	case <-ctx.Done():
		return scanner.Code{}, ctx.Err()
	}
}

func (f *fakeScanner) Status() scanner.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return scanner.Status{Source: f.name, Kind: "hid", Device: "/dev/input/event-fake", State: f.state}
}

func (f *fakeScanner) Close() error { return nil }

var _ scanner.Source = (*fakeScanner)(nil)

// testMachine is the hardware of a test: real serial scanners (on ptys),
// fake HID scanners, replay cameras, thermometers replayed from I²C
// transcripts, recording GPIO pins and a virtual clock.
type testMachine struct {
	clock wallclock.Clock
	// probe is the clock's trust; trusted by NTP unless a test says
	// otherwise.
	probe    *fakeTimeProbe
	board    *pinBoard
	hidCodes chan string
	// buses maps a thermometer's bus name to its recorded traffic.
	buses map[string]*i2ctest.Playback
}

func newTestMachine(t *testing.T) *testMachine {
	return newMachine(t, newFastClock())
}

// newBubbleMachine is a testMachine on the system clock, for a test that
// runs in a testing/synctest bubble: its timeouts take no real time.
func newBubbleMachine(t *testing.T) *testMachine {
	return newMachine(t, wallclock.System{})
}

func newMachine(t *testing.T, c wallclock.Clock) *testMachine {
	m := &testMachine{
		clock:    c,
		probe:    &fakeTimeProbe{ntp: true},
		board:    &pinBoard{clock: c, pins: map[string]*recPin{}, broken: map[string]bool{}},
		hidCodes: make(chan string, 4),
		buses:    map[string]*i2ctest.Playback{},
	}
	prev := openHardware
	openHardware = m.hardware
	t.Cleanup(func() { openHardware = prev })
	return m
}

func (m *testMachine) hardware() hardware {
	host := hostHardware()
	return hardware{
		scanner: func(name string, c firmwareconfig.Scanner) (scanner.Source, error) {
			if c.Type == firmwareconfig.ScannerHID {
				return &fakeScanner{name: name, codes: m.hidCodes}, nil
			}
			return host.scanner(name, c) // the real serial path, on a pty
		},
		camera: func(ctx context.Context, c firmwareconfig.Camera) (frameSource, error) {
			return openCamera(ctx, c, m.clock)
		},
		thermometer: func(c firmwareconfig.Thermometer) (thermo.Source, io.Closer, error) {
			bus, ok := m.buses[c.Bus]
			if !ok {
				return nil, nil, fmt.Errorf("i2c: no bus %q", c.Bus)
			}
			dev, err := sentinelhw.NewThermometer(bus, c, &thermo.Opts{RetryDelay: time.Microsecond})
			if err != nil {
				return nil, nil, err
			}
			return dev, io.NopCloser(nil), nil
		},
		pin:       m.board.open,
		clock:     m.clock,
		timeProbe: func() timeProbe { return m.probe },
	}
}

// serialScanner is a pseudo-terminal standing for a serial scanner: the
// command opens its tty through go.bug.st/serial; the test writes codes on
// the master side.
type serialScanner struct {
	master, tty *os.File
	stop        chan struct{}
	wg          sync.WaitGroup
}

func newSerialScanner(t *testing.T) *serialScanner {
	t.Helper()
	m, s := ptytest.Open(t, "a serial scanner")
	// A scanner's line has no line discipline: make the pty raw at once, so
	// that codes written before the command configures the port keep their
	// CR (canonical mode would turn it into LF).
	tio, err := unix.IoctlGetTermios(int(s.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag = tio.Cflag&^(unix.CSIZE|unix.PARENB) | unix.CS8
	if err := unix.IoctlSetTermios(int(s.Fd()), unix.TCSETS, tio); err != nil {
		t.Fatal(err)
	}
	p := &serialScanner{master: m, tty: s, stop: make(chan struct{})}
	t.Cleanup(func() {
		close(p.stop)
		p.wg.Wait()
		m.Close()
		s.Close()
	})
	return p
}

// keepScanning writes line every 20 ms until the test ends, as a patient
// installer scanning a code until the selftest has read it.
func (p *serialScanner) keepScanning(line string) {
	p.wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-p.stop:
				return
			case <-tick.C:
				p.master.Write([]byte(line))
			}
		}
	})
}

// benchConfig writes a configuration of two lanes: "in" with a serial
// scanner on the pty, a HID scanner, a replay camera, a thermometer on bus
// "1", a relay, a tower and a buzzer; "out" with a HID scanner only.
func benchConfig(t *testing.T, port, frames string) (path, dataDir string) {
	dir := t.TempDir()
	dataDir = filepath.Join(dir, "data")
	return writeFile(t, dir, "sentinel.toml", fmt.Sprintf("data_dir = %q\n", dataDir)+terminalHeader+fmt.Sprintf(`
[[lane]]
name = "in"
  [[lane.scanner]]
  type = "serial"
  port = %q
  framing = "cr"
  [[lane.scanner]]
  type = "hid"
  device = "/dev/input/event-fake"
  [lane.camera]
  source = "replay"
  dir = %q
  fps = 10
  [lane.thermometer]
  bus = "1"
  [lane.outputs.relay]
  pin = "GPIO17"
  pulse = "500ms"
  active_low = true
  [lane.outputs.tower]
  green = "GPIO22"
  yellow = "GPIO23"
  red = "GPIO24"
  [lane.outputs.buzzer]
  pin = "GPIO25"

[[lane]]
name = "out"
  [[lane.scanner]]
  type = "hid"
  device = "/dev/input/event-fake2"
`, port, frames)), dataDir
}

func TestSelftestAllPass(t *testing.T) {
	m := newTestMachine(t)
	ser := newSerialScanner(t)
	ser.keepScanning(hc1Sample + "\r")
	m.hidCodes <- "HCN1:from-the-hid-scanner"
	m.hidCodes <- "HCN1:from-the-out-lane"
	frames := t.TempDir()
	savePNG(t, filepath.Join(frames, "a-empty.png"), blankImage(320, 240))
	savePNG(t, filepath.Join(frames, "b-code.png"), qrImage(t, hc1Sample, 320))
	m.buses["1"] = &i2ctest.Playback{Ops: mlxSamples(3, 24.5, 23.0)}
	cfg, _ := benchConfig(t, ser.tty.Name(), frames)

	code, out, errOut := runCmd(t, "selftest", "--config", cfg, "--timeout", "10s")
	if code != exitOK {
		t.Fatalf("got exit %d, want 0\nstdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	for _, want := range []string{
		"in    scanner[0]   ok      read a " + fmt.Sprint(len(hc1Sample)) + "-byte code on " + ser.tty.Name(),
		"in    scanner[1]   ok      read a 25-byte code",
		"in    camera       ok      2 frames of 320x320; decoded a " + fmt.Sprint(len(hc1Sample)) + "-byte code",
		"in    thermometer  ok      room 23.0 °C, sensor sees 24.5 °C; not calibrated yet",
		"in    tower        ok      lit green, yellow, red in turn",
		"in    buzzer       ok      beeped once",
		"in    relay        ok      pulsed once for 500ms",
		"out   scanner[0]   ok      read a 22-byte code",
		"-     clock        ok      trusted (ntp, ±5ms)",
		"selftest: all 9 checks passed",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if !strings.Contains(errOut, "lane in, scanner[0] (serial "+ser.tty.Name()) || !strings.Contains(errOut, "scan any code now") {
		t.Errorf("got prompts\n%s\nwant one asking to scan at each scanner", errOut)
	}
	if err := m.buses["1"].Close(); err != nil {
		t.Errorf("thermometer traffic: %v", err)
	}

	// The outputs went through the pattern the installer watches.
	if got, want := m.board.changes("GPIO22", "GPIO23", "GPIO24"), []string{
		"GPIO22=High", "GPIO22=Low", "GPIO23=High", "GPIO23=Low", "GPIO24=High", "GPIO24=Low",
	}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("tower: got %v, want %v", got, want)
	}
	if got := m.board.changes("GPIO25"); strings.Join(got, " ") != "GPIO25=High GPIO25=Low" {
		t.Errorf("buzzer: got %v, want one beep", got)
	}
	// Active low: released (High) at once, then one pulse Low for 500 ms.
	m.board.mu.Lock()
	var relay []pinEvent
	for _, e := range m.board.events {
		if e.pin == "GPIO17" {
			relay = append(relay, e)
		}
	}
	m.board.mu.Unlock()
	if len(relay) != 3 || relay[0].level != gpio.High || relay[1].level != gpio.Low || relay[2].level != gpio.High {
		t.Fatalf("relay: got %v, want released, one pulse, released", relay)
	}
	if d := relay[2].at.Sub(relay[1].at); d != 500*time.Millisecond {
		t.Errorf("relay pulse: got %v, want 500ms as configured", d)
	}
}

func TestSelftestJSONAndLane(t *testing.T) {
	m := newTestMachine(t)
	m.hidCodes <- "HCN1:x"
	cfg, _ := benchConfig(t, "/dev/unused", t.TempDir())
	code, out, errOut := runCmd(t, "selftest", "--config", cfg, "--lane", "out", "--json")
	if code != exitOK {
		t.Fatalf("got exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	var rep struct {
		OK      bool
		Results []checkResult
	}
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("not JSON: %v\n%s", err, out)
	}
	if !rep.OK || len(rep.Results) != 1 || rep.Results[0].Lane != "out" || rep.Results[0].Status != statusOK {
		t.Errorf("got %+v, want one passing check of lane out", rep)
	}
}

// TestSelftestFailures runs in a synctest bubble: the scanners' and the
// camera's 300 ms timeouts and the serial port's retries take no real
// time.
func TestSelftestFailures(t *testing.T) {
	synctest.Test(t, testSelftestFailures)
}

func testSelftestFailures(t *testing.T) {
	m := newBubbleMachine(t)
	m.board.broken["GPIO22"] = true
	frames := t.TempDir()
	savePNG(t, filepath.Join(frames, "empty.png"), blankImage(320, 240))
	// The thermometer does not answer: every transfer fails.
	m.buses["1"] = &i2ctest.Playback{DontPanic: true}
	cfg, _ := benchConfig(t, "/dev/nonexistent/ttyACM9", frames)

	code, out, _ := runCmd(t, "selftest", "--config", cfg, "--timeout", "300ms", "--no-relay")
	if code != exitRefused {
		t.Fatalf("got exit %d, want 1\n%s", code, out)
	}
	for _, want := range []string{
		"in    scanner[0]   FAIL     missing: ",
		"in    scanner[1]   FAIL     connected on /dev/input/event-fake but read no code in 300ms",
		"in    camera       FAIL     ",
		"but no code decoded in 300ms",
		"in    thermometer  FAIL     thermo: ",
		"in    tower        FAIL     gpio: no pin called \"GPIO22\"",
		"in    buzzer       ok",
		"in    relay        skipped  --no-relay",
		"What to check:",
		"lane in, scanner[0] (serial /dev/nonexistent/ttyACM9 9600 baud cr): check the scanner's cable and power, that /dev/nonexistent/ttyACM9 exists",
		"lane in, camera (replay " + frames + "@10): hold a QR code still",
		"lane in, thermometer (mlx90614 0x5A on bus 1): check the sensor's wiring (SDA, SCL, 3.3 V, GND) and its address: i2cdetect -y 1 should show 5a",
		"lane in, tower (green GPIO22, yellow GPIO23, red GPIO24): check the pin names in the configuration (GPIO22, GPIO23, GPIO24)",
		"selftest: 6 of 9 checks FAILED",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if got := m.board.changes("GPIO17"); len(got) != 0 {
		t.Errorf("relay: got %v with --no-relay, want it left alone", got)
	}
}

func TestSelftestAmbientOutOfRange(t *testing.T) {
	m := newTestMachine(t)
	m.buses["1"] = &i2ctest.Playback{Ops: mlxSamples(1, 46.0, 45.0), DontPanic: true}
	cfg := laneConfig(t, `  [[lane.scanner]]
  type = "hid"
  device = "/dev/input/event-fake"
  [lane.thermometer]
  bus = "1"
`)
	m.hidCodes <- "x"
	code, out, _ := runCmd(t, "selftest", "--config", cfg)
	if code != exitRefused {
		t.Fatalf("got exit %d, want 1\n%s", code, out)
	}
	if !strings.Contains(out, "outside 10.00 °C..40.00 °C") || !strings.Contains(out, "measures people only in a room between 10 and 40 °C") {
		t.Errorf("got\n%s\nwant advice about the room's temperature", out)
	}
}

func TestSelftestCameraMissing(t *testing.T) {
	newTestMachine(t)
	dev := filepath.Join(t.TempDir(), "video9")
	cfg := laneConfig(t, `  [lane.camera]
  source = "v4l2"
  device = "`+dev+`"
`)
	code, out, _ := runCmd(t, "selftest", "--config", cfg, "--no-read")
	if code != exitRefused || !strings.Contains(out, "in    camera  FAIL    open camera "+dev) ||
		!strings.Contains(out, "v4l2-ctl --list-devices") {
		t.Errorf("got exit %d\n%s\nwant the V4L2 camera reported missing, with advice", code, out)
	}
}

// mjpegServer serves an MJPEG stream (multipart/x-mixed-replace) of frame,
// as an IP camera does, on the loopback interface.
func mjpegServer(t *testing.T, frame image.Image) string {
	var jpg bytes.Buffer
	if err := jpeg.Encode(&jpg, frame, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mw := multipart.NewWriter(w)
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary="+mw.Boundary())
		for i := 0; i < 50 && r.Context().Err() == nil; i++ {
			pw, err := mw.CreatePart(textproto.MIMEHeader{
				"Content-Type":   {"image/jpeg"},
				"Content-Length": {strconv.Itoa(jpg.Len())},
			})
			if err != nil {
				return
			}
			pw.Write(jpg.Bytes())
			if f, ok := w.(http.Flusher); ok {
				f.Flush()
			}
			time.Sleep(10 * time.Millisecond)
		}
	}))
	t.Cleanup(srv.Close)
	return srv.URL + "/mjpg/video.mjpg"
}

func TestSelftestMJPEGCamera(t *testing.T) {
	newTestMachine(t)
	url := mjpegServer(t, qrImage(t, hc1Sample, 400))
	cfg := laneConfig(t, `  [lane.camera]
  source = "mjpeg"
  url = "`+url+`"
`)
	code, out, errOut := runCmd(t, "selftest", "--config", cfg, "--timeout", "10s")
	if code != exitOK || !strings.Contains(out, "in    camera  ok      1 frames of 400x400; decoded a "+strconv.Itoa(len(hc1Sample))+"-byte code") {
		t.Errorf("got exit %d\n%s\n%s\nwant the stream's code decoded", code, out, errOut)
	}
}

func TestSelftestUsage(t *testing.T) {
	dir := t.TempDir()
	bad := writeFile(t, dir, "bad.toml", "lane = 1\n")
	cfg, _ := benchConfig(t, "/dev/x", dir)
	tests := []struct {
		name string
		args []string
		want int
	}{
		{"argument", []string{"selftest", "extra"}, exitUsage},
		{"bad timeout", []string{"selftest", "--timeout", "0s"}, exitUsage},
		{"unknown lane", []string{"selftest", "--config", cfg, "--lane", "side"}, exitUsage},
		{"missing config", []string{"selftest", "--config", filepath.Join(dir, "none.toml")}, exitRefused},
		{"invalid config", []string{"selftest", "--config", bad}, exitRefused},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, _, errOut := runCmd(t, tt.args...)
			if code != tt.want {
				t.Errorf("got exit %d, want %d\n%s", code, tt.want, errOut)
			}
		})
	}
	_, _, errOut := runCmd(t, "selftest", "--config", bad)
	if !strings.Contains(errOut, "config line 1: lane: must be a list in brackets") || !strings.Contains(errOut, "sentinelctl config check "+bad) {
		t.Errorf("got\n%s\nwant the problem and how to check the file", errOut)
	}
}

func TestScanLive(t *testing.T) {
	m := newTestMachine(t)
	ser := newSerialScanner(t)
	ser.keepScanning("HCN1:serial-code\r")
	frames := t.TempDir()
	savePNG(t, filepath.Join(frames, "code.png"), qrImage(t, hc1Sample, 320))
	cfg, _ := benchConfig(t, ser.tty.Name(), frames)
	m.hidCodes <- "HCN1:hid-code"

	code, out, errOut := runCmd(t, "scan", "--config", cfg, "--lane", "in", "--count", "3", "--json", "--for", "20s")
	if code != exitOK {
		t.Fatalf("got exit %d, want 0\n%s\n%s", code, out, errOut)
	}
	seen := map[string]string{}
	dec := json.NewDecoder(strings.NewReader(out))
	for dec.More() {
		var c liveCode
		if err := dec.Decode(&c); err != nil {
			t.Fatalf("not JSON lines: %v\n%s", err, out)
		}
		if c.Lane != "in" {
			t.Errorf("got lane %q, want in", c.Lane)
		}
		seen[c.Device] = c.Text
	}
	// The camera's code is in every frame: it is shown once (deduplicated),
	// so the three codes come from three devices.
	want := map[string]string{"scanner[0]": "HCN1:serial-code", "scanner[1]": "HCN1:hid-code", "camera": hc1Sample}
	for dev, text := range want {
		if seen[dev] != text {
			t.Errorf("%s: got %q, want %q (all: %v)", dev, seen[dev], text, seen)
		}
	}
}

func TestScanLiveNothingOpens(t *testing.T) {
	newTestMachine(t)
	cfg := laneConfig(t, `  [lane.camera]
  source = "v4l2"
  device = "/dev/nonexistent/video0"
`)
	code, _, errOut := runCmd(t, "scan", "--config", cfg, "--for", "1s")
	if code != exitRefused || !strings.Contains(errOut, "no scanner or camera could be opened") || !strings.Contains(errOut, "lane in, camera: open camera /dev/nonexistent/video0") {
		t.Errorf("got exit %d\n%s", code, errOut)
	}
}
