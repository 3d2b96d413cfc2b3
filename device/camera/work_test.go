package camera

import (
	"testing"

	"github.com/makiuchi-d/gozxing/qrcode/detector"

	"sentinel/device/camera/camtest"
	"sentinel/device/camera/foreign"
)

// workDone returns the work d did on its last frame, in work units,
// from what its parts counted as they ran: the pixels the binarisations
// and smoothing read, the pixels of the matrices both finder searches
// scanned, the pixels the flood fills visited, and the grey samples.
// It is not the decoder's own account (frameWork), so that a pass that
// works without charging its work shows.
func workDone(d *Decoder) int {
	return d.bin.read/pixelsPerUnitRead +
		d.searched[0]/pixelsPerUnitFinders + d.searched[1]/pixelsPerUnitZXFinders +
		d.fill.visited/pixelsPerUnitFlood + d.fill.revisited/pixelsPerUnitRevisit + d.samples + d.zxGrids
}

// TestDecodeWorkBounded decodes frames of the tuning draw blurred beyond
// reading (camtest.BlurHard) at both frame sizes, without the screen:
// every pass that fits runs on them. A frame's work, its passes' fixed work (binarising,
// smoothing, both finder searches) included, must stay within
// maxWorkPerFrame, with at most one flood fill's overdraft (a fill is
// charged when it ends). Before the fixed work was counted, the budget
// bounded the grey samples only (450,000), and the six passes' fixed work
// came on top: 780,000 units and more on a 1280×720 frame, 35 ms.
func TestDecodeWorkBounded(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("renders and decodes 720p frames; run without -short and -race")
	}
	d := NewDecoder()
	// The screen rejects most of these frames: their finders are blurred
	// flat. The passes are what is bounded.
	d.noScreen = true
	most, unread := 0, 0
	for _, sz := range camtest.Sizes {
		for _, s := range camtest.Tuning(sz.X, sz.Y, 12) {
			if s.Variant != camtest.BlurHard {
				continue
			}
			img, err := camtest.Render(s)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := d.Decode(img); err == nil {
				continue
			}
			unread++
			done := workDone(d)
			t.Logf("%s: %d units, %d samples", s.Name(), done, d.samples)
			most = max(most, done)
			// The largest flood: a ring of 80 module sizes squared, at
			// the largest module size of a code in a frame this size.
			overdraft := (80*sz.Y*sz.Y/(21*21) + 64) / pixelsPerUnitFlood
			if done > maxWorkPerFrame+overdraft {
				t.Errorf("%s: took %d work units (%d pixels binarised or smoothed, %v searched, %d flooded, %d grey samples), want at most %d",
					s.Name(), done, d.bin.read, d.searched, d.fill.visited, d.samples, maxWorkPerFrame)
			}
			if charged := maxWorkPerFrame - d.frameWork; charged < done*9/10 {
				t.Errorf("%s: charged %d work units for %d done", s.Name(), charged, done)
			}
		}
	}
	if unread == 0 || most < maxWorkPerFrame/2 {
		t.Fatalf("%d unread frames, the most work %d: the test frames no longer exercise the bound", unread, most)
	}
	t.Logf("%d unread frames, the most work one took: %d units", unread, most)
}

// TestLaterPassesSkipZXFinderSearch decodes cluttered frames without a
// code (device/camera/foreign) that pass the screen, so that every pass
// runs on them. gozxing's finder search, which weighs every triple of its
// candidates, runs in the frame's first pass only: later passes read the
// grids of our own search's likeliest triples through gozxing's detector
// instead (locateOwnZX). It used to run in every pass with up to 200
// candidates of ours, about a sixth of such a frame's work.
func TestLaterPassesSkipZXFinderSearch(t *testing.T) {
	d := NewDecoder()
	multi := 0
	for i := range 8 {
		fr, err := foreign.Render(foreign.Spec{Width: 1280, Height: 720, Variant: foreign.Empty, Seed: 7700 + uint64(i)})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.Decode(fr.Img); err == nil {
			t.Fatalf("seed %d: read a code in a frame without one", 7700+i)
		}
		if d.passes < 3 {
			continue
		}
		multi++
		// The first pass reads the half-scale plane or the full one.
		if full := 1280 * 720; d.searched[1] > full {
			t.Errorf("seed %d: gozxing's finder search read %d pixels in %d passes, want at most one pass's (%d)", 7700+i, d.searched[1], d.passes, full)
		}
	}
	if multi == 0 {
		t.Fatal("no frame ran three passes or more: the test frames no longer exercise later passes")
	}
	t.Logf("%d of 8 frames ran three passes or more", multi)
}

// TestZXGridCharged reads a clean code through gozxing's detector
// (zxGrid): the grid it samples on the black matrix is work like the
// grids sampled there for other sizes, and is charged a unit a module.
// Before, up to about eight such grids a frame went uncharged.
func TestZXGridCharged(t *testing.T) {
	img := encodeQR(t, "https://example.org/a/path?with=a&query=1", "M", "", 4, 400, 400)
	d := NewDecoder()
	m, _ := d.bin.binarize(plane{pix: img.Pix, w: 400, h: 400, stride: img.Stride}, normalRange, nil)
	info, err := detector.NewFinderPatternFinder(m, nil).Find(nil)
	if err != nil {
		t.Fatal(err)
	}
	const work = 100_000
	d.work = work
	r, _, _, _, ok := d.zxGrid(m, info)
	if !ok {
		t.Fatal("the clean code's grid did not decode")
	}
	dim := 17 + 4*r.Version
	if d.work != work-dim*dim || d.zxGrids != dim*dim {
		t.Errorf("a %d-module grid left %d of %d work units (%d counted), want %d", dim, d.work, work, d.zxGrids, work-dim*dim)
	}
}
