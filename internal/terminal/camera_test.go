package terminal

import (
	"fmt"
	"image/png"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

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
