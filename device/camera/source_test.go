package camera

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/jpeg"
	"image/png"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

var pngEncode = png.Encode

var update = flag.Bool("update", false, "rewrite the recorded frames in testdata/frames")

func writePNG(t *testing.T, path string, img image.Image) {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestReplay(t *testing.T) {
	dir := t.TempDir()
	a := encodeQR(t, "HC1:FIRST", "M", "", 3, 120, 120)
	b := encodeQR(t, "HC1:SECOND", "M", "", 3, 120, 120)
	writePNG(t, filepath.Join(dir, "a.png"), a)
	writePNG(t, filepath.Join(dir, "b.png"), b)
	paths := []string{filepath.Join(dir, "a.png"), filepath.Join(dir, "b.png")}
	ctx := context.Background()

	tests := []struct {
		name string
		loop bool
		want []string // payloads, "EOF" for io.EOF
	}{
		{"once", false, []string{"HC1:FIRST", "HC1:SECOND", "EOF"}},
		{"loop", true, []string{"HC1:FIRST", "HC1:SECOND", "HC1:FIRST"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := NewReplay(paths, tt.loop)
			for i, want := range tt.want {
				img, err := src.Next(ctx)
				if want == "EOF" {
					if !errors.Is(err, io.EOF) {
						t.Fatalf("frame %d: got %v, want io.EOF", i, err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				r, err := Decode(img)
				if err != nil || r.Text() != want {
					t.Errorf("frame %d: got %q, %v, want %q", i, r.Text(), err, want)
				}
			}
		})
	}
}

func TestRawGray(t *testing.T) {
	frame := func(v byte) []byte { return bytes.Repeat([]byte{v}, 4*3) }
	tests := []struct {
		name    string
		stream  []byte
		frames  int
		wantErr error
	}{
		{"two whole frames", append(frame(1), frame(2)...), 2, io.EOF},
		{"cut inside a frame", append(frame(1), 9, 9, 9), 1, io.ErrUnexpectedEOF},
		{"empty", nil, 0, io.EOF},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := NewRawGray(bytes.NewReader(tt.stream), 4, 3)
			if err != nil {
				t.Fatal(err)
			}
			for i := 0; i < tt.frames; i++ {
				img, err := src.Next(context.Background())
				if err != nil {
					t.Fatalf("frame %d: %v", i, err)
				}
				if got, want := img.Pix[0], byte(i+1); got != want || len(img.Pix) != 12 {
					t.Errorf("frame %d: got first pixel %d of %d, want %d of 12", i, got, len(img.Pix), want)
				}
			}
			if _, err := src.Next(context.Background()); !errors.Is(err, tt.wantErr) {
				t.Errorf("after %d frames: got %v, want %v", tt.frames, err, tt.wantErr)
			}
		})
	}
	if _, err := NewRawGray(nil, 0, 10); err == nil {
		t.Error("NewRawGray(0x10): got nil error, want one")
	}
}

// TestFFmpeg runs a stand-in for ffmpeg (a shell script that checks the
// arguments it is given and writes two raw frames) through StartFFmpeg.
func TestFFmpeg(t *testing.T) {
	sh, err := exec.LookPath("sh")
	if err != nil {
		t.Skipf("SKIPPED: no sh to run the stand-in ffmpeg: %v", err)
	}
	_ = sh
	dir := t.TempDir()
	img := encodeQR(t, "HC1:FROM-FFMPEG", "M", "", 2, 80, 60)
	w, h := img.Rect.Dx(), img.Rect.Dy()
	raw := filepath.Join(dir, "frames.raw")
	if err := os.WriteFile(raw, append(append([]byte(nil), img.Pix...), img.Pix...), 0o644); err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "ffmpeg")
	body := fmt.Sprintf(`#!/bin/sh
case "$*" in
*"-i rtsp://camera/stream"*"-f rawvideo -pix_fmt gray -") cat %q ;;
*) echo "unexpected arguments: $*" >&2; exit 3 ;;
esac
`, raw)
	if err := os.WriteFile(script, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	src, err := StartFFmpeg(ctx, FFmpegConfig{Path: script, Input: "rtsp://camera/stream", Width: w, Height: h})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	for i := 0; i < 2; i++ {
		f, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if r, err := Decode(f); err != nil || r.Text() != "HC1:FROM-FFMPEG" {
			t.Errorf("frame %d: got %q, %v, want HC1:FROM-FFMPEG", i, r.Text(), err)
		}
	}
	if _, err := src.Next(ctx); !errors.Is(err, io.EOF) {
		t.Errorf("after the last frame: got %v, want io.EOF", err)
	}
	if err := src.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if _, err := StartFFmpeg(ctx, FFmpegConfig{Path: script, Width: w, Height: h}); err == nil {
		t.Error("StartFFmpeg without input: got nil error, want one")
	}
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// stripDHT removes the Huffman table segments from a JPEG, as many MJPEG
// cameras send their frames.
func stripDHT(t testing.TB, b []byte) []byte {
	t.Helper()
	out := append([]byte(nil), b[:2]...)
	i := 2
	for i+4 <= len(b) {
		marker := b[i+1]
		if marker == 0xda {
			return append(out, b[i:]...)
		}
		n := int(b[i+2])<<8 | int(b[i+3])
		if marker != 0xc4 {
			out = append(out, b[i:i+2+n]...)
		}
		i += 2 + n
	}
	t.Fatal("no SOS in JPEG")
	return nil
}

func TestMJPEGStream(t *testing.T) {
	codes := []string{"HC1:FRAME-ONE", "HC1:FRAME-TWO"}
	var frames [][]byte
	for i, c := range codes {
		j := jpegBytes(t, encodeQR(t, c, "M", "", 4, 200, 160))
		if i == 1 {
			j = stripDHT(t, j) // as webcams send MJPEG
		}
		frames = append(frames, j)
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/stream", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "multipart/x-mixed-replace; boundary=--myboundary")
		for i, f := range frames {
			if i == 1 { // no length: the part ends at the JPEG's end-of-image marker
				fmt.Fprintf(w, "--myboundary\r\nContent-Type: image/jpeg\r\n\r\n")
			} else {
				fmt.Fprintf(w, "--myboundary\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n", len(f))
			}
			w.Write(f)
			io.WriteString(w, "\r\n")
		}
	})
	mux.HandleFunc("/still", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "image/jpeg")
		w.Write(frames[0])
	})
	srv := httptest.NewServer(mux)
	defer srv.Close()
	if !strings.HasPrefix(srv.URL, "http://127.0.0.1:") {
		t.Fatalf("test server at %s, want 127.0.0.1", srv.URL)
	}
	ctx := context.Background()
	src := NewMJPEGStream(srv.URL+"/stream", srv.Client())
	defer src.Close()
	for i, want := range codes {
		img, err := src.Next(ctx)
		if err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		if r, err := Decode(img); err != nil || r.Text() != want {
			t.Errorf("frame %d: got %q, %v, want %q", i, r.Text(), err, want)
		}
	}
	if _, err := src.Next(ctx); err == nil {
		t.Error("after the last part: got nil error, want the end of the stream")
	}

	for _, tt := range []struct{ name, path string }{{"not multipart", "/still"}, {"not found", "/nothing"}} {
		t.Run(tt.name, func(t *testing.T) {
			s := NewMJPEGStream(srv.URL+tt.path, srv.Client())
			if _, err := s.Next(ctx); err == nil {
				t.Errorf("got nil error for %s, want one", tt.path)
			}
		})
	}
}

