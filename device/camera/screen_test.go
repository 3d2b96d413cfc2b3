package camera

import (
	"bytes"
	"errors"
	"os"
	"testing"

	"sentinel/device/camera/camtest"
)

// TestScreenLosesNoCode decodes frames of the benchmark set with and
// without the screen that rejects frames without finder patterns: the
// screen must not lose a code the passes read, nor make a false decode,
// and must reject most empty 720p frames. SENTINEL_SCREEN_ALL=1 runs the
// whole set instead of the first rep's 640×480 frames and 720p empty
// frames.
func TestScreenLosesNoCode(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("renders and decodes a hundred frames twice; run without -short and -race")
	}
	all := os.Getenv("SENTINEL_SCREEN_ALL") == "1"
	with, without := NewDecoder(), NewDecoder()
	without.noScreen = true
	var frames, decoded, empty, rejected int
	for i, s := range camtest.Set() {
		if !all && ((s.Width != 640 && s.Want() != nil) || i >= len(camtest.Set())/camtest.SetReps) {
			continue
		}
		img, err := camtest.Render(s)
		if err != nil {
			t.Fatal(err)
		}
		frames++
		before := with.screen.rejected
		r1, err1 := with.Decode(img)
		if with.screen.rejected > before && s.Want() == nil && s.Width > 640 {
			rejected++
		}
		r2, err2 := without.Decode(img)
		if s.Want() == nil {
			if s.Width > 640 {
				empty++
			}
			if err1 == nil || err2 == nil {
				t.Errorf("%s: empty frame decoded to %.20q / %.20q", s.Name(), r1.Payload, r2.Payload)
			}
			continue
		}
		if err1 == nil && !bytes.Equal(r1.Payload, s.Want()) {
			t.Errorf("%s: false decode %.20q", s.Name(), r1.Payload)
		}
		if err2 == nil && err1 != nil {
			t.Errorf("%s: the passes read the code but the screen rejected the frame (%v)", s.Name(), err1)
		}
		if err1 != nil && !errors.Is(err1, ErrNoCode) {
			t.Errorf("%s: %v", s.Name(), err1)
		}
		if err1 == nil {
			decoded++
		}
	}
	t.Logf("%d frames: %d codes decoded; the screen rejected %d of %d empty 720p frames", frames, decoded, rejected, empty)
	// The set's empty scenes are made to look like codes (checkerboards
	// of module-sized cells, stripes); at 720p (read at half scale) the
	// screen rejects three quarters of them today, at 640×480 (read at
	// full scale, where the cells look like modules) none.
	if rejected < empty/2 {
		t.Errorf("the screen rejected %d of %d empty 720p frames, want at least half", rejected, empty)
	}
}
