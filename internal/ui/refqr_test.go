package ui

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"strings"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"sentinel/internal/passage"
)

// A refusal or referral shows its passage reference with a QR code that a
// phone reads back as the same reference; an admission shows none.
func TestShowPassageRef(t *testing.T) {
	ref := passage.NewRef("T-0042", [16]byte{1}, 9, t0).String()
	s := New(Options{Now: func() time.Time { return t0 }})
	for _, v := range []passage.Verdict{passage.Deny, passage.Refer, passage.Admit} {
		s.Show(Shown{Lane: "a", Verdict: v, Ref: ref})
		s.mu.Lock()
		got := s.snapshot(LangEN).Lanes[0].Verdict
		s.mu.Unlock()
		if v == passage.Admit {
			if got.Ref != "" || got.RefQR != "" {
				t.Errorf("admit: shows reference %q and a QR code, want none", got.Ref)
			}
			continue
		}
		if got.Ref != ref {
			t.Fatalf("%s: shows reference %q, want %q", v, got.Ref, ref)
		}
		data, ok := strings.CutPrefix(got.RefQR, "data:image/png;base64,")
		if !ok {
			t.Fatalf("%s: QR code %.40q is not a PNG data URL", v, got.RefQR)
		}
		raw, err := base64.StdEncoding.DecodeString(data)
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			t.Fatal(err)
		}
		res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
		if err != nil {
			t.Fatalf("%s: the QR code does not read: %v", v, err)
		}
		if res.GetText() != ref {
			t.Errorf("%s: the QR code reads %q, want %q", v, res.GetText(), ref)
		}
		if _, err := passage.ParseRef(res.GetText()); err != nil {
			t.Errorf("%s: what the QR code holds does not parse: %v", v, err)
		}
	}
}
