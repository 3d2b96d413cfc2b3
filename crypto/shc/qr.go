package shc

import (
	"strings"

	"github.com/makiuchi-d/gozxing/qrcode/decoder"
)

// MaxQRVersion is the largest QR code version the specification allows
// for a SMART Health Card.
const MaxQRVersion = 22

// QRWarnings returns the warnings about the QR symbol a card was read
// from, given what the decoder reports (device/camera's Result: Version,
// ECLevel and the text): a version above [MaxQRVersion]
// ([WarnQRVersion]), or a version larger than the text needs at its
// error-correction level when encoded as the specification says, a byte
// segment for the header and a numeric one for the digits
// ([WarnQRInflated]).
//
// The gate accepts such a card on its content: the symbol's size has no
// bearing on whether the card is genuine.
func QRWarnings(version int, ecLevel, text string) []Warning {
	var w []Warning
	if version > MaxQRVersion {
		w = append(w, WarnQRVersion)
	}
	if need := minQRVersion(ecLevel, text); need > 0 && version > need {
		w = append(w, WarnQRInflated)
	}
	return w
}

// minQRVersion returns the smallest QR version that holds text as a byte
// segment (the header) and a numeric segment (the digits) at ecLevel, or 0
// when text is not of that shape or does not fit at all.
func minQRVersion(ecLevel, text string) int {
	level, err := decoder.ErrorCorrectionLevel_ValueOf(ecLevel)
	if err != nil || !strings.HasPrefix(text, Prefix) {
		return 0
	}
	header := len(Prefix)
	if rest := text[header:]; strings.Count(rest, "/") == 2 {
		header += strings.LastIndexByte(rest, '/') + 1
	}
	digits := len(text) - header
	if digits == 0 || strings.TrimLeft(text[header:], "0123456789") != "" {
		return 0
	}
	for v := 1; v <= 40; v++ {
		ver, err := decoder.Version_GetVersionForNumber(v)
		if err != nil {
			return 0
		}
		// Character count bits of byte and numeric mode by version range.
		byteCount, numCount := 8, 10
		switch {
		case v >= 27:
			byteCount, numCount = 16, 14
		case v >= 10:
			byteCount, numCount = 16, 12
		}
		bits := 4 + byteCount + 8*header + 4 + numCount + 10*(digits/3) + [3]int{0, 4, 7}[digits%3]
		capacity := 8 * (ver.GetTotalCodewords() - ver.GetECBlocksForLevel(level).GetTotalECCodewords())
		if bits <= capacity {
			return v
		}
	}
	return 0
}