func TestWithHuffmanTables(t *testing.T) {
	img := encodeQR(t, "HC1:HUFFMAN", "M", "", 3, 100, 100)
	full := jpegBytes(t, img)
	stripped := stripDHT(t, full)
	if _, err := jpeg.Decode(bytes.NewReader(stripped)); err == nil {
		t.Fatal("a JPEG without Huffman tables decoded without the fix; the test proves nothing")
	}
	want, err := decodeGray(full)
	if err != nil {
		t.Fatal(err)
	}
	got, err := decodeJPEGFrame(stripped)
	if err != nil {
		t.Fatalf("decode with standard tables: %v", err)
	}
	if !bytes.Equal(got.Pix, want.Pix) {
		t.Error("frame decoded with the standard tables differs from the original")
	}
	if b := withHuffmanTables(full); !bytes.Equal(b, full) {
		t.Error("a JPEG with tables was changed")
	}
}

// recordedFrame returns a recorded capture frame from testdata/frames,
// writing it first with -update.
func recordedFrame(t *testing.T, name string, make func() []byte) []byte {
	t.Helper()
	path := filepath.Join("testdata", "frames", name)
	if *update {
		if err := os.WriteFile(path, make(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -run TestFrameToGray -update to record it)", err)
	}
	return b
}

func TestFrameToGray(t *testing.T) {
	qr := encodeQR(t, "HC1:V4L2", "M", "", 2, 64, 48)
	w, h := qr.Rect.Dx(), qr.Rect.Dy()
	yuyv := recordedFrame(t, "yuyv-qr.bin", func() []byte {
		b := make([]byte, 0, 2*w*h)
		for i, y := range qr.Pix {
			b = append(b, y, byte(128+i%7)) // Y, then alternating U and V
		}
		return b
	})
	mjpg := recordedFrame(t, "mjpeg-no-dht.jpg", func() []byte { return stripDHT(t, jpegBytes(t, qr)) })
	grey := recordedFrame(t, "grey-stride.bin", func() []byte {
		b := make([]byte, 0, (w+8)*h)
		for y := 0; y < h; y++ {
			b = append(b, qr.Pix[y*w:(y+1)*w]...)
			b = append(b, make([]byte, 8)...) // row padding
		}
		return b
	})
	tests := []struct {
		name    string
		data    []byte
		pixfmt  uint32
		stride  int
		wantErr bool
	}{
		{"yuyv", yuyv, PixFmtYUYV, 2 * w, false},
		{"mjpeg without huffman tables", mjpg, PixFmtMJPG, 0, false},
		{"grey with padded rows", grey, PixFmtGrey, w + 8, false},
		{"yuyv cut short", yuyv[:len(yuyv)/2], PixFmtYUYV, 2 * w, true},
		{"unknown format", yuyv, 'R' | 'G'<<8 | 'B'<<16 | '3'<<24, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img, err := frameToGray(tt.data, tt.pixfmt, w, h, tt.stride)
			if tt.wantErr {
				if err == nil {
					t.Fatal("got nil error, want one")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r, err := Decode(img); err != nil || r.Text() != "HC1:V4L2" {
				t.Errorf("got %q, %v, want HC1:V4L2", r.Text(), err)
			}
		})
	}
}

func TestV4L2Layout(t *testing.T) {
	if unsafe.Sizeof(uintptr(0)) != 8 {
		t.Skip("sizes below are those of 64-bit Linux")
	}
	tests := []struct {
		name string
		got  uintptr
		want uintptr
	}{
		{"VIDIOC_QUERYCAP", vidiocQueryCap, 0x80685600},
		{"VIDIOC_S_FMT", vidiocSFmt, 0xc0d05605},
		{"VIDIOC_REQBUFS", vidiocReqBufs, 0xc0145608},
		{"VIDIOC_QUERYBUF", vidiocQueryBuf, 0xc0585609},
		{"VIDIOC_QBUF", vidiocQBuf, 0xc058560f},
		{"VIDIOC_DQBUF", vidiocDQBuf, 0xc0585611},
		{"VIDIOC_STREAMON", vidiocStreamOn, 0x40045612},
		{"VIDIOC_STREAMOFF", vidiocStreamOff, 0x40045613},
		{"offsetof(v4l2_buffer.m)", unsafe.Offsetof(v4l2Buffer{}.M), 64},
		{"offsetof(v4l2_format.fmt)", unsafe.Offsetof(v4l2Format{}.Fmt), 8},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %#x, want %#x", tt.name, tt.got, tt.want)
		}
	}
}

// TestV4L2Capture drives OpenV4L2 and Next through a fake kernel that
// answers the ioctls as a YUYV webcam would.
func TestV4L2Capture(t *testing.T) {
	qr := encodeQR(t, "HC1:WEBCAM", "M", "", 2, 64, 48)
	w, h := qr.Rect.Dx(), qr.Rect.Dy()
	frame := make([]byte, 2*w*h)
	for i, y := range qr.Pix {
		frame[2*i], frame[2*i+1] = y, 128
	}
	bufs := [][]byte{make([]byte, len(frame)), make([]byte, len(frame))}
	var calls []string
	queued := map[uint32]bool{}
	saved := sys
	t.Cleanup(func() { sys = saved })
	sys = osCalls{
		open: func(path string, mode int, perm uint32) (int, error) {
			if path != "/dev/video7" {
				return -1, unix.ENOENT
			}
			return 42, nil
		},
		close: func(fd int) error { calls = append(calls, "close"); return nil },
		ioctl: func(fd int, req uintptr, arg unsafe.Pointer) error {
			switch req {
			case vidiocQueryCap:
				calls = append(calls, "querycap")
				(*v4l2Capability)(arg).Capabilities = v4l2CapVideoCapture | v4l2CapStreaming
			case vidiocSFmt:
				calls = append(calls, "s_fmt")
				f := (*v4l2Format)(arg)
				f.Fmt.Pix.Width, f.Fmt.Pix.Height = uint32(w), uint32(h) // the driver picks the size
				f.Fmt.Pix.BytesPerLine = uint32(2 * w)
			case vidiocReqBufs:
				calls = append(calls, "reqbufs")
				(*v4l2RequestBuffers)(arg).Count = uint32(len(bufs))
			case vidiocQueryBuf:
				b := (*v4l2Buffer)(arg)
				b.M, b.Length = uintptr(b.Index)*4096, uint32(len(frame))
			case vidiocQBuf:
				queued[(*v4l2Buffer)(arg).Index] = true
			case vidiocDQBuf:
				calls = append(calls, "dqbuf")
				b := (*v4l2Buffer)(arg)
				b.Index, b.BytesUsed = 1, uint32(len(frame))
				copy(bufs[1], frame)
				queued[1] = false
			case vidiocStreamOn:
				calls = append(calls, "streamon")
			case vidiocStreamOff:
				calls = append(calls, "streamoff")
			default:
				return unix.EINVAL
			}
			return nil
		},
		mmap: func(fd int, offset int64, length int) ([]byte, error) {
			return bufs[offset/4096][:length], nil
		},
		munmap: func(b []byte) error { return nil },
		poll:   func(fds []unix.PollFd, timeout int) (int, error) { return 1, nil },
	}
	if _, err := OpenV4L2(V4L2Config{Device: "/dev/video0"}); err == nil {
		t.Error("opening a missing device: got nil error, want one")
	}
	cam, err := OpenV4L2(V4L2Config{Device: "/dev/video7", Width: 1280, Height: 720})
	if err != nil {
		t.Fatal(err)
	}
	if gw, gh := cam.Size(); gw != w || gh != h {
		t.Errorf("got size %dx%d, want the driver's %dx%d", gw, gh, w, h)
	}
	img, err := cam.Next(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if r, err := Decode(img); err != nil || r.Text() != "HC1:WEBCAM" {
		t.Errorf("got %q, %v, want HC1:WEBCAM", r.Text(), err)
	}
	if !queued[1] {
		t.Error("the dequeued buffer was not queued again")
	}
	if err := cam.Close(); err != nil {
		t.Fatal(err)
	}
	want := "querycap s_fmt reqbufs streamon dqbuf streamoff close"
	if got := strings.Join(calls, " "); got != want {
		t.Errorf("got calls %q, want %q", got, want)
	}
}
