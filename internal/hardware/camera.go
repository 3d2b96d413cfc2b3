package hardware

import (
	"context"
	"fmt"
	"image"
	"io"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"sentinel/device/camera"
	firmwareconfig "sentinel/firmware-config"

	"sentinel/internal/wallclock"
)

// CameraOpts configures OpenCamera. The zero value gives the daemon's
// behaviour.
type CameraOpts struct {
	// Pace, when set, makes a replay camera show its images again and
	// again, one every 1/FPS on this clock, as a live camera would. When
	// nil, a replay camera shows each image once, as fast as it is asked,
	// then reports io.EOF.
	Pace wallclock.Clock
}

// OpenCamera opens the camera c describes. ctx bounds an ffmpeg child
// process. opts may be nil. Sources that hold a device or a process also
// implement io.Closer; the caller closes them.
func OpenCamera(ctx context.Context, c firmwareconfig.Camera, opts *CameraOpts) (camera.FrameSource, error) {
	switch c.Source {
	case firmwareconfig.CameraV4L2:
		v, err := camera.OpenV4L2(camera.V4L2Config{Device: c.Device, Width: c.Width, Height: c.Height})
		if err != nil {
			return nil, err
		}
		return v, nil
	case firmwareconfig.CameraMJPEG:
		// A stream never ends, so there is no overall timeout; a camera that
		// accepts the connection but sends nothing is given up on.
		t := http.DefaultTransport.(*http.Transport).Clone()
		t.ResponseHeaderTimeout = 10 * time.Second
		return camera.NewMJPEGStream(c.URL, &http.Client{Transport: t}), nil
	case firmwareconfig.CameraFFmpeg:
		f, err := camera.StartFFmpeg(ctx, camera.FFmpegConfig{Input: c.URL, InputArgs: c.FFmpegArgs, Width: c.Width, Height: c.Height})
		if err != nil {
			return nil, err
		}
		return f, nil
	case firmwareconfig.CameraReplay:
		files, err := replayFiles(c.Dir)
		if err != nil {
			return nil, err
		}
		if opts == nil || opts.Pace == nil {
			return camera.NewReplay(files, false), nil
		}
		fps := c.FPS
		if fps <= 0 {
			fps = firmwareconfig.DefaultCameraFPS
		}
		return &pacedReplay{src: camera.NewReplay(files, true), interval: time.Second / time.Duration(fps), clock: opts.Pace}, nil
	}
	return nil, fmt.Errorf("camera source %q is %w", c.Source, ErrCameraUnsupported)
}

// replayFiles lists the PNG and JPEG files in dir, in name order.
func replayFiles(dir string) ([]string, error) {
	entries, err := readDir(dir)
	if err != nil {
		return nil, fmt.Errorf("replay camera: %w", err)
	}
	var files []string
	for _, e := range entries {
		switch strings.ToLower(filepath.Ext(e.Name())) {
		case ".png", ".jpg", ".jpeg":
			files = append(files, filepath.Join(dir, e.Name()))
		}
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("replay camera: no PNG or JPEG file in %s", dir)
	}
	slices.Sort(files)
	return files, nil
}

// pacedReplay shows the image files of a directory in turn, again and
// again, at the configured frame rate, for benches, demos and tests.
type pacedReplay struct {
	src      *camera.Replay
	interval time.Duration
	clock    wallclock.Clock
}

// Next waits one frame interval, then returns the next image.
func (r *pacedReplay) Next(ctx context.Context) (*image.Gray, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-r.clock.After(r.interval):
	}
	return r.src.Next(ctx)
}

// Close releases nothing: the files are read as they are shown.
func (r *pacedReplay) Close() error { return nil }

var (
	_ camera.FrameSource = (*pacedReplay)(nil)
	_ io.Closer          = (*pacedReplay)(nil)
)
