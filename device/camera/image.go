package camera

import (
	"bytes"
	"fmt"
	"image"
	"image/color"
	"image/draw"
	_ "image/jpeg" // JPEG frames and files
	_ "image/png"  // PNG files
	"io"
	"os"
)

// MaxImageBytes bounds the size of an encoded image file or frame that the
// package reads.
const MaxImageBytes = 64 << 20

// LoadGray reads a PNG or JPEG image from r and returns its luminance.
// For JPEG the luminance plane is taken as stored, without conversion.
func LoadGray(r io.Reader) (*image.Gray, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxImageBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read image: %w", err)
	}
	return decodeGray(data)
}

// decodeGray decodes PNG or JPEG bytes into a grey image, refusing images
// larger than MaxPixels before decoding them.
func decodeGray(data []byte) (*image.Gray, error) {
	if len(data) > MaxImageBytes {
		return nil, fmt.Errorf("read image: more than %d bytes: %w", MaxImageBytes, ErrImageTooLarge)
	}
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("read image: not a PNG or JPEG image: %w", err)
	}
	if cfg.Width <= 0 || cfg.Height <= 0 || cfg.Width > MaxPixels/cfg.Height {
		return nil, fmt.Errorf("read %s image of %dx%d: %w", format, cfg.Width, cfg.Height, ErrImageTooLarge)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("read %s image: %w", format, err)
	}
	return Gray(img), nil
}

// Gray returns the luminance of img as a grey image. A *image.Gray is
// returned as is, and the Y plane of a *image.YCbCr is shared, not copied.
func Gray(img image.Image) *image.Gray {
	b := img.Bounds()
	switch m := img.(type) {
	case *image.Gray:
		return m
	case *image.YCbCr:
		return &image.Gray{Pix: m.Y[m.YOffset(b.Min.X, b.Min.Y):], Stride: m.YStride, Rect: image.Rect(0, 0, b.Dx(), b.Dy())}
	case *image.Paletted:
		var lut [256]uint8
		for i, c := range m.Palette {
			lut[i] = color.GrayModel.Convert(c).(color.Gray).Y
		}
		g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
		for y := 0; y < b.Dy(); y++ {
			src := m.Pix[m.PixOffset(b.Min.X, b.Min.Y+y):]
			dst := g.Pix[y*g.Stride : y*g.Stride+b.Dx()]
			for x := range dst {
				dst[x] = lut[src[x]]
			}
		}
		return g
	}
	g := image.NewGray(image.Rect(0, 0, b.Dx(), b.Dy()))
	draw.Draw(g, g.Rect, img, b.Min, draw.Src)
	return g
}

// DecodeFile reads a PNG or JPEG file and decodes the QR code in it.
func DecodeFile(path string) (Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return Result{}, fmt.Errorf("decode file: %w", err)
	}
	defer f.Close()
	img, err := LoadGray(f)
	if err != nil {
		return Result{}, fmt.Errorf("decode %s: %w", path, err)
	}
	r, err := Decode(img)
	if err != nil {
		return Result{}, fmt.Errorf("decode %s: %w", path, err)
	}
	return r, nil
}
