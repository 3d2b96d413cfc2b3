package ui

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	"image/png"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// refQRScale is the pixels per module of a passage reference's QR code;
// the page shows it at its natural size (a 21-module code with its quiet
// zone is 116 px), large enough for a phone's camera at arm's length.
const refQRScale = 4

// refQR returns the QR code of a passage reference as a PNG data URL, ""
// when it cannot be made (the page then shows the reference alone).
func refQR(ref string) (string, error) {
	hints := map[gozxing.EncodeHintType]any{
		gozxing.EncodeHintType_ERROR_CORRECTION: "M",
		gozxing.EncodeHintType_MARGIN:           4,
	}
	m, err := qrcode.NewQRCodeWriter().Encode(ref, gozxing.BarcodeFormat_QR_CODE, 0, 0, hints)
	if err != nil {
		return "", fmt.Errorf("QR code of passage reference %q: %w", ref, err)
	}
	w, h := m.GetWidth(), m.GetHeight()
	img := image.NewGray(image.Rect(0, 0, w*refQRScale, h*refQRScale))
	for y := range h * refQRScale {
		for x := range w * refQRScale {
			c := color.Gray{Y: 0xff}
			if m.Get(x/refQRScale, y/refQRScale) {
				c.Y = 0
			}
			img.SetGray(x, y, c)
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b.Bytes()), nil
}
