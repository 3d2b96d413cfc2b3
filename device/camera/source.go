package camera

import (
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"os/exec"
	"strconv"
	"sync"
)

// FrameSource delivers grey camera frames. Next blocks until a frame is
// ready, ctx is done or the source fails; io.EOF means the source has no
// more frames. Sources that hold a device or a process also implement
// io.Closer.
type FrameSource interface {
	Next(ctx context.Context) (*image.Gray, error)
}

// Compile-time checks that every source implements FrameSource.
var (
	_ FrameSource = (*Replay)(nil)
	_ FrameSource = (*RawGray)(nil)
	_ FrameSource = (*FFmpeg)(nil)
	_ FrameSource = (*MJPEGStream)(nil)
	_ FrameSource = (*V4L2)(nil)
	_ io.Closer   = (*FFmpeg)(nil)
	_ io.Closer   = (*MJPEGStream)(nil)
	_ io.Closer   = (*V4L2)(nil)
)

// Replay replays image files (PNG or JPEG) as frames, for tests and the
// demo.
type Replay struct {
	paths []string
	loop  bool
	next  int
}

// NewReplay returns a source that delivers the images at paths in order,
// then io.EOF, or starts again from the first when loop is set.
func NewReplay(paths []string, loop bool) *Replay {
	return &Replay{paths: paths, loop: loop}
}

// Next reads the next image file.
func (r *Replay) Next(ctx context.Context) (*image.Gray, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if r.next >= len(r.paths) {
		if !r.loop || len(r.paths) == 0 {
			return nil, io.EOF
		}
		r.next = 0
	}
	path := r.paths[r.next]
	r.next++
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("replay: %w", err)
	}
	defer f.Close()
	img, err := LoadGray(f)
	if err != nil {
		return nil, fmt.Errorf("replay %s: %w", path, err)
	}
	return img, nil
}

// RawGray reads raw 8-bit grey frames of a fixed size from a stream, such
// as the output of `ffmpeg -f rawvideo -pix_fmt gray -`.
type RawGray struct {
	r    io.Reader
	w, h int
}

// NewRawGray returns a source of w×h grey frames read from r.
func NewRawGray(r io.Reader, w, h int) (*RawGray, error) {
	if w <= 0 || h <= 0 || w > MaxPixels/h {
		return nil, fmt.Errorf("raw frames of %dx%d: %w", w, h, ErrImageTooLarge)
	}
	return &RawGray{r: r, w: w, h: h}, nil
}

// Next reads one frame. A stream that ends between frames gives io.EOF,
// one that ends inside a frame io.ErrUnexpectedEOF. A read that blocks is
// not interrupted by ctx; close the underlying stream to stop it.
func (s *RawGray) Next(ctx context.Context) (*image.Gray, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	img := image.NewGray(image.Rect(0, 0, s.w, s.h))
	if _, err := io.ReadFull(s.r, img.Pix); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, io.EOF
		}
		return nil, fmt.Errorf("read raw frame: %w", err)
	}
	return img, nil
}

// FFmpegConfig describes an ffmpeg process that decodes a camera stream
// (an RTSP URL, a device, a file) into raw grey frames.
type FFmpegConfig struct {
	// Path is the ffmpeg binary; empty means "ffmpeg" on PATH.
	Path string
	// Input is ffmpeg's -i argument, e.g. rtsp://10.0.0.5/stream1.
	Input string
	// InputArgs go before -i (e.g. -rtsp_transport tcp).
	InputArgs []string
	// Width and Height are the frame size ffmpeg scales to.
	Width, Height int
}

// FFmpeg is a frame source that reads raw grey frames from an ffmpeg
// child process.
type FFmpeg struct {
	cmd  *exec.Cmd
	raw  *RawGray
	out  io.ReadCloser
	once sync.Once
	werr error
}

// StartFFmpeg starts ffmpeg with cfg. The process ends with ctx or Close.
func StartFFmpeg(ctx context.Context, cfg FFmpegConfig) (*FFmpeg, error) {
	path := cfg.Path
	if path == "" {
		path = "ffmpeg"
	}
	if cfg.Input == "" {
		return nil, errors.New("start ffmpeg: no input configured: set the camera's stream URL or device")
	}
	raw, err := NewRawGray(nil, cfg.Width, cfg.Height)
	if err != nil {
		return nil, fmt.Errorf("start ffmpeg: %w", err)
	}
	args := append([]string{"-nostdin", "-loglevel", "error"}, cfg.InputArgs...)
	args = append(args, "-i", cfg.Input,
		"-vf", "scale="+strconv.Itoa(cfg.Width)+":"+strconv.Itoa(cfg.Height),
		"-f", "rawvideo", "-pix_fmt", "gray", "-")
	cmd := exec.CommandContext(ctx, path, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("start ffmpeg: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start ffmpeg: %w (is ffmpeg installed? apt-get install ffmpeg)", err)
	}
	raw.r = out
	return &FFmpeg{cmd: cmd, raw: raw, out: out}, nil
}

// Next reads the next frame from ffmpeg.
func (f *FFmpeg) Next(ctx context.Context) (*image.Gray, error) {
	img, err := f.raw.Next(ctx)
	if err != nil && !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) {
		if werr := f.wait(); werr != nil {
			return nil, fmt.Errorf("ffmpeg: %w (after %w)", werr, err)
		}
	}
	return img, err
}

func (f *FFmpeg) wait() error {
	f.once.Do(func() { f.werr = f.cmd.Wait() })
	return f.werr
}

// Close stops ffmpeg.
func (f *FFmpeg) Close() error {
	if f.cmd.Process != nil {
		_ = f.cmd.Process.Kill()
	}
	_ = f.out.Close()
	err := f.wait()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return nil // killed by us
	}
	return err
}
