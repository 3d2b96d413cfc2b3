package camera

import (
	"context"
	"errors"
	"fmt"
	"image"
	"unsafe"

	"golang.org/x/sys/unix"
)

// V4L2 pixel formats (fourcc codes).
const (
	PixFmtYUYV = 'Y' | 'U'<<8 | 'Y'<<16 | 'V'<<24
	PixFmtMJPG = 'M' | 'J'<<8 | 'P'<<16 | 'G'<<24
	PixFmtGrey = 'G' | 'R'<<8 | 'E'<<16 | 'Y'<<24
)

// V4L2Config describes a V4L2 capture device.
type V4L2Config struct {
	// Device is the device node, e.g. /dev/video0.
	Device string
	// Width and Height are the requested frame size; the driver may
	// choose another, which Size reports.
	Width, Height int
	// PixelFormat is PixFmtYUYV (the default), PixFmtMJPG or PixFmtGrey.
	PixelFormat uint32
	// Buffers is the number of capture buffers (default 4).
	Buffers int
}

// V4L2 captures frames from a Video4Linux2 device through memory-mapped
// streaming I/O, with direct ioctls (no cgo).
type V4L2 struct {
	fd      int
	w, h    int
	stride  int
	pixfmt  uint32
	buffers [][]byte
	closed  bool
}

// v4l2 structures, laid out as in linux/videodev2.h for the target's word
// size. unsafe.Sizeof of these gives the sizes encoded in the ioctl
// numbers.
type (
	v4l2Capability struct {
		Driver       [16]byte
		Card         [32]byte
		BusInfo      [32]byte
		Version      uint32
		Capabilities uint32
		DeviceCaps   uint32
		Reserved     [3]uint32
	}
	v4l2PixFormat struct {
		Width, Height, PixelFormat, Field, BytesPerLine, SizeImage uint32
		Colorspace, Priv, Flags, YCbCrEnc, Quantization, XferFunc  uint32
	}
	v4l2Format struct {
		Type uint32
		Fmt  struct {
			_   [0]uintptr // the union holds pointers: word-aligned
			Pix v4l2PixFormat
			_   [200 - 48]byte
		}
	}
	v4l2RequestBuffers struct {
		Count, Type, Memory, Capabilities uint32
		Flags                             uint8
		Reserved                          [3]uint8
	}
	v4l2Buffer struct {
		Index, Type, BytesUsed, Flags, Field uint32
		Timestamp                            unix.Timeval
		Timecode                             [16]byte
		Sequence, Memory                     uint32
		M                                    uintptr // offset for MMAP buffers
		Length, Reserved2, RequestFD         uint32
	}
)

const (
	v4l2BufTypeVideoCapture = 1
	v4l2MemoryMMAP          = 1
	v4l2CapVideoCapture     = 0x00000001
	v4l2CapStreaming        = 0x04000000
	v4l2CapDeviceCaps       = 0x80000000
	v4l2FieldAny            = 0
)

func ioc(dir, nr, size uintptr) uintptr { return dir<<30 | size<<16 | 'V'<<8 | nr }

const (
	iocWrite = 1
	iocRead  = 2
)

var (
	vidiocQueryCap  = ioc(iocRead, 0, unsafe.Sizeof(v4l2Capability{}))
	vidiocSFmt      = ioc(iocRead|iocWrite, 5, unsafe.Sizeof(v4l2Format{}))
	vidiocReqBufs   = ioc(iocRead|iocWrite, 8, unsafe.Sizeof(v4l2RequestBuffers{}))
	vidiocQueryBuf  = ioc(iocRead|iocWrite, 9, unsafe.Sizeof(v4l2Buffer{}))
	vidiocQBuf      = ioc(iocRead|iocWrite, 15, unsafe.Sizeof(v4l2Buffer{}))
	vidiocDQBuf     = ioc(iocRead|iocWrite, 17, unsafe.Sizeof(v4l2Buffer{}))
	vidiocStreamOn  = ioc(iocWrite, 18, unsafe.Sizeof(int32(0)))
	vidiocStreamOff = ioc(iocWrite, 19, unsafe.Sizeof(int32(0)))
)

// osCalls is the operating system as the V4L2 source sees it; tests
// replace it.
type osCalls struct {
	open   func(path string, mode int, perm uint32) (int, error)
	close  func(fd int) error
	ioctl  func(fd int, req uintptr, arg unsafe.Pointer) error
	mmap   func(fd int, offset int64, length int) ([]byte, error)
	munmap func(b []byte) error
	poll   func(fds []unix.PollFd, timeout int) (int, error)
}

