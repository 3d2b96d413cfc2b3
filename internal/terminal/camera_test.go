package terminal

import (
	"context"
	"fmt"
	"image"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"sentinel/device/camera"
	"sentinel/device/scanner"
	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/backoff"
	"sentinel/internal/demo"
	"sentinel/internal/gate"
	"sentinel/internal/ptytest"
	"sentinel/internal/sdnotify"
	"sentinel/internal/ui"
)

// TestDaemonCameraAbsent: a lane whose camera is absent at start (its
// replay directory does not exist yet, as a /dev/videoN would not) starts
// all the same, reads codes from its scanner, shows the camera's fault on
// the guard's display and in /metrics, logs it once in an installer's
// words, and picks the camera up when it appears. Before the fix sentineld
// stopped with "lane in-1: camera: …".
func TestDaemonCameraAbsent(t *testing.T) {
	master, tty := ptytest.Open(t, "the lane's serial scanner")
	frames := filepath.Join(t.TempDir(), "frames")
	cfg := firmwareconfig.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Terminal = firmwareconfig.Terminal{ID: "T-1", SiteID: "S-1"}
	cfg.Listen = firmwareconfig.Listen{Display: "127.0.0.1:0", Management: "127.0.0.1:0"}
	cfg.Lanes = []firmwareconfig.Lane{{
		Name:     "in-1",
		Scanners: []firmwareconfig.Scanner{{Type: firmwareconfig.ScannerSerial, Port: tty.Name(), Framing: firmwareconfig.FramingCR}},
		Camera:   &firmwareconfig.Camera{Source: firmwareconfig.CameraReplay, Dir: frames},
	}}
	var mu sync.Mutex
	var results []gate.Result
	logs := &syncBuffer{}
	hw := hostHardware()
	hw.cameraRetry = backoff.Backoff{Min: 10 * time.Millisecond, Max: 40 * time.Millisecond}
	d := &daemon{
		cfg: cfg, logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		hw: hw, notify: sdnotify.New(""), clock: systemClock{}, syncEvery: time.Hour,
		onPassage: func(r gate.Result) {
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		},
	}
	r := runDaemon(t, d, logs)
	passedFrom := func(source string) bool {
		mu.Lock()
		defer mu.Unlock()
		for _, r := range results {
			if strings.Contains(r.Source, source) {
				return true
			}
		}
		return false
	}

	// The guard sees the camera's fault, /metrics counts it by lane.
	waitFor(t, "the camera's fault on the display", func() (bool, string) {
		ls := d.displayStatus().Lanes[0]
		return ls.Camera == ui.DeviceFault, fmt.Sprintf("camera %v\n%s", ls.Camera, logs.String())
	})
	metrics := func() string {
		resp, err := http.Get("http://" + d.mgmtAddr.String() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if m := metrics(); !strings.Contains(m, `sentinel_device_fault{device="camera",lane="in-1"} 1`) {
		t.Errorf("/metrics lacks the camera's fault:\n%s", m)
	}

	// The scanner's lane works.
	waitFor(t, "the scanner open", func() (bool, string) {
		st := d.devices.scanners["in-1 scanner 1"].Status()
		return st.State == scanner.StatePresent, fmt.Sprintf("%+v", st)
	})
	if _, err := master.Write([]byte("NOT A HEALTH CODE\r")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a passage from the scanner", func() (bool, string) {
		return passedFrom("in-1 scanner 1"), logs.String()
	})

	// The camera appears: its code is read.
	img, err := demo.RenderQR("HCN1:NOT-A-REAL-CODE", 4)
	if err != nil {
		t.Fatal(err)
	}
	tmp := frames + ".tmp"
	os.MkdirAll(tmp, 0o700)
	f, err := os.Create(filepath.Join(tmp, "01.png"))
	if err != nil {
		t.Fatal(err)
	}
	png.Encode(f, img)
	f.Close()
	if err := os.Rename(tmp, frames); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a passage from the camera", func() (bool, string) {
		return passedFrom("in-1 camera"), logs.String()
	})
	r.stop(t)

	out := logs.String()
	want := fmt.Sprintf("camera %s not found: check the cable; the lane keeps working with its scanner, and the camera is tried again every 40ms", frames)
	if n := strings.Count(out, want); n != 1 {
		t.Errorf("the absent camera logged %d times, want once as %q:\n%s", n, want, out)
	}
	if n := strings.Count(out, "camera "+frames+" is back"); n != 1 {
		t.Errorf("the camera's return logged %d times, want once:\n%s", n, out)
	}
}

