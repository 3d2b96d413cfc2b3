package camera

import (
	"bytes"
	"errors"
	"testing"

	"sentinel/device/camera/camtest"
)

// setFrame returns the spec of the benchmark set with these parameters
// (the first rep).
func setFrame(t *testing.T, v camtest.Variant, w int, payload, ecc string) camtest.Spec {
	t.Helper()
	for _, s := range camtest.Set() {
		if s.Variant == v && s.Width == w && (v == camtest.Empty || (s.Payload.Name == payload && s.ECC == ecc)) {
			return s
		}
	}
	t.Fatalf("no %s %d %s %s frame in the set", v, w, payload, ecc)
	return camtest.Spec{}
}

// TestDecodeVariants decodes one generated frame of each variant of the
// benchmark set (bench/decode-compare runs the whole set against other
// decoders). gozxing as-is reads none of persp40x15, lowcontrast and
// inverted.
func TestDecodeVariants(t *testing.T) {
	tests := []struct {
		variant camtest.Variant
		width   int
		payload string
		ecc     string
	}{
		{camtest.Clean, 640, "hc1", "M"},
		{camtest.Rot15, 640, "native", "Q"},
		{camtest.Rot45, 640, "bin120", "M"},
		{camtest.Persp20, 640, "hc1", "Q"},
		{camtest.Persp40, 640, "hc1", "M"},
		{camtest.Persp40, 1280, "bin120", "Q"},
		{camtest.Blur, 1280, "hc1", "M"},
		{camtest.LowContrast, 1280, "hc1", "M"},
		{camtest.Noise, 640, "native", "M"},
		{camtest.Small15, 640, "hc1", "Q"},
		{camtest.Small5, 1280, "hc1", "M"},
		{camtest.Inverted, 640, "hc1", "M"},
		{camtest.Moire, 640, "native", "M"},
	}
	d := NewDecoder()
	for _, tt := range tests {
		s := setFrame(t, tt.variant, tt.width, tt.payload, tt.ecc)
		t.Run(s.Name(), func(t *testing.T) {
			if raceEnabled && tt.width > 640 {
				t.Skip("rendering 720p frames under the race detector is slow; run without -race")
			}
			img, err := camtest.Render(s)
			if err != nil {
				t.Fatal(err)
			}
			r, err := d.Decode(img)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if !bytes.Equal(r.Payload, s.Want()) {
				t.Errorf("got payload %.20q…, want %.20q…", r.Payload, s.Want())
			}
		})
	}
}

// TestDecodeEmptyFrames checks that scenes without a code decode to
// nothing.
func TestDecodeEmptyFrames(t *testing.T) {
	d := NewDecoder()
	n := 0
	for _, s := range camtest.Set() {
		if s.Variant != camtest.Empty || s.Width != 640 {
			continue
		}
		if n++; n > 4 || (raceEnabled && n > 2) {
			break
		}
		t.Run(s.Name(), func(t *testing.T) {
			img, err := camtest.Render(s)
			if err != nil {
				t.Fatal(err)
			}
			if r, err := d.Decode(img); !errors.Is(err, ErrNoCode) {
				t.Errorf("got %.20q, %v, want ErrNoCode", r.Payload, err)
			}
		})
	}
}

// TestDecodeHeldOut decodes drawn frames (distortions drawn from
// camtest.Ranges) with seeds of the held-out range, which no change to
// the decoder is tuned on, and reports the success per variant. It
// asserts only what holds today (heldOutFloor) and no false decode; the
// figures are in the log (go test -run HeldOut -v).
func TestDecodeHeldOut(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("renders and decodes a few dozen frames; run without -short and -race")
	}
	d, all := NewDecoder(), NewDecoder()
	all.noScreen = true
	got := map[camtest.Variant][2]int{}
	decoded, total := 0, 0
	for _, s := range camtest.Held(640, 480, heldOutPerVariant) {
		img, err := camtest.Render(s)
		if err != nil {
			t.Fatal(err)
		}
		r, err := d.Decode(img)
		if _, err2 := all.Decode(img); err2 == nil && err != nil {
			t.Errorf("%s: the screen rejected a frame the passes read", s.Name())
		}
		c := got[s.Variant]
		c[1]++
		switch {
		case s.Want() == nil:
			if err == nil {
				t.Errorf("%s: empty frame decoded to %.20q", s.Name(), r.Payload)
			} else {
				c[0]++
			}
		case err == nil && !bytes.Equal(r.Payload, s.Want()):
			t.Errorf("%s: false decode %.20q", s.Name(), r.Payload)
		case err == nil:
			c[0]++
			decoded++
		}
		if s.Want() != nil {
			total++
		}
		got[s.Variant] = c
	}
	for _, v := range camtest.Variants {
		t.Logf("%-12s %d/%d", v, got[v][0], got[v][1])
	}
	t.Logf("overall %d/%d codes", decoded, total)
	if decoded < heldOutFloor {
		t.Errorf("decoded %d of %d held-out codes, want at least %d", decoded, total, heldOutFloor)
	}
}

const (
	heldOutPerVariant = 8
	// heldOutFloor is a little below what the decoder reads today (95
	// of 96 at 640x480: blur 7/8, every other variant 8/8); raise it,
	// but never tune on the held-out seeds to do so.
	heldOutFloor = 93
)
