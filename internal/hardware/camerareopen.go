package hardware

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"io/fs"
	"sync"
	"syscall"
	"time"

	"sentinel/device/camera"
	"sentinel/internal/backoff"
)

// ErrCameraUnsupported is matched by OpenCamera's error for a camera source
// this build cannot open: a configuration that can never work, refused at
// start. Every other error of a camera is a fault of the device, its cable
// or its stream, which may clear: the camera is tried again.
var ErrCameraUnsupported = errors.New("not supported (use v4l2, mjpeg, ffmpeg or replay)")

// CameraAbsent reports whether err, from OpenCamera or a camera's frames,
// means the camera is not there now (unplugged, another /dev/videoN, not
// yet attached at boot, held by another program), as opposed to a camera
// that is there but refuses (permission, a format or stream it will not
// start, an I/O error). Both are tried again; the words differ.
func CameraAbsent(err error) bool {
	if err == nil {
		return false
	}
	return errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENODEV) ||
		errors.Is(err, syscall.ENXIO) || errors.Is(err, syscall.EBUSY)
}

// CameraFaultAfter is how many frames in a row a camera may fail before it
// is closed and opened again: one bad frame (a corrupt JPEG from a webcam)
// is skipped, a device that fails every frame is reopened.
const CameraFaultAfter = 3

// ReopenCamera is a camera's frames that (re)opens the camera while it is
// absent or refuses: after a failed open, an unplug, a stream that ended
// or frames that keep failing, each Next waits the next backoff delay,
// then opens again. It is the camera's counterpart of the scanners'
// reopening, for CameraSource, which shows the fault while Next fails.
type ReopenCamera struct {
	open func(context.Context) (camera.FrameSource, error)
	// OnAbsent is called once when the camera goes missing or starts to
	// fail (with why), OnBack once when it gives a frame again. Set them
	// before the first Next.
	OnAbsent func(error)
	OnBack   func()
	// Live says the frames never end (a V4L2 device, an MJPEG stream, an
	// ffmpeg process): io.EOF means the stream dropped, and the camera is
	// opened again. Otherwise (a replay of files) io.EOF is the end.
	Live bool
	// Sleep waits between attempts; nil means a timer (tests replace it).
	Sleep func(context.Context, time.Duration) error

	bo backoff.Backoff

	mu      sync.Mutex
	src     camera.FrameSource
	pending error // the failed first open, reported by the first Next
	closed  bool
	fails   int  // frames failed in a row
	down    bool // absent or failing since the last frame; told OnAbsent
}

var (
	_ camera.FrameSource = (*ReopenCamera)(nil)
	_ io.Closer          = (*ReopenCamera)(nil)
)

// NewReopenCamera returns frames that open with open. src is the camera
// opened already, or nil when the first open failed with err (an absent
// camera). The delays between attempts grow from bo.Min to bo.Max, and
// start again at bo.Min once a frame arrives.
func NewReopenCamera(open func(context.Context) (camera.FrameSource, error), src camera.FrameSource, err error, bo backoff.Backoff) *ReopenCamera {
	r := &ReopenCamera{open: open, src: src, bo: bo}
	if src == nil {
		r.pending, r.down = err, true
	}
	return r
}

// Next returns the camera's next frame. While the camera is absent or
// failing it returns the reason, after one delay per attempt to open it.
func (r *ReopenCamera) Next(ctx context.Context) (*image.Gray, error) {
	r.mu.Lock()
	src, pending := r.src, r.pending
	r.pending = nil
	r.mu.Unlock()
	if pending != nil {
		return nil, pending
	}
	if src == nil {
		var err error
		if src, err = r.reopen(ctx); err != nil {
			return nil, err
		}
	}
	img, err := src.Next(ctx)
	if err == nil || ctx.Err() != nil {
		r.mu.Lock()
		r.fails = 0
		back := err == nil && r.down
		if err == nil {
			// Working: the camera is back when it gives a frame, not
			// when it opens (an MJPEG stream opens without connecting).
			r.down = false
			r.bo.Reset()
		}
		r.mu.Unlock()
		if back && r.OnBack != nil {
			r.OnBack()
		}
		return img, err
	}
	ended := errors.Is(err, io.EOF)
	if ended && !r.Live {
		return img, err // the replay's end
	}
	r.mu.Lock()
	r.fails++
	drop := CameraAbsent(err) || ended || r.fails >= CameraFaultAfter
	tell := false
	if drop && r.src == src {
		// Unplugged, the stream ended, or the device fails every frame:
		// release it and open it again later.
		r.src = nil
		r.fails = 0
		tell, r.down = !r.down, true
	}
	r.mu.Unlock()
	if !drop {
		return img, err
	}
	closeFrames(src)
	if ended {
		// Not io.EOF: the caller would take it for the end of the frames.
		err = fmt.Errorf("camera stream ended (%v): it is opened again", err)
	}
	if tell && r.OnAbsent != nil {
		r.OnAbsent(err)
	}
	return img, err
}

// reopen waits the next delay, then opens the camera once.
func (r *ReopenCamera) reopen(ctx context.Context) (camera.FrameSource, error) {
	r.mu.Lock()
	d := r.bo.Next()
	r.mu.Unlock()
	sleep := r.Sleep
	if sleep == nil {
		sleep = sleepCtx
	}
	if err := sleep(ctx, d); err != nil {
		return nil, err
	}
	src, err := r.open(ctx)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		closeFrames(src)
		return nil, io.EOF
	}
	r.src = src
	r.mu.Unlock()
	return src, nil
}

// Close releases the camera when it is open.
func (r *ReopenCamera) Close() error {
	r.mu.Lock()
	src := r.src
	r.src, r.closed = nil, true
	r.mu.Unlock()
	return closeFrames(src)
}

func closeFrames(src camera.FrameSource) error {
	if c, ok := src.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