// TestDaemonCameraMisconfigured: a camera configured so that it can never
// work (a source kind no build supports) still stops sentineld at start.
func TestDaemonCameraMisconfigured(t *testing.T) {
	cfg := firmwareconfig.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Lanes = []firmwareconfig.Lane{{Name: "in-1", Camera: &firmwareconfig.Camera{Source: "carrier-pigeon"}}}
	d := &daemon{cfg: cfg, logger: slog.New(slog.DiscardHandler), hw: hostHardware()}
	devs, err := d.openDevices(t.Context())
	if err == nil {
		devs.close()
		t.Fatal("a camera of an unsupported source opened")
	}
	if !strings.Contains(err.Error(), "lane in-1: camera:") || !strings.Contains(err.Error(), "not supported") {
		t.Errorf("got %v, want the lane's camera refused", err)
	}
}

// refusingCamera is a V4L2 camera that is there but refuses: while
// refuse is set its open fails as a driver's STREAMON does, and once open
// its frames fail as a device that stopped streaming does, every time. In
// between it shows code, a QR code, in every frame.
type refusingCamera struct {
	mu     sync.Mutex
	refuse bool
	code   string
	opens  int // successful opens
}

func (c *refusingCamera) set(refuse bool, code string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.refuse, c.code = refuse, code
}

func (c *refusingCamera) open(context.Context, firmwareconfig.Camera) (camera.FrameSource, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.refuse {
		return nil, fmt.Errorf("open camera /dev/video0: start streaming: %w", syscall.EIO)
	}
	c.opens++
	return c, nil
}

func (c *refusingCamera) Next(ctx context.Context) (*image.Gray, error) {
	c.mu.Lock()
	refuse, code := c.refuse, c.code
	c.mu.Unlock()
	if refuse {
		return nil, fmt.Errorf("wait for frame: %w", syscall.EIO)
	}
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-time.After(5 * time.Millisecond): // a frame rate
	}
	return demo.RenderQR(code, 4)
}

func (c *refusingCamera) Opens() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.opens
}

