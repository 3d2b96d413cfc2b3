package main

import (
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
)

// qrImage renders text as a QR code with a quiet zone, black on white.
func qrImage(t *testing.T, text string, size int) *image.Gray {
	t.Helper()
	m, err := qrcode.NewQRCodeWriter().Encode(text, gozxing.BarcodeFormat_QR_CODE, size, size, nil)
	if err != nil {
		t.Fatal(err)
	}
	img := image.NewGray(image.Rect(0, 0, m.GetWidth(), m.GetHeight()))
	for y := range m.GetHeight() {
		for x := range m.GetWidth() {
			if m.Get(x, y) {
				img.SetGray(x, y, color.Gray{0})
			} else {
				img.SetGray(x, y, color.Gray{255})
			}
		}
	}
	return img
}

// blankImage is a grey frame with no code.
func blankImage(w, h int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, w, h))
	for i := range img.Pix {
		img.Pix[i] = 200
	}
	return img
}

func savePNG(t *testing.T, path string, img image.Image) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	return path
}

func saveJPEG(t *testing.T, path string, img image.Image) string {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := jpeg.Encode(f, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return path
}

const hc1Sample = "HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6IOOK.IR9B+9D-OBTJ2"

func TestScanFiles(t *testing.T) {
	dir := t.TempDir()
	pngFile := savePNG(t, filepath.Join(dir, "code.png"), qrImage(t, hc1Sample, 300))
	jpgFile := saveJPEG(t, filepath.Join(dir, "code.jpg"), qrImage(t, "HCN1:native-code-123", 300))
	empty := savePNG(t, filepath.Join(dir, "empty.png"), blankImage(320, 240))
	notImage := writeFile(t, dir, "notes.txt", "not an image")

	code, out, _ := runCmd(t, "scan", pngFile, jpgFile)
	if code != exitOK {
		t.Errorf("two readable codes: got exit %d, want 0", code)
	}
	want := pngFile + ": " + hc1Sample + "\n" + jpgFile + ": HCN1:native-code-123\n"
	if out != want {
		t.Errorf("got\n%s\nwant\n%s", out, want)
	}

	code, out, _ = runCmd(t, "scan", pngFile, empty, notImage)
	if code != exitRefused {
		t.Errorf("with an empty frame: got exit %d, want 1", code)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if len(lines) != 3 || lines[1] != empty+": no code found" || !strings.HasPrefix(lines[2], notImage+": cannot read: ") {
		t.Errorf("got\n%s\nwant the code, 'no code found' and 'cannot read'", out)
	}
}

func TestScanFilesJSON(t *testing.T) {
	dir := t.TempDir()
	pngFile := savePNG(t, filepath.Join(dir, "code.png"), qrImage(t, hc1Sample, 300))
	empty := savePNG(t, filepath.Join(dir, "empty.png"), blankImage(320, 240))
	code, out, _ := runCmd(t, "scan", "--json", pngFile, empty)
	if code != exitRefused {
		t.Errorf("got exit %d, want 1", code)
	}
	dec := json.NewDecoder(strings.NewReader(out))
	var got []scanFileResult
	for dec.More() {
		var r scanFileResult
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("output is not JSON lines: %v\n%s", err, out)
		}
		got = append(got, r)
	}
	if len(got) != 2 {
		t.Fatalf("got %d objects, want 2", len(got))
	}
	if !got[0].Found || got[0].Text != hc1Sample || got[0].Version == 0 || got[0].ECLevel == "" {
		t.Errorf("got %+v, want the decoded code", got[0])
	}
	if got[1].Found || got[1].Text != "" || got[1].Error != "" {
		t.Errorf("got %+v, want not found and no error", got[1])
	}
}

// TestScanSharedCorpus decodes the EU DCC images of the shared corpus, when
// it is there, as sentinelctl verify does.
func TestScanSharedCorpus(t *testing.T) {
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	files, _ := filepath.Glob(filepath.Join(root, "..", "shared", "corpus", "eu-dcc", "*", "*", "*.png"))
	if len(files) == 0 {
		t.Skip("SKIPPING: no ../shared/corpus/eu-dcc PNGs beside the module")
	}
	if len(files) > 5 {
		files = files[:5]
	}
	code, out, _ := runCmd(t, append([]string{"scan"}, files...)...)
	found := strings.Count(out, ": HC1:")
	if found == 0 {
		t.Errorf("got exit %d and no HC1 payload from %d corpus images:\n%s", code, len(files), out)
	}
}

func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", os.ErrNotExist
		}
		dir = parent
	}
}

func TestScanUsage(t *testing.T) {
	tests := []struct {
		name string
		args []string
	}{
		{"nothing", []string{"scan"}},
		{"files and config", []string{"scan", "--config", "x.toml", "a.png"}},
		{"count without config", []string{"scan", "--count", "2", "a.png"}},
		{"negative count", []string{"scan", "--config", "x.toml", "--count", "-1"}},
		{"bad flag", []string{"scan", "--fast", "a.png"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, _, _ := runCmd(t, tt.args...); code != exitUsage {
				t.Errorf("got exit %d, want 2", code)
			}
		})
	}
}

func TestPrintable(t *testing.T) {
	tests := []struct{ in, want string }{
		{"HC1:ABC", "HC1:ABC"},
		{"two\nlines", `"two\nlines"`},
		{"\x1b[2J", `"\x1b[2J"`},
		{"\xff", `"\xff"`},
		{"健康码", "健康码"},
	}
	for _, tt := range tests {
		if got := printable([]byte(tt.in)); got != tt.want {
			t.Errorf("printable(%q): got %s, want %s", tt.in, got, tt.want)
		}
	}
}