var sys = osCalls{
	open:  unix.Open,
	close: unix.Close,
	ioctl: func(fd int, req uintptr, arg unsafe.Pointer) error {
		for {
			_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), req, uintptr(arg))
			if errno == unix.EINTR {
				continue
			}
			if errno != 0 {
				return errno
			}
			return nil
		}
	},
	mmap: func(fd int, offset int64, length int) ([]byte, error) {
		return unix.Mmap(fd, offset, length, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED)
	},
	munmap: unix.Munmap,
	poll:   unix.Poll,
}

// OpenV4L2 opens and starts a capture device.
func OpenV4L2(cfg V4L2Config) (*V4L2, error) {
	if cfg.PixelFormat == 0 {
		cfg.PixelFormat = PixFmtYUYV
	}
	if cfg.Buffers <= 0 {
		cfg.Buffers = 4
	}
	fd, err := sys.open(cfg.Device, unix.O_RDWR|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open camera %s: %w (is it plugged in, and is the user in the video group?)", cfg.Device, err)
	}
	v := &V4L2{fd: fd, pixfmt: cfg.PixelFormat}
	if err := v.setup(cfg); err != nil {
		v.Close()
		return nil, fmt.Errorf("open camera %s: %w", cfg.Device, err)
	}
	return v, nil
}

func (v *V4L2) setup(cfg V4L2Config) error {
	var c v4l2Capability
	if err := sys.ioctl(v.fd, vidiocQueryCap, unsafe.Pointer(&c)); err != nil {
		return fmt.Errorf("query capabilities: %w (not a V4L2 device?)", err)
	}
	caps := c.Capabilities
	if caps&v4l2CapDeviceCaps != 0 {
		caps = c.DeviceCaps
	}
	if caps&v4l2CapVideoCapture == 0 || caps&v4l2CapStreaming == 0 {
		return fmt.Errorf("device cannot stream video capture (capabilities %#x): pick the camera's capture node", caps)
	}
	var f v4l2Format
	f.Type = v4l2BufTypeVideoCapture
	f.Fmt.Pix = v4l2PixFormat{Width: uint32(cfg.Width), Height: uint32(cfg.Height), PixelFormat: cfg.PixelFormat, Field: v4l2FieldAny}
	if err := sys.ioctl(v.fd, vidiocSFmt, unsafe.Pointer(&f)); err != nil {
		return fmt.Errorf("set format %dx%d: %w", cfg.Width, cfg.Height, err)
	}
	if f.Fmt.Pix.PixelFormat != cfg.PixelFormat {
		return fmt.Errorf("camera does not offer pixel format %q (it offers %q): configure another", fourcc(cfg.PixelFormat), fourcc(f.Fmt.Pix.PixelFormat))
	}
	v.w, v.h = int(f.Fmt.Pix.Width), int(f.Fmt.Pix.Height)
	v.stride = int(f.Fmt.Pix.BytesPerLine)
	if v.w <= 0 || v.h <= 0 || v.w > MaxPixels/v.h {
		return fmt.Errorf("driver chose frame size %dx%d: %w", v.w, v.h, ErrImageTooLarge)
	}
	req := v4l2RequestBuffers{Count: uint32(cfg.Buffers), Type: v4l2BufTypeVideoCapture, Memory: v4l2MemoryMMAP}
	if err := sys.ioctl(v.fd, vidiocReqBufs, unsafe.Pointer(&req)); err != nil {
		return fmt.Errorf("request buffers: %w", err)
	}
	if req.Count == 0 {
		return errors.New("driver granted no capture buffers")
	}
	for i := uint32(0); i < req.Count; i++ {
		b := v4l2Buffer{Index: i, Type: v4l2BufTypeVideoCapture, Memory: v4l2MemoryMMAP}
		if err := sys.ioctl(v.fd, vidiocQueryBuf, unsafe.Pointer(&b)); err != nil {
			return fmt.Errorf("query buffer %d: %w", i, err)
		}
		mem, err := sys.mmap(v.fd, int64(b.M), int(b.Length))
		if err != nil {
			return fmt.Errorf("map buffer %d: %w", i, err)
		}
		v.buffers = append(v.buffers, mem)
		if err := sys.ioctl(v.fd, vidiocQBuf, unsafe.Pointer(&b)); err != nil {
			return fmt.Errorf("queue buffer %d: %w", i, err)
		}
	}
	typ := int32(v4l2BufTypeVideoCapture)
	if err := sys.ioctl(v.fd, vidiocStreamOn, unsafe.Pointer(&typ)); err != nil {
		return fmt.Errorf("start streaming: %w", err)
	}
	return nil
}

