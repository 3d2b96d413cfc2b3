package camera

import (
	"bytes"
	"errors"
	"image"
	"io"
	"testing"
)

// grayFromFuzz makes a small grey image from fuzz bytes: the first two
// bytes give the size, the rest the pixels (repeated to fill). The image
// is a sub-image of a wider one (by 0 to 6 pixels, from the data's
// length), so its stride exceeds its width and its rows start at an
// offset, as a cropped camera frame's do.
func grayFromFuzz(data []byte) *image.Gray {
	if len(data) < 3 {
		return image.NewGray(image.Rect(0, 0, len(data), 1))
	}
	w, h := 1+int(data[0])%160, 1+int(data[1])%160
	pad := len(data) % 7
	parent := image.NewGray(image.Rect(0, 0, w+pad, h))
	for i := range parent.Pix {
		parent.Pix[i] = 0x5a
	}
	img := parent.SubImage(image.Rect(pad, 0, pad+w, h)).(*image.Gray)
	px := data[2:]
	for y := range h {
		for x := range w {
			img.Pix[y*img.Stride+x] = px[(y*w+x)%len(px)]
		}
	}
	return img
}

// FuzzDecode checks that no frame, however malformed, crashes the decoder
// or yields a payload longer than a QR code can carry.
func FuzzDecode(f *testing.F) {
	qr := encodeQR(f, "HC1:FUZZ", "M", "", 2, 0, 0)
	seed := append([]byte{byte(qr.Rect.Dx() - 1), byte(qr.Rect.Dy() - 1)}, qr.Pix...)
	f.Add(seed)
	f.Add([]byte{63, 47, 0, 255})
	f.Add([]byte{159, 159, 0, 0, 0, 255, 255, 255, 0, 255, 0})
	f.Add([]byte{})
	d := NewDecoder()
	f.Fuzz(func(t *testing.T, data []byte) {
		img := grayFromFuzz(data)
		r, err := d.Decode(img)
		if err != nil {
			if !errors.Is(err, ErrNoCode) {
				t.Fatalf("got error %v, want ErrNoCode or a result", err)
			}
			return
		}
		if len(r.Payload) > 3*MaxPayload || r.Version < 1 || r.Version > 40 {
			t.Fatalf("got payload of %d bytes, version %d", len(r.Payload), r.Version)
		}
	})
}

// FuzzMJPEG feeds arbitrary bytes to the MJPEG stream parser and the
// frame decoder, which read bytes from cameras on the network.
func FuzzMJPEG(f *testing.F) {
	jpg := jpegBytes(f, encodeQR(f, "HC1:MJPEG", "M", "", 2, 0, 0))
	part := func(hdr string, body []byte) []byte {
		return append(append([]byte("--b\r\n"+hdr+"\r\n"), body...), "\r\n"...)
	}
	f.Add(part("Content-Type: image/jpeg\r\nContent-Length: 4\r\n", []byte{0xff, 0xd8, 0xff, 0xd9}))
	f.Add(part("Content-Type: image/jpeg\r\n", jpg))
	f.Add(part("Content-Length: 999999999\r\n", nil))
	f.Add(append(part("", stripDHT(f, jpg)), "--b--\r\n"...))
	f.Add([]byte("garbage without a boundary\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := newMJPEGReader(bytes.NewReader(data), "b")
		for i := 0; i < 4; i++ {
			b, err := r.next()
			if err != nil {
				return
			}
			if len(b) > MaxFrameBytes {
				t.Fatalf("part of %d bytes", len(b))
			}
			img, err := decodeJPEGFrame(b)
			if err == nil && (img.Rect.Dx()*img.Rect.Dy() > MaxPixels) {
				t.Fatalf("decoded a %v image", img.Rect)
			}
		}
	})
}

// FuzzLoadGray feeds arbitrary bytes to the image loader behind
// sentinelctl verify and scan.
func FuzzLoadGray(f *testing.F) {
	qr := encodeQR(f, "HC1:FILE", "M", "", 2, 0, 0)
	var png bytes.Buffer
	writePNGTo(f, &png, qr)
	f.Add(png.Bytes())
	f.Add(jpegBytes(f, qr))
	f.Add([]byte("\x89PNG\r\n\x1a\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		img, err := LoadGray(bytes.NewReader(data))
		if err != nil {
			return
		}
		b := img.Bounds()
		if b.Dx()*b.Dy() > MaxPixels || len(img.Pix) < (b.Dy()-1)*img.Stride+b.Dx() {
			t.Fatalf("got image %v with %d bytes, stride %d", b, len(img.Pix), img.Stride)
		}
	})
}

// FuzzSegmentPayload feeds arbitrary data codewords to the segment
// parser.
func FuzzSegmentPayload(f *testing.F) {
	f.Add([]byte{0x20, 0x5b, 0x0b, 0x78, 0xd1, 0x72, 0xdc, 0x4d, 0x43, 0x40, 0xec, 0x11}, 1)
	f.Add([]byte{0x40, 0x34, 0x86, 0x56, 0xc6, 0xc6, 0xf0}, 2)
	f.Add([]byte{0x70, 0x34, 0x00, 0x00}, 10)
	f.Fuzz(func(t *testing.T, data []byte, version int) {
		p, err := segmentPayload(data, version)
		if err == nil && len(p) > MaxPayload {
			t.Fatalf("got %d bytes, more than MaxPayload", len(p))
		}
	})
}

func writePNGTo(t testing.TB, w io.Writer, img image.Image) {
	t.Helper()
	if err := pngEncode(w, img); err != nil {
		t.Fatal(err)
	}
}
