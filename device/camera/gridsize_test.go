package camera

import (
	"image"
	"math/rand/v2"
	"testing"

	"github.com/makiuchi-d/gozxing/qrcode/detector"

	"sentinel/device/camera/camtest"
)

// renderModules draws a module matrix with a quiet zone of quiet modules
// at scale pixels a module, each pixel the mean of 4×4 points within it,
// as an image scaled by a non-integer factor comes out.
func renderModules(mods [][]bool, scale float64, quiet int) *image.Gray {
	n := len(mods)
	side := int(float64(n+2*quiet) * scale)
	img := image.NewGray(image.Rect(0, 0, side, side))
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			dark := 0
			for j := 0; j < 4; j++ {
				for i := 0; i < 4; i++ {
					mx := int((float64(x)+(float64(i)+0.5)/4)/scale) - quiet
					my := int((float64(y)+(float64(j)+0.5)/4)/scale) - quiet
					if mx >= 0 && my >= 0 && mx < n && my < n && mods[my][mx] {
						dark++
					}
				}
			}
			img.Pix[y*img.Stride+x] = byte(235 - dark*(235-20)/16)
		}
	}
	return img
}

// dccModules encodes a Base45 payload of n characters, as an EU DCC
// carries, at error-correction level ecc.
func dccModules(t *testing.T, rng *rand.Rand, n int, ecc string) ([][]bool, []byte) {
	t.Helper()
	const b45 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"
	data := []byte("HC1:")
	for len(data) < n {
		data = append(data, b45[rng.IntN(len(b45))])
	}
	mods, err := camtest.Modules(camtest.Payload{Name: "dcc", Data: data}, ecc)
	if err != nil {
		t.Fatal(err)
	}
	return mods, data
}

// TestVersionInformationSizesScaledCodes renders codes of versions 7 to
// 25 at 2.45 to 3.4 pixels a module, as certificate PNGs scaled by a
// non-integer factor (and halved by the decoder's half-scale pass) come.
// gozxing's detector sizes some of them a version off, or at a size no
// version has, from a module size a few percent off; the version
// information read beside the finders sizes every one, and the decoder
// reads each on the black matrix, without resampling the grey image.
func TestVersionInformationSizesScaledCodes(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 18004))
	var b binarizer
	var d Decoder
	d.init()
	missized, codes, mirrored := 0, 0, 0
	for _, n := range []int{200, 260, 330, 400, 480, 560, 650} {
		mods, want := dccModules(t, rng, n, "Q")
		dim := len(mods)
		if dim < 45 {
			t.Fatalf("%d characters gave a %d-module code, want version 7 or more", n, dim)
		}
		for _, scale := range []float64{2.45, 2.6, 2.85, 3.1, 3.4} {
			img := renderModules(mods, scale, 2)
			codes++
			pl, _ := planeOf(img)
			m, _ := b.binarize(pl, normalRange, nil)
			info, ferr := detector.NewFinderPatternFinder(m, nil).Find(nil)
			if ferr != nil {
				t.Logf("v%d at %.2f px: gozxing's finder search: %v", (dim-17)/4, scale, ferr)
				continue
			}
			det, err := detector.NewDetector(m).ProcessFinderPatternInfo(info)
			if err != nil || det.GetBits().GetWidth() != dim {
				missized++
			}
			tl, tr, bl := vecOf(info.GetTopLeft()), vecOf(info.GetTopRight()), vecOf(info.GetBottomLeft())
			ms := (info.GetTopLeft().GetEstimatedModuleSize() + info.GetTopRight().GetEstimatedModuleSize() + info.GetBottomLeft().GetEstimatedModuleSize()) / 3
			if got := versionDim(m, tl, tr, bl, ms); got != dim {
				t.Errorf("v%d at %.2f px a module: version information gives %d modules, want %d", (dim-17)/4, scale, got, dim)
			}
			// Mirrored (the matrix transposed), as a code read from
			// the back of a transparent sheet or a mirrored screen.
			mm, _ := b.binarize(mustPlane(renderModules(transpose(mods), scale, 2)), normalRange, nil)
			if info, err := detector.NewFinderPatternFinder(mm, nil).Find(nil); err == nil {
				mirrored++
				tl, tr, bl := vecOf(info.GetTopLeft()), vecOf(info.GetTopRight()), vecOf(info.GetBottomLeft())
				if got := versionDim(mm, tl, tr, bl, ms); got != dim {
					t.Errorf("v%d at %.2f px a module, mirrored: version information gives %d modules, want %d", (dim-17)/4, scale, got, dim)
				}
			}
			r, err := d.Decode(img)
			if err != nil || string(r.Payload) != string(want) {
				t.Errorf("v%d at %.2f px a module: %v", (dim-17)/4, scale, err)
				continue
			}
			if spent := d.samples; spent > dim*dim {
				t.Errorf("v%d at %.2f px a module: %d samples, want at most one black grid (%d)", (dim-17)/4, scale, spent, dim*dim)
			}
		}
	}
	t.Logf("gozxing's detector mis-sized %d of %d codes; %d mirrored codes checked", missized, codes, mirrored)
	if 2*mirrored < codes {
		t.Errorf("gozxing's finder search found %d of %d mirrored codes, want most", mirrored, codes)
	}
	if missized == 0 {
		t.Error("gozxing's detector sized every code: the test no longer shows the cause")
	}
}

