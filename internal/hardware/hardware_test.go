package hardware

import (
	"context"
	"errors"
	"image"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"periph.io/x/conn/v3/i2c"
	"periph.io/x/conn/v3/i2c/i2ctest"

	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/wallclock"
)

func TestOpenScanner(t *testing.T) {
	for _, tc := range []struct {
		name    string
		cfg     firmwareconfig.Scanner
		want    string // the source's Kind; "" for an error
		wantErr string
	}{
		{"serial", firmwareconfig.Scanner{Type: firmwareconfig.ScannerSerial, Port: "/dev/ttyACM0", Baud: 9600, Framing: "cr"}, "serial", ""},
		{"hid", firmwareconfig.Scanner{Type: firmwareconfig.ScannerHID, Device: "/dev/input/event0"}, "hid", ""},
		{"bad framing", firmwareconfig.Scanner{Type: firmwareconfig.ScannerSerial, Port: "/dev/ttyACM0", Baud: 9600, Framing: "morse"}, "", "morse"},
		{"unknown type", firmwareconfig.Scanner{Type: "bluetooth"}, "", `scanner type "bluetooth" is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := OpenScanner("lane 1 scanner 1", tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || src != nil {
					t.Fatalf("got %v, %v; want nil and an error containing %q", src, err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer src.Close()
			if st := src.Status(); st.Kind != tc.want || st.Source != "lane 1 scanner 1" {
				t.Errorf("got kind %q source %q, want %q %q", st.Kind, st.Source, tc.want, "lane 1 scanner 1")
			}
		})
	}
}

// recBus is a bus that records whether it was closed.
type recBus struct {
	*i2ctest.Playback
	closed bool
}

func (b *recBus) Close() error {
	b.closed = true
	return nil
}

func TestOpenThermometer(t *testing.T) {
	var bus *recBus
	var opened string
	prev := openBus
	openBus = func(name string) (i2c.BusCloser, error) {
		if name == "9" {
			return nil, errors.New("i2c: no bus 9")
		}
		opened = name
		bus = &recBus{Playback: &i2ctest.Playback{DontPanic: true}}
		return bus, nil
	}
	t.Cleanup(func() { openBus = prev })

	for _, tc := range []struct {
		name    string
		cfg     firmwareconfig.Thermometer
		wantErr string
	}{
		{"mlx90614", firmwareconfig.Thermometer{Bus: "1", Model: firmwareconfig.MLX90614, Address: 0x5A}, ""},
		// The MLX90632's driver reads the sensor's EEPROM at once: on a
		// silent bus it fails, and the bus is closed again.
		{"mlx90632 silent", firmwareconfig.Thermometer{Bus: "1", Model: firmwareconfig.MLX90632, Address: 0x3A}, "new MLX90632"},
		{"unknown model", firmwareconfig.Thermometer{Bus: "1", Model: "tmp117", Address: 0x48}, `thermometer model "tmp117" is not supported`},
		{"no bus", firmwareconfig.Thermometer{Bus: "9", Model: firmwareconfig.MLX90614, Address: 0x5A}, "no bus 9"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			bus, opened = nil, ""
			src, closer, err := OpenThermometer(tc.cfg)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || src != nil || closer != nil {
					t.Fatalf("got %v, %v, %v; want nil, nil and an error containing %q", src, closer, err, tc.wantErr)
				}
				if bus != nil && !bus.closed {
					t.Error("the bus stays open after the error: it must be closed")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if opened != tc.cfg.Bus {
				t.Errorf("got bus %q opened, want %q", opened, tc.cfg.Bus)
			}
			if closer != io.Closer(bus) {
				t.Errorf("got closer %v, want the bus", closer)
			}
			if bus.closed {
				t.Error("the bus was closed: the caller closes it")
			}
		})
	}
}

// writeFrames writes n small PNG images to a new directory, plus a file
// that is no image.
func writeFrames(t *testing.T, n int) string {
	dir := t.TempDir()
	for i := range n {
		img := image.NewGray(image.Rect(0, 0, 4+i, 3))
		f, err := os.Create(filepath.Join(dir, string(rune('a'+i))+".png"))
		if err != nil {
			t.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			t.Fatal(err)
		}
		if err := f.Close(); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "README.txt"), []byte("frames"), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestOpenCameraReplay(t *testing.T) {
	ctx := context.Background()
	dir := writeFrames(t, 2)
	cfg := firmwareconfig.Camera{Source: firmwareconfig.CameraReplay, Dir: dir, FPS: 10}

	t.Run("once", func(t *testing.T) {
		src, err := OpenCamera(ctx, cfg, nil)
		if err != nil {
			t.Fatal(err)
		}
		for _, wantW := range []int{4, 5} {
			img, err := src.Next(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if got := img.Bounds().Dx(); got != wantW {
				t.Errorf("got a frame %d wide, want %d (files in name order)", got, wantW)
			}
		}
		if _, err := src.Next(ctx); !errors.Is(err, io.EOF) {
			t.Errorf("after the last file: got %v, want io.EOF", err)
		}
	})
	// The paced cases run in a synctest bubble: the system clock is the
	// bubble's, and the waits are exact.
	t.Run("paced", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			src, err := OpenCamera(ctx, cfg, &CameraOpts{Pace: wallclock.System{}})
			if err != nil {
				t.Fatal(err)
			}
			defer src.(io.Closer).Close()
			start := time.Now()
			var widths []int
			for range 3 {
				img, err := src.Next(ctx)
				if err != nil {
					t.Fatal(err)
				}
				widths = append(widths, img.Bounds().Dx())
			}
			if widths[0] != 4 || widths[1] != 5 || widths[2] != 4 {
				t.Errorf("got widths %v, want [4 5 4] (looping)", widths)
			}
			if got, want := time.Since(start), 300*time.Millisecond; got != want {
				t.Errorf("got %v waited for three frames at 10 fps, want %v", got, want)
			}
		})
	})
	t.Run("paced default fps", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			c := cfg
			c.FPS = 0
			src, err := OpenCamera(ctx, c, &CameraOpts{Pace: wallclock.System{}})
			if err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			if _, err := src.Next(ctx); err != nil {
				t.Fatal(err)
			}
			if got, want := time.Since(start), time.Second/firmwareconfig.DefaultCameraFPS; got != want {
				t.Errorf("got %v waited, want %v", got, want)
			}
		})
	})
	t.Run("paced cancelled", func(t *testing.T) {
		synctest.Test(t, func(t *testing.T) {
			src, err := OpenCamera(ctx, cfg, &CameraOpts{Pace: wallclock.System{}})
			if err != nil {
				t.Fatal(err)
			}
			cctx, cancel := context.WithCancel(ctx)
			cancel()
			start := time.Now()
			if _, err := src.Next(cctx); !errors.Is(err, context.Canceled) {
				t.Errorf("got %v, want context.Canceled", err)
			}
			if d := time.Since(start); d != 0 {
				t.Errorf("a cancelled wait took %v", d)
			}
		})
	})
}

func TestOpenCameraErrors(t *testing.T) {
	ctx := context.Background()
	empty := t.TempDir()
	for _, tc := range []struct {
		name string
		cfg  firmwareconfig.Camera
		want string
	}{
		{"replay without images", firmwareconfig.Camera{Source: firmwareconfig.CameraReplay, Dir: empty}, "replay camera: no PNG or JPEG file in " + empty},
		{"replay without directory", firmwareconfig.Camera{Source: firmwareconfig.CameraReplay, Dir: filepath.Join(empty, "gone")}, "replay camera: open"},
		{"unknown source", firmwareconfig.Camera{Source: "webrtc"}, `camera source "webrtc" is not supported`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			src, err := OpenCamera(ctx, tc.cfg, nil)
			if err == nil || !strings.Contains(err.Error(), tc.want) || src != nil {
				t.Errorf("got %v, %v; want nil and an error containing %q", src, err, tc.want)
			}
		})
	}
}

// TestReplayFilesReadDir checks that the directory is read through readDir.
func TestReplayFilesReadDir(t *testing.T) {
	prev := readDir
	readDir = func(string) ([]os.DirEntry, error) { return nil, errors.New("permission denied") }
	t.Cleanup(func() { readDir = prev })
	_, err := OpenCamera(context.Background(), firmwareconfig.Camera{Source: firmwareconfig.CameraReplay, Dir: "frames"}, nil)
	if err == nil || err.Error() != "replay camera: permission denied" {
		t.Errorf("got %v, want replay camera: permission denied", err)
	}
}