// Size returns the frame size the driver chose.
func (v *V4L2) Size() (w, h int) { return v.w, v.h }

// Next waits for a frame and returns its luminance.
func (v *V4L2) Next(ctx context.Context) (*image.Gray, error) {
	fds := []unix.PollFd{{Fd: int32(v.fd), Events: unix.POLLIN}}
	var b v4l2Buffer
	for {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		// Wake up regularly to notice ctx.
		n, err := sys.poll(fds, 100)
		if err != nil && !errors.Is(err, unix.EINTR) {
			return nil, fmt.Errorf("wait for frame: %w", err)
		}
		if n <= 0 {
			continue
		}
		b = v4l2Buffer{Type: v4l2BufTypeVideoCapture, Memory: v4l2MemoryMMAP}
		err = sys.ioctl(v.fd, vidiocDQBuf, unsafe.Pointer(&b))
		if errors.Is(err, unix.EAGAIN) {
			continue // woken without a frame
		}
		if err != nil {
			return nil, fmt.Errorf("dequeue frame: %w (camera unplugged?)", err)
		}
		break
	}
	if int(b.Index) >= len(v.buffers) {
		return nil, fmt.Errorf("dequeue frame: driver returned buffer %d of %d", b.Index, len(v.buffers))
	}
	data := v.buffers[b.Index]
	if n := int(b.BytesUsed); n > 0 && n <= len(data) {
		data = data[:n]
	}
	img, convErr := frameToGray(data, v.pixfmt, v.w, v.h, v.stride)
	// Hand the buffer back whether or not the frame converted.
	if err := sys.ioctl(v.fd, vidiocQBuf, unsafe.Pointer(&b)); err != nil {
		return nil, fmt.Errorf("requeue buffer: %w", err)
	}
	return img, convErr
}

// Close stops streaming and releases the device.
func (v *V4L2) Close() error {
	if v.closed {
		return nil
	}
	v.closed = true
	typ := int32(v4l2BufTypeVideoCapture)
	_ = sys.ioctl(v.fd, vidiocStreamOff, unsafe.Pointer(&typ))
	for _, b := range v.buffers {
		_ = sys.munmap(b)
	}
	v.buffers = nil
	return sys.close(v.fd)
}

// frameToGray converts a captured frame to a grey image: the Y samples of
// YUYV, the luminance of an MJPEG frame, or a GREY frame as is. The
// result does not share memory with data.
func frameToGray(data []byte, pixfmt uint32, w, h, stride int) (*image.Gray, error) {
	switch pixfmt {
	case PixFmtYUYV:
		if stride < 2*w {
			stride = 2 * w
		}
		if len(data) < (h-1)*stride+2*w {
			return nil, fmt.Errorf("YUYV frame of %d bytes, want %d for %dx%d", len(data), h*stride, w, h)
		}
		img := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			src := data[y*stride : y*stride+2*w]
			dst := img.Pix[y*w : (y+1)*w]
			for x := range dst {
				dst[x] = src[2*x]
			}
		}
		return img, nil
	case PixFmtGrey:
		if stride < w {
			stride = w
		}
		if len(data) < (h-1)*stride+w {
			return nil, fmt.Errorf("GREY frame of %d bytes, want %d for %dx%d", len(data), h*stride, w, h)
		}
		img := image.NewGray(image.Rect(0, 0, w, h))
		for y := 0; y < h; y++ {
			copy(img.Pix[y*w:(y+1)*w], data[y*stride:])
		}
		return img, nil
	case PixFmtMJPG:
		// The frame is decoded from a copy: the buffer goes back to the
		// driver.
		img, err := decodeJPEGFrame(append([]byte(nil), data...))
		if err != nil {
			return nil, fmt.Errorf("MJPEG frame: %w", err)
		}
		return img, nil
	}
	return nil, fmt.Errorf("pixel format %q is not supported (use YUYV, MJPG or GREY)", fourcc(pixfmt))
}

func fourcc(f uint32) string {
	return string([]byte{byte(f), byte(f >> 8), byte(f >> 16), byte(f >> 24)})
}
