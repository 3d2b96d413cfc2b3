package hardware

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"slices"
	"syscall"
	"testing"
	"time"

	"sentinel/device/camera"
	firmwareconfig "sentinel/firmware-config"
	"sentinel/internal/backoff"
)

// unpluggable gives frames until it is unplugged, then fails as a V4L2
// device pulled from its port does.
type unpluggable struct {
	unplugged bool
	closed    int
}

func (u *unpluggable) Next(ctx context.Context) (*image.Gray, error) {
	if u.unplugged {
		return nil, fmt.Errorf("dequeue frame: %w (camera unplugged?)", syscall.ENODEV)
	}
	return image.NewGray(image.Rect(0, 0, 1, 1)), nil
}

func (u *unpluggable) Close() error { u.closed++; return nil }

// TestReopenCamera: a camera absent at start is opened again after each
// backoff delay, growing to the cap, until it answers; an unplug releases
// the device and opens it again. Each change is told once.
func TestReopenCamera(t *testing.T) {
	ctx := context.Background()
	absentErr := fmt.Errorf("open camera /dev/video0: %w", syscall.ENOENT)
	fails := 3
	var opened []*unpluggable
	open := func(context.Context) (camera.FrameSource, error) {
		if fails > 0 {
			fails--
			return nil, absentErr
		}
		u := &unpluggable{}
		opened = append(opened, u)
		return u, nil
	}
	r := NewReopenCamera(open, nil, absentErr, backoff.Backoff{Min: time.Second, Max: 3 * time.Second})
	var slept []time.Duration
	r.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	absent, back := 0, 0
	r.OnAbsent = func(error) { absent++ }
	r.OnBack = func() { back++ }

	// The failed first open is reported at once, without a wait.
	if _, err := r.Next(ctx); !errors.Is(err, syscall.ENOENT) || len(slept) != 0 {
		t.Fatalf("first Next: %v after %v, want the open's error at once", err, slept)
	}
	for range 3 {
		if _, err := r.Next(ctx); !errors.Is(err, syscall.ENOENT) {
			t.Fatalf("Next while absent: %v", err)
		}
	}
	if _, err := r.Next(ctx); err != nil {
		t.Fatalf("Next once the camera answers: %v", err)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second, 3 * time.Second}
	if fmt.Sprint(slept) != fmt.Sprint(want) {
		t.Errorf("delays %v, want %v", slept, want)
	}
	if back != 1 || absent != 0 {
		t.Errorf("told back %d, absent %d times; want 1, 0", back, absent)
	}

	// Unplugged: the device is closed, told once, and reopened after Min.
	opened[0].unplugged = true
	slept = nil
	if _, err := r.Next(ctx); !errors.Is(err, syscall.ENODEV) {
		t.Fatalf("Next unplugged: %v", err)
	}
	if opened[0].closed != 1 || absent != 1 {
		t.Errorf("unplug: device closed %d times, told absent %d times; want 1, 1", opened[0].closed, absent)
	}
	if _, err := r.Next(ctx); err != nil || len(opened) != 2 || back != 2 {
		t.Fatalf("after the unplug: %v, %d opens, back %d", err, len(opened), back)
	}
	if fmt.Sprint(slept) != fmt.Sprint([]time.Duration{time.Second}) {
		t.Errorf("delay after an unplug %v, want [1s]", slept)
	}
	if err := r.Close(); err != nil || opened[1].closed != 1 {
		t.Errorf("Close: %v, device closed %d times", err, opened[1].closed)
	}
}

