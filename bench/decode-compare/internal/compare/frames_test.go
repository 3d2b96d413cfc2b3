package compare

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sentinel/device/camera/camtest"
	"sentinel/device/camera/foreign"
)

// TestWriteFramesRoundTrip writes camtest frames with their manifest,
// adds a PGM frame by hand, and checks that -frames DIR -json reads them
// all and prints one JSON object per decoder and nothing else.
func TestWriteFramesRoundTrip(t *testing.T) {
	dir := t.TempDir()
	ps := camtest.Payloads()
	specs := []camtest.Spec{
		{Width: 320, Height: 240, Payload: ps[0], ECC: "M", Variant: camtest.Clean, Seed: 1},
		{Width: 320, Height: 240, Payload: ps[2], ECC: "M", Variant: camtest.Clean, Seed: 2},
		{Width: 320, Height: 240, Variant: camtest.Empty, Seed: 3},
	}
	if err := WriteFrames(dir, specs); err != nil {
		t.Fatal(err)
	}
	// A PGM copy of the first frame, listed by hand.
	img, err := camtest.Render(specs[0])
	if err != nil {
		t.Fatal(err)
	}
	pgm := append([]byte(fmt.Sprintf("P5\n# a comment\n%d %d\n255\n", 320, 240)), img.Pix...)
	if err := os.WriteFile(filepath.Join(dir, "copy.pgm"), pgm, 0o644); err != nil {
		t.Fatal(err)
	}
	line, _ := json.Marshal(manifestEntry{File: "copy.pgm", Text: string(ps[0].Data), Variant: "pgm"})
	f, err := os.OpenFile(filepath.Join(dir, ManifestName), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	fmt.Fprintf(f, "%s\n", line)
	f.Close()

	frames, err := ReadFrames(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != 4 {
		t.Fatalf("read %d frames, want 4", len(frames))
	}
	if !bytes.Equal(frames[1].Want, ps[2].Data) {
		t.Errorf("binary payload did not round-trip: got %d bytes", len(frames[1].Want))
	}
	if frames[2].Want != nil {
		t.Errorf("empty frame has a payload %q", frames[2].Want)
	}
	if !bytes.Equal(frames[3].Img.Pix, img.Pix) {
		t.Error("the PGM frame's pixels differ from the PNG's")
	}

	var stdout, stderr bytes.Buffer
	if code := Main([]string{"-frames", dir, "-json", "-rounds", "2"}, &stdout, &stderr); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines on stdout, want one per decoder (2):\n%s", len(lines), stdout.String())
	}
	var r Report
	dec := json.NewDecoder(strings.NewReader(lines[0]))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("first line is not a report: %v", err)
	}
	if r.Decoder != "sentinel" || r.Total != 3 || r.Decoded != 3 || r.False != 0 {
		t.Errorf("got %+v, want sentinel decoding 3 of 3, no false", r)
	}
	if got := r.Variants["clean"]; got != [2]int{2, 2} {
		t.Errorf("clean: got %v, want [2 2]", got)
	}
	if _, ok := r.Variants["empty"]; ok {
		t.Error("empty frames counted in variants")
	}
	if c, ok := r.CPUms["320x240"]; !ok || c.Max < c.Mean || c.Max < c.P95 {
		t.Errorf("cpu_ms: got %+v", r.CPUms)
	}
}

func TestParseManifestRefuses(t *testing.T) {
	for _, in := range []string{
		"",
		"{",
		`{"text":"x","variant":"clean"}`,
		`{"file":"../x.png","text":"x","variant":"clean"}`,
		`{"file":"/etc/x.png","text":"x","variant":"clean"}`,
		`{"file":"x.png","text":"Ā","variant":"clean","binary":true}`,
	} {
		if _, err := parseManifest(strings.NewReader(in)); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte(`{"file":"a.png","text":"HC1:X","variant":"clean"}` + "\n\n" + `{"file":"b.pgm","text":"","variant":"empty"}`))
	f.Add([]byte(`{"file":"a.png","text":"\u00ff","variant":"x","binary":true}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		es, err := parseManifest(bytes.NewReader(data))
		if err != nil {
			return
		}
		for _, e := range es {
			if e.File == "" || !filepath.IsLocal(filepath.FromSlash(e.File)) {
				t.Fatalf("accepted file %q", e.File)
			}
		}
	})
}

func FuzzParsePGM(f *testing.F) {
	f.Add([]byte("P5\n2 2\n255\n\x00\x01\x02\x03"))
	f.Add([]byte("P5 # c\n1 1 15\n\x0f"))
	f.Add([]byte("P5\n99999 99999\n255\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		if !bytes.HasPrefix(data, []byte("P5")) {
			return
		}
		img, err := parsePGM(data)
		if err != nil {
			return
		}
		if len(img.Pix) != img.Rect.Dx()*img.Rect.Dy() {
			t.Fatalf("%d pixels for %v", len(img.Pix), img.Rect)
		}
	})
}

// TestWriteForeignRoundTrip writes frames of the independent generator
// and reads them back as -frames does: the same pixels and payloads, and
// what was drawn kept in the manifest.
func TestWriteForeignRoundTrip(t *testing.T) {
	dir := t.TempDir()
	specs := []foreign.Spec{
		{Width: 320, Height: 240, Variant: foreign.Print, Seed: 5},
		{Width: 320, Height: 240, Variant: foreign.Empty, Seed: 6},
	}
	if err := WriteForeign(dir, specs); err != nil {
		t.Fatal(err)
	}
	frames, err := ReadFrames(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(frames) != len(specs) {
		t.Fatalf("read %d frames, want %d", len(frames), len(specs))
	}
	for i, s := range specs {
		want, err := foreign.Render(s)
		if err != nil {
			t.Fatal(err)
		}
		got := frames[i]
		if got.Name != s.Name()+".png" || got.Variant != string(s.Variant) {
			t.Errorf("frame %d: %s %s, want %s", i, got.Name, got.Variant, s.Name())
		}
		if string(got.Want) != want.Text || (want.Text == "") != (got.Want == nil) {
			t.Errorf("%s: payload %q, want %q", s.Name(), got.Want, want.Text)
		}
		if !bytes.Equal(got.Img.Pix, want.Img.Pix) {
			t.Errorf("%s: pixels differ from a fresh render", s.Name())
		}
	}
	man, _ := os.ReadFile(filepath.Join(dir, ManifestName))
	if !strings.Contains(string(man), `"params":"v`) {
		t.Errorf("manifest keeps no params:\n%s", man)
	}
	var stderr bytes.Buffer
	if code := Main([]string{"-foreign", "1", "-frames", dir}, io.Discard, &stderr); code != 2 {
		t.Errorf("-foreign without -write: exit %d, want 2 (%s)", code, stderr.String())
	}
}
