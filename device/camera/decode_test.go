package camera

import (
	"bytes"
	"errors"
	"image"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// encodeQR renders payload as a QR code with the given error-correction
// level, scale pixels per module, on a white frame of w×h (at least the
// code's size).
func encodeQR(t testing.TB, payload, ecl string, charset string, scale, w, h int) *image.Gray {
	t.Helper()
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: ecl,
		gozxing.EncodeHintType_MARGIN:           0,
	}
	if charset != "" {
		hints[gozxing.EncodeHintType_CHARACTER_SET] = charset
	}
	m, err := qrcode.NewQRCodeWriter().Encode(payload, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		t.Fatalf("encode %q: %v", payload, err)
	}
	n := m.GetWidth()
	if w < (n+8)*scale {
		w = (n + 8) * scale
	}
	if h < (n+8)*scale {
		h = (n + 8) * scale
	}
	g := image.NewGray(image.Rect(0, 0, w, h))
	for i := range g.Pix {
		g.Pix[i] = 255
	}
	x0, y0 := (w-n*scale)/2, (h-n*scale)/2
	for y := 0; y < n*scale; y++ {
		for x := 0; x < n*scale; x++ {
			if m.Get(x/scale, y/scale) {
				g.Pix[(y0+y)*g.Stride+x0+x] = 0
			}
		}
	}
	return g
}

func latin1(b []byte) string {
	r := make([]rune, len(b))
	for i, c := range b {
		r[i] = rune(c)
	}
	return string(r)
}

func TestDecodeGenerated(t *testing.T) {
	hc1 := "HC1:" + strings.Repeat("NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6IOOK.IR9B", 7)[:296]
	bin := make([]byte, 120)
	for i := range bin {
		bin[i] = byte(i*37 + 11)
	}
	tests := []struct {
		name    string
		payload string // what the encoder is given
		charset string
		want    []byte
		ecl     string
	}{
		{"hc1 alphanumeric", hc1, "", []byte(hc1), "M"},
		{"numeric shc", "shc:/5676290952432060346029243740446031", "", []byte("shc:/5676290952432060346029243740446031"), "Q"},
		{"binary with latin1 eci", latin1(bin), "ISO-8859-1", bin, "M"},
		{"utf-8 text", "Grüße 健康码", "", []byte("Grüße 健康码"), "L"},
		{"level h", "HCN1:ABCDEF", "", []byte("HCN1:ABCDEF"), "H"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			img := encodeQR(t, tt.payload, tt.ecl, tt.charset, 4, 640, 480)
			r, err := Decode(img)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !bytes.Equal(r.Payload, tt.want) {
				t.Errorf("got payload %q, want %q", r.Payload, tt.want)
			}
			if r.ECLevel != tt.ecl {
				t.Errorf("got EC level %q, want %q", r.ECLevel, tt.ecl)
			}
			if r.Version < 1 || r.Version > 40 {
				t.Errorf("got version %d, want 1..40", r.Version)
			}
			if len(r.Corners) != 3 {
				t.Errorf("got %d corners, want 3", len(r.Corners))
			}
		})
	}
}

func TestDecodeInvertedAndSubImage(t *testing.T) {
	img := encodeQR(t, "HC1:INVERTED", "M", "", 5, 400, 300)
	inv := image.NewGray(img.Rect)
	for i, v := range img.Pix {
		inv.Pix[i] = 255 - v
	}
	if r, err := Decode(inv); err != nil || r.Text() != "HC1:INVERTED" {
		t.Errorf("inverted: got %q, %v, want %q", r.Text(), err, "HC1:INVERTED")
	}
	// A sub-image has a stride wider than its width and a non-zero origin.
	big := image.NewGray(image.Rect(0, 0, 1000, 800))
	for i := range big.Pix {
		big.Pix[i] = 90 // a dark surround, outside the crop
	}
	for y := 0; y < 300; y++ {
		copy(big.Pix[(y+250)*big.Stride+300:], img.Pix[y*img.Stride:y*img.Stride+400])
	}
	sub := big.SubImage(image.Rect(300, 250, 700, 550)).(*image.Gray)
	if r, err := Decode(sub); err != nil || r.Text() != "HC1:INVERTED" {
		t.Errorf("sub-image: got %q, %v, want %q", r.Text(), err, "HC1:INVERTED")
	}
}

func TestDecodeNothing(t *testing.T) {
	blank := image.NewGray(image.Rect(0, 0, 640, 480))
	noise := image.NewGray(image.Rect(0, 0, 64, 48))
	for i := range noise.Pix {
		noise.Pix[i] = byte(i * 7919 >> 3)
	}
	tests := []struct {
		name string
		img  *image.Gray
	}{
		{"nil", nil},
		{"empty rectangle", image.NewGray(image.Rect(0, 0, 0, 0))},
		{"black", blank},
		{"pattern", noise},
		{"one pixel", image.NewGray(image.Rect(0, 0, 1, 1))},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Decode(tt.img)
			if !errors.Is(err, ErrNoCode) {
				t.Errorf("got %q, %v, want ErrNoCode", r.Payload, err)
			}
		})
	}
}

func TestLoadGrayRefusesGarbage(t *testing.T) {
	if _, err := LoadGray(strings.NewReader("not an image")); err == nil {
		t.Error("got nil error for text input, want an error")
	}
}
