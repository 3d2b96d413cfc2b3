package compare

import (
	"bufio"
	"bytes"
	"fmt"
	"image"
	"image/png"
	"os"
	"path/filepath"
	"strings"

	"sentinel/device/camera"
	"sentinel/device/camera/camtest"
	"sentinel/internal/dcccorpus"
)

// Generate returns the camtest set (camtest.Set), or only one variant of
// it, rendering into dir the frames not there already as PNG files.
func Generate(dir string, only camtest.Variant) ([]Frame, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var frames []Frame
	for _, s := range camtest.Set() {
		if only != "" && s.Variant != only {
			continue
		}
		path := filepath.Join(dir, s.Name()+".png")
		img, err := loadPNG(path)
		if err != nil {
			img, err = camtest.Render(s)
			if err != nil {
				return nil, err
			}
			if err := writePNG(path, img); err != nil {
				return nil, err
			}
		}
		frames = append(frames, Frame{Name: s.Name(), Variant: string(s.Variant), Width: s.Width, Height: s.Height, Want: s.Want(), Img: img})
	}
	return frames, nil
}

// CorpusVariant names the variant of the EU DCC corpus images.
const CorpusVariant = "eu-dcc png"

// FindCorpus returns the EU DCC corpus beside the root of the sentinel
// module (../shared/corpus/eu-dcc) that holds the working directory, or
// "" when there is none. The root is found from a nested module too (the
// cgo comparison in native/).
func FindCorpus() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if isSentinelRoot(filepath.Join(dir, "go.mod")) {
			c := filepath.Join(dir, "..", "shared", "corpus", "eu-dcc")
			if _, err := os.Stat(c); err == nil {
				return c
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// isSentinelRoot reports whether the go.mod at path declares the module
// sentinel.
func isSentinelRoot(path string) bool {
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fields := strings.Fields(sc.Text()); len(fields) == 2 && fields[0] == "module" {
			return strings.Trim(fields[1], `"`) == "sentinel"
		}
	}
	return false
}

// CorpusFrames returns the corpus PNGs whose case JSON gives the payload
// ("PREFIX"); those without one are left out.
func CorpusFrames(dir string) ([]Frame, error) {
	var paths []string
	for _, pattern := range []string{"*/png/*.png", "*/2DCode/png/*.png"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, err
		}
		paths = append(paths, m...)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no corpus PNGs (<CC>/png/*.png or <CC>/2DCode/png/*.png) in %s", dir)
	}
	var frames []Frame
	for _, p := range paths {
		want, ok := dcccorpus.Prefix(p)
		rel, _ := filepath.Rel(dir, p)
		if !ok || dcccorpus.ImageDiffers[filepath.ToSlash(rel)] {
			continue
		}
		img, err := loadPNG(p)
		if err != nil {
			return nil, fmt.Errorf("corpus %s: %w", p, err)
		}
		frames = append(frames, Frame{Name: rel, Variant: CorpusVariant, Width: img.Rect.Dx(), Height: img.Rect.Dy(), Want: []byte(want), Img: img})
	}
	return frames, nil
}

func loadPNG(path string) (*image.Gray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return camera.LoadGray(f)
}

func writePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}