// TestDaemonCameraRefuses: a camera that is there but refuses (its open
// fails with an I/O error, later its stream fails every frame) does not
// stop sentineld: the lane reads from its scanner, the guard's display and
// /metrics show the camera's fault, the log says it once in an installer's
// words, and the camera is opened again with backoff until it works, each
// time. Before the fix sentineld stopped at start with "lane in-1: camera:
// open camera /dev/video0: start streaming: input/output error", and a
// stream that failed later was never opened again.
func TestDaemonCameraRefuses(t *testing.T) {
	master, tty := ptytest.Open(t, "the lane's serial scanner")
	cfg := firmwareconfig.DefaultConfig()
	cfg.DataDir = t.TempDir()
	cfg.Terminal = firmwareconfig.Terminal{ID: "T-1", SiteID: "S-1"}
	cfg.Listen = firmwareconfig.Listen{Display: "127.0.0.1:0", Management: "127.0.0.1:0"}
	cfg.Lanes = []firmwareconfig.Lane{{
		Name:     "in-1",
		Scanners: []firmwareconfig.Scanner{{Type: firmwareconfig.ScannerSerial, Port: tty.Name(), Framing: firmwareconfig.FramingCR}},
		Camera:   &firmwareconfig.Camera{Source: firmwareconfig.CameraV4L2, Device: "/dev/video0", Width: 640, Height: 480},
	}}
	cam := &refusingCamera{refuse: true}
	var mu sync.Mutex
	var results []gate.Result
	logs := &syncBuffer{}
	hw := hostHardware()
	hw.camera = cam.open
	hw.cameraRetry = backoff.Backoff{Min: 10 * time.Millisecond, Max: 40 * time.Millisecond}
	d := &daemon{
		cfg: cfg, logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		hw: hw, notify: sdnotify.New(""), clock: systemClock{}, syncEvery: time.Hour,
		onPassage: func(r gate.Result) {
			mu.Lock()
			results = append(results, r)
			mu.Unlock()
		},
	}
	r := runDaemon(t, d, logs)
	passed := func(source string) int {
		mu.Lock()
		defer mu.Unlock()
		n := 0
		for _, r := range results {
			if strings.Contains(r.Source, source) {
				n++
			}
		}
		return n
	}
	metrics := func() string {
		resp, err := http.Get("http://" + d.mgmtAddr.String() + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	cameraShows := func(want ui.DeviceState, metric string) {
		t.Helper()
		waitFor(t, fmt.Sprintf("the camera %q on the display", want), func() (bool, string) {
			ls := d.displayStatus().Lanes[0]
			return ls.Camera == want, fmt.Sprintf("camera %v\n%s", ls.Camera, logs.String())
		})
		if m := metrics(); !strings.Contains(m, `sentinel_device_fault{device="camera",lane="in-1"} `+metric) {
			t.Errorf("/metrics lacks the camera's state %s:\n%s", metric, m)
		}
	}

	// Refused at start: the gate serves, the scanner reads.
	cameraShows(ui.DeviceFault, "1")
	waitFor(t, "the scanner open", func() (bool, string) {
		st := d.devices.scanners["in-1 scanner 1"].Status()
		return st.State == scanner.StatePresent, fmt.Sprintf("%+v", st)
	})
	if _, err := master.Write([]byte("NOT A HEALTH CODE\r")); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "a passage from the scanner", func() (bool, string) { return passed("in-1 scanner 1") == 1, logs.String() })
	// /healthz stays ok: a camera's fault is no reason for systemd's
	// watchdog to restart the gate.
	if resp, err := http.Get("http://" + d.mgmtAddr.String() + "/healthz"); err != nil || resp.StatusCode != http.StatusOK {
		t.Errorf("/healthz with a refusing camera: %v %v, want 200", resp, err)
	}

	// The camera works: its code is read.
	cam.set(false, "HCN1:FIRST")
	waitFor(t, "a passage from the camera", func() (bool, string) { return passed("in-1 camera") == 1, logs.String() })
	cameraShows(ui.DeviceOK, "0")

	// Its stream fails every frame: the fault shows, the camera is opened
	// again until it works.
	cam.set(true, "")
	cameraShows(ui.DeviceFault, "1")
	refused := "camera /dev/video0 does not work: check its cable, power and settings (sentinelctl selftest --lane in-1); the lane keeps working with its scanner, and the camera is tried again every 40ms"
	waitFor(t, "the failing camera closed", func() (bool, string) {
		return strings.Count(logs.String(), refused) == 2, logs.String()
	})
	opens := cam.Opens()
	cam.set(false, "HCN1:SECOND")
	waitFor(t, "the camera reopened and read", func() (bool, string) {
		return passed("in-1 camera") == 2 && cam.Opens() > opens, logs.String()
	})
	cameraShows(ui.DeviceOK, "0")
	r.stop(t)

	out := logs.String()
	if n := strings.Count(out, refused); n != 2 {
		t.Errorf("the refusing camera logged %d times, want twice (at start, when its stream failed) as %q:\n%s", n, refused, out)
	}
	if n := strings.Count(out, "camera /dev/video0 is back"); n != 2 {
		t.Errorf("the camera's return logged %d times, want twice:\n%s", n, out)
	}
}