// TestFinderLikeDataKeepsCheapPath draws a finder-like pattern (with its
// light separator) into the data of a version 20 code, between the rows
// of the top finders and the bottom-left one, as the data of some large
// certificate codes happens to hold. gozxing's finder search stops at the
// first three confirmed patterns of one size after skipping rows, so it
// picks the false one; the decoder must still read the code on the black
// matrix, through its own finder candidates, without resampling the grey
// image.
func TestFinderLikeDataKeepsCheapPath(t *testing.T) {
	rng := rand.New(rand.NewPCG(20, 3))
	mods, want := dccModules(t, rng, 700, "Q")
	dim := len(mods)
	if dim < 85 {
		t.Fatalf("a %d-module code, want version 17 or more", dim)
	}
	// The fake finder, centred at (cx, cy), below half the distance
	// between the top finders (gozxing's row skip) and above the
	// bottom-left finder.
	cx, cy := dim/3, dim*5/8
	for dy := -4; dy <= 4; dy++ {
		for dx := -4; dx <= 4; dx++ {
			r := max(abs(dx), abs(dy))
			mods[cy+dy][cx+dx] = r <= 1 || r == 3
		}
	}
	var b binarizer
	var d Decoder
	d.init()
	img := renderModules(mods, 3, 2)
	pl, _ := planeOf(img)
	m, _ := b.binarize(pl, normalRange, nil)
	info, ferr := detector.NewFinderPatternFinder(m, nil).Find(nil)
	if ferr != nil {
		t.Fatal(ferr)
	}
	fake := vec{(float64(cx+2) + 0.5) * 3, (float64(cy+2) + 0.5) * 3}
	picked := false
	for _, f := range []*detector.FinderPattern{info.GetTopLeft(), info.GetTopRight(), info.GetBottomLeft()} {
		picked = picked || vecOf(f).sub(fake).norm() < 6
	}
	if !picked {
		t.Fatal("gozxing's finder search did not pick the false pattern: the test no longer shows the cause")
	}
	r, err := d.Decode(img)
	if err != nil || string(r.Payload) != string(want) {
		t.Fatalf("Decode: %v", err)
	}
	if spent := d.samples; spent > dim*dim {
		t.Errorf("%d grey samples, want none beyond a black grid (%d): the code was read by resampling the grey image", spent, dim*dim)
	}
}

func transpose(mods [][]bool) [][]bool {
	out := make([][]bool, len(mods))
	for y := range out {
		out[y] = make([]bool, len(mods))
		for x := range out[y] {
			out[y][x] = mods[x][y]
		}
	}
	return out
}

func mustPlane(img *image.Gray) plane {
	p, err := planeOf(img)
	if err != nil {
		panic(err)
	}
	return p
}