// TestCameraAbsent tells an absent camera from one that cannot work.
func TestCameraAbsent(t *testing.T) {
	_, unsupported := OpenCamera(context.Background(), firmwareconfig.Camera{Source: "carrier-pigeon"}, nil)
	_, noDir := OpenCamera(context.Background(), firmwareconfig.Camera{Source: firmwareconfig.CameraReplay, Dir: t.TempDir() + "/absent"}, nil)
	for _, c := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("open camera /dev/video7: %w", syscall.ENOENT), true},
		{fmt.Errorf("open camera /dev/video0: %w", syscall.EBUSY), true},
		{fmt.Errorf("dequeue frame: %w", syscall.ENODEV), true},
		{noDir, true},
		{fs.ErrNotExist, true},
		{unsupported, false},
		{fmt.Errorf("open camera /dev/video0: %w", syscall.EACCES), false},
		{errors.New("device cannot stream video capture"), false},
		{nil, false},
	} {
		if got := CameraAbsent(c.err); got != c.want {
			t.Errorf("CameraAbsent(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}

// scripted returns its errors in turn, then frames.
type scripted struct {
	errs   []error
	closed int
}

func (s *scripted) Next(context.Context) (*image.Gray, error) {
	if len(s.errs) > 0 {
		err := s.errs[0]
		s.errs = s.errs[1:]
		if err != nil {
			return nil, err
		}
	}
	return image.NewGray(image.Rect(0, 0, 1, 1)), nil
}

func (s *scripted) Close() error { s.closed++; return nil }

// TestReopenCameraRefuses: a camera that is there but fails is opened
// again when its frames keep failing or its live stream ends; one bad
// frame is skipped, and a replay's end stays the end.
func TestReopenCameraRefuses(t *testing.T) {
	ctx := context.Background()
	eio := fmt.Errorf("wait for frame: %w", syscall.EIO)
	badFrame := errors.New("MJPEG frame: invalid JPEG format")
	for _, c := range []struct {
		name   string
		live   bool
		errs   []error
		reopen bool // after the errors, the camera was opened again
	}{
		{"one bad frame", true, []error{badFrame, nil}, false},
		{"two bad frames apart", true, []error{badFrame, badFrame, nil, badFrame}, false},
		{"I/O errors in a row", true, []error{eio, eio, eio}, true},
		{"live stream ended", true, []error{fmt.Errorf("ffmpeg: exit status 1 (after %w)", io.EOF)}, true},
		{"replay ended", false, []error{io.EOF}, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			var opened []*scripted
			open := func(context.Context) (camera.FrameSource, error) {
				s := &scripted{}
				opened = append(opened, s)
				return s, nil
			}
			first := &scripted{errs: slices.Clone(c.errs)}
			r := NewReopenCamera(open, first, nil, backoff.Backoff{Min: time.Second, Max: 3 * time.Second})
			r.Live = c.live
			r.Sleep = func(context.Context, time.Duration) error { return nil }
			faults := 0
			r.OnAbsent = func(error) { faults++ }
			var last error
			for range len(c.errs) {
				_, err := r.Next(ctx)
				if err != nil {
					last = err
				}
			}
			if c.live && errors.Is(last, io.EOF) {
				t.Errorf("a live stream's end reached the caller as io.EOF (%v): its reader would stop for good", last)
			}
			_, err := r.Next(ctx)
			if c.name == "replay ended" {
				if !errors.Is(last, io.EOF) || len(opened) != 0 {
					t.Errorf("replay: got %v and %d opens, want io.EOF and none", last, len(opened))
				}
				return
			}
			if err != nil {
				t.Fatalf("Next after the errors: %v", err)
			}
			if got := len(opened) == 1; got != c.reopen {
				t.Errorf("opened again %d times, want reopen %v", len(opened), c.reopen)
			}
			if c.reopen && (first.closed != 1 || faults != 1) {
				t.Errorf("the failing camera closed %d times, told %d times; want 1, 1", first.closed, faults)
			}
			if !c.reopen && (first.closed != 0 || faults != 0) {
				t.Errorf("a working camera closed %d times, told %d faults; want 0, 0", first.closed, faults)
			}
		})
	}
}

// TestReopenCameraOpensButFails: a camera that opens but gives no frame
// (an MJPEG stream, which opens without connecting, at an address where
// nothing answers) is told absent once and never back, and the delays
// between its opens grow to the cap; its first frame tells it back once
// and starts the delays again at Min.
func TestReopenCameraOpensButFails(t *testing.T) {
	ctx := context.Background()
	refused := fmt.Errorf("mjpeg stream: dial tcp 10.0.0.5:80: %w", syscall.ECONNREFUSED)
	working := false
	opens := 0
	open := func(context.Context) (camera.FrameSource, error) {
		opens++
		if working {
			return &scripted{}, nil
		}
		return &scripted{errs: []error{refused, refused, refused, refused}}, nil
	}
	first, _ := open(ctx)
	r := NewReopenCamera(open, first, nil, backoff.Backoff{Min: time.Second, Max: 3 * time.Second})
	r.Live = true
	var slept []time.Duration
	r.Sleep = func(_ context.Context, d time.Duration) error { slept = append(slept, d); return nil }
	absent, back := 0, 0
	r.OnAbsent = func(error) { absent++ }
	r.OnBack = func() { back++ }
	for range 4 * CameraFaultAfter {
		if _, err := r.Next(ctx); !errors.Is(err, syscall.ECONNREFUSED) {
			t.Fatalf("Next of a refused stream: %v", err)
		}
	}
	if absent != 1 || back != 0 {
		t.Errorf("told absent %d, back %d times; want 1, 0", absent, back)
	}
	if want := []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}; fmt.Sprint(slept) != fmt.Sprint(want) {
		t.Errorf("delays %v, want %v", slept, want)
	}
	working = true
	if _, err := r.Next(ctx); err != nil {
		t.Fatalf("Next once the stream answers: %v", err)
	}
	if absent != 1 || back != 1 {
		t.Errorf("told absent %d, back %d times; want 1, 1", absent, back)
	}
	r.mu.Lock()
	d := r.bo.Delay(r.bo.Failures() + 1)
	r.mu.Unlock()
	if d != time.Second {
		t.Errorf("next delay after a frame %v, want Min again", d)
	}
}
