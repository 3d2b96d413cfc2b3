package compare

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"

	"sentinel/device/camera"
	"sentinel/device/camera/camtest"
	"sentinel/device/camera/foreign"
)

// ManifestName is the file in a frame directory that lists its frames.
const ManifestName = "manifest.jsonl"

// manifestEntry is one line of manifest.jsonl. Text is the payload the
// frame must decode to, empty for a frame without a code; with Binary
// set, each character of Text (U+0000 to U+00FF) stands for one byte.
type manifestEntry struct {
	File    string `json:"file"`
	Text    string `json:"text"`
	Variant string `json:"variant"`
	Binary  bool   `json:"binary,omitempty"`
	Width   int    `json:"width,omitempty"`
	Height  int    `json:"height,omitempty"`
	Seed    uint64 `json:"seed,omitempty"`
	// Params says what a generator drew for the frame (informative).
	Params string `json:"params,omitempty"`
}

// maxManifestLine bounds one line of a manifest (a payload of a version
// 40 code with room to spare).
const maxManifestLine = 64 << 10

// ReadFrames loads the frames a directory's manifest.jsonl lists.
func ReadFrames(dir string) ([]Frame, error) {
	f, err := os.Open(filepath.Join(dir, ManifestName))
	if err != nil {
		return nil, fmt.Errorf("read the frame list: %w (a frame directory needs a %s, one JSON object per frame)", err, ManifestName)
	}
	defer f.Close()
	entries, err := parseManifest(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, ManifestName), err)
	}
	frames := make([]Frame, 0, len(entries))
	for _, e := range entries {
		path := filepath.Join(dir, filepath.FromSlash(e.File))
		img, err := loadFrame(path)
		if err != nil {
			return nil, fmt.Errorf("frame %s: %w", e.File, err)
		}
		fr := Frame{Name: e.File, Variant: e.Variant, Width: img.Rect.Dx(), Height: img.Rect.Dy(), Img: img}
		if e.Text != "" {
			fr.Want = []byte(e.Text)
			if e.Binary {
				fr.Want = fr.Want[:0:0]
				for _, r := range e.Text {
					fr.Want = append(fr.Want, byte(r))
				}
			}
		}
		frames = append(frames, fr)
	}
	return frames, nil
}

// parseManifest reads manifest lines; blank lines are skipped.
func parseManifest(r io.Reader) ([]manifestEntry, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), maxManifestLine)
	var out []manifestEntry
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var e manifestEntry
		if err := json.Unmarshal(line, &e); err != nil {
			return nil, fmt.Errorf("line %d: %w", n, err)
		}
		if e.File == "" || e.Variant == "" {
			return nil, fmt.Errorf(`line %d: "file" and "variant" are required`, n)
		}
		if filepath.IsAbs(e.File) || !filepath.IsLocal(filepath.FromSlash(e.File)) {
			return nil, fmt.Errorf("line %d: file %q must be a path inside the directory", n, e.File)
		}
		if e.Binary {
			for _, r := range e.Text {
				if r > 0xff {
					return nil, fmt.Errorf("line %d: a binary text holds %U, beyond one byte", n, r)
				}
			}
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no frames listed")
	}
	return out, nil
}

// loadFrame reads a PNG, JPEG or binary PGM (P5, 8 bits) frame.
func loadFrame(path string) (*image.Gray, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if bytes.HasPrefix(data, []byte("P5")) {
		return parsePGM(data)
	}
	return camera.LoadGray(bytes.NewReader(data))
}

// parsePGM decodes a binary 8-bit PGM.
func parsePGM(data []byte) (*image.Gray, error) {
	rest := data[2:]
	var nums [3]int
	for i := range nums {
		// Skip white space and comments.
		for len(rest) > 0 {
			if c := rest[0]; c == ' ' || c == '\t' || c == '\n' || c == '\r' {
				rest = rest[1:]
			} else if c == '#' {
				if j := bytes.IndexByte(rest, '\n'); j >= 0 {
					rest = rest[j+1:]
				} else {
					rest = nil
				}
			} else {
				break
			}
		}
		j := 0
		for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
			j++
		}
		v, err := strconv.Atoi(string(rest[:j]))
		if err != nil || v <= 0 {
			return nil, fmt.Errorf("PGM header: bad number")
		}
		nums[i] = v
		rest = rest[j:]
	}
	w, h, maxv := nums[0], nums[1], nums[2]
	if maxv > 255 {
		return nil, fmt.Errorf("PGM with %d grey levels: only 8-bit PGM is read", maxv)
	}
	if w > camera.MaxPixels || h > camera.MaxPixels || w*h > camera.MaxPixels {
		return nil, fmt.Errorf("PGM of %dx%d: %w", w, h, camera.ErrImageTooLarge)
	}
	if len(rest) < 1 || (rest[0] != ' ' && rest[0] != '\n' && rest[0] != '\r' && rest[0] != '\t') {
		return nil, fmt.Errorf("PGM header: no white space before the pixels")
	}
	rest = rest[1:]
	if len(rest) < w*h {
		return nil, fmt.Errorf("PGM of %dx%d: %d bytes of pixels, want %d", w, h, len(rest), w*h)
	}
	img := image.NewGray(image.Rect(0, 0, w, h))
	copy(img.Pix, rest[:w*h])
	if maxv != 255 {
		for i, v := range img.Pix {
			img.Pix[i] = uint8(min(255, int(v)*255/maxv))
		}
	}
	return img, nil
}

// WriteFrames renders specs into dir as PNG files and writes their
// manifest.jsonl.
func WriteFrames(dir string, specs []camtest.Spec) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var man bytes.Buffer
	enc := json.NewEncoder(&man)
	for _, s := range specs {
		img, err := camtest.Render(s)
		if err != nil {
			return err
		}
		name := s.Name() + ".png"
		if err := writePNG(filepath.Join(dir, name), img); err != nil {
			return err
		}
		e := manifestEntry{File: name, Variant: string(s.Variant), Width: s.Width, Height: s.Height, Seed: s.Seed}
		if want := s.Want(); want != nil {
			e.Binary = s.Payload.Binary
			if e.Binary {
				r := make([]rune, len(want))
				for i, b := range want {
					r[i] = rune(b)
				}
				e.Text = string(r)
			} else {
				e.Text = string(want)
			}
		}
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, ManifestName), man.Bytes(), 0o644)
}

// WriteForeign renders specs of the independent generator
// (device/camera/foreign) into dir as PNG files, on every CPU, and writes
// their manifest.jsonl.
func WriteForeign(dir string, specs []foreign.Spec) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	entries := make([]manifestEntry, len(specs))
	errs := make([]error, len(specs))
	var wg sync.WaitGroup
	next := make(chan int)
	for range runtime.NumCPU() {
		wg.Go(func() {
			for i := range next {
				s := specs[i]
				fr, err := foreign.Render(s)
				if err == nil {
					err = writePNG(filepath.Join(dir, s.Name()+".png"), fr.Img)
				}
				errs[i] = err
				entries[i] = manifestEntry{File: s.Name() + ".png", Text: fr.Text, Variant: string(s.Variant), Width: s.Width, Height: s.Height, Seed: s.Seed, Params: fr.Params}
			}
		})
	}
	for i := range specs {
		next <- i
	}
	close(next)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return err
	}
	var man bytes.Buffer
	enc := json.NewEncoder(&man)
	for _, e := range entries {
		if err := enc.Encode(e); err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(dir, ManifestName), man.Bytes(), 0o644)
}
