package hardware

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"sentinel/device/camera"
	"sentinel/device/scanner"
)

// CameraSource reads codes from a camera's frames, as a scanner would:
// the frames go through camera's decoder, and frames without a code are
// skipped. A camera.Still sits in front of the decoder: a frame in which
// nothing moved since the last frame decoded, which held no code, is not
// decoded (an idle gate's camera then decodes one frame a second), while a
// code coming into view is decoded from its first frame and, held still,
// at every frame. Wrap it in scanner.NewDedup, since a camera sees the
// same code in many frames.
type CameraSource struct {
	name   string
	frames camera.FrameSource
	dec    *camera.Still
	now    func() time.Time
	// decoded, when set, is told how long each frame decoded in full
	// took; unchanged of each frame not decoded as unchanged.
	decoded   func(time.Duration)
	unchanged func()

	mu     sync.Mutex
	status scanner.Status
	closed bool
}

var _ scanner.Source = (*CameraSource)(nil)

// NewCameraSource returns a source named name over frames, such as
// OpenCamera returns. now stamps the codes (nil means time.Now); the
// once-a-second decode of an unchanged view runs on the system's clock.
func NewCameraSource(name string, frames camera.FrameSource, now func() time.Time) *CameraSource {
	if now == nil {
		now = time.Now
	}
	return &CameraSource{
		name: name, frames: frames, dec: camera.NewStill(nil, camera.StillConfig{}), now: now,
		status: scanner.Status{Source: name, Kind: "camera", State: scanner.StateUnknown},
	}
}

// OnDecode makes c call f with the time each frame decoded in full took,
// found code or not (for the terminal's metrics). Frames not decoded
// because nothing moved go to OnUnchanged's function instead. Call it
// before Next.
func (c *CameraSource) OnDecode(f func(time.Duration)) { c.decoded = f }

// OnUnchanged makes c call f for each frame that it did not decode
// because nothing in view moved since the last frame decoded (see
// camera.Still). Call it before Next.
func (c *CameraSource) OnUnchanged(f func()) { c.unchanged = f }

// Next returns the next code seen. When the frames end (a replay), it
// returns an error matching io.EOF.
func (c *CameraSource) Next(ctx context.Context) (scanner.Code, error) {
	for {
		c.mu.Lock()
		closed := c.closed
		c.mu.Unlock()
		if closed {
			return scanner.Code{}, scanner.ErrClosed
		}
		img, err := c.frames.Next(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return scanner.Code{}, ctx.Err()
			}
			if errors.Is(err, io.EOF) {
				c.setState(scanner.StateClosed, "no more frames", nil)
				return scanner.Code{}, fmt.Errorf("camera %s: %w", c.name, io.EOF)
			}
			c.setState(scanner.StateMissing, "the camera gives no frames: check its cable or stream", err)
			select {
			case <-ctx.Done():
				return scanner.Code{}, ctx.Err()
			case <-time.After(250 * time.Millisecond):
			}
			continue
		}
		c.setState(scanner.StatePresent, "", nil)
		start := time.Now()
		res, err := c.dec.Decode(img)
		if errors.Is(err, camera.ErrUnchanged) {
			if c.unchanged != nil {
				c.unchanged()
			}
			continue
		}
		if c.decoded != nil {
			c.decoded(time.Since(start))
		}
		if err != nil {
			continue // no code in this frame: the normal case
		}
		c.mu.Lock()
		c.status.Codes++
		at := c.now()
		c.status.LastCode = at
		c.mu.Unlock()
		return scanner.Code{Text: res.Payload, Source: c.name, At: at}, nil
	}
}

func (c *CameraSource) setState(s scanner.State, reason string, err error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status.State != s {
		c.status.State, c.status.Since = s, c.now()
	}
	c.status.Reason, c.status.Err = reason, err
}

// Status reports whether frames arrive.
func (c *CameraSource) Status() scanner.Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.status
}

// Close closes the frame source when it holds a device or a process.
func (c *CameraSource) Close() error {
	c.mu.Lock()
	c.closed = true
	c.status.State = scanner.StateClosed
	c.mu.Unlock()
	if cl, ok := c.frames.(io.Closer); ok {
		return cl.Close()
	}
	return nil
}
