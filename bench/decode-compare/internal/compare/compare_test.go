package compare

import (
	"bytes"
	"encoding/json"
	"errors"
	"image"
	"strings"
	"testing"

	"sentinel/device/camera/camtest"
)

// smallSet writes two clean frames and an empty one and returns their
// directory.
func smallSet(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	ps := camtest.Payloads()
	specs := []camtest.Spec{
		{Width: 320, Height: 240, Payload: ps[0], ECC: "M", Variant: camtest.Clean, Seed: 1},
		{Width: 320, Height: 240, Payload: ps[1], ECC: "M", Variant: camtest.Clean, Seed: 2},
		{Width: 320, Height: 240, Variant: camtest.Empty, Seed: 3},
	}
	if err := WriteFrames(dir, specs); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestMainAddsDecoders runs Main with two added decoders, one that
// always returns the same text and one that never finds a code, and
// checks that -json scores them as the issue defines: a wrong payload
// and a decode of an empty frame are false decodes, a miss is not.
func TestMainAddsDecoders(t *testing.T) {
	dir := smallSet(t)
	always := Factory{Name: "always", New: func() (Decoder, error) {
		return Decoder{Name: "always", Decode: func(*image.Gray) ([]byte, error) { return []byte("HC1:NOT-IT"), nil }}, nil
	}}
	closed := 0
	never := Factory{Name: "never", New: func() (Decoder, error) {
		return Decoder{
			Name:   "never",
			Decode: func(*image.Gray) ([]byte, error) { return nil, errors.New("no code") },
			Close:  func() { closed++ },
		}, nil
	}}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"-frames", dir, "-json", "-rounds", "1"}, &stdout, &stderr, always, never); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	if closed != 1 {
		t.Errorf("Close called %d times, want 1", closed)
	}
	var got []Report
	dec := json.NewDecoder(&stdout)
	dec.DisallowUnknownFields()
	for dec.More() {
		var r Report
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("stdout holds something other than reports: %v", err)
		}
		got = append(got, r)
	}
	var names []string
	for _, r := range got {
		names = append(names, r.Decoder)
	}
	if strings.Join(names, ",") != "sentinel,gozxing,always,never" {
		t.Fatalf("decoders %v, want sentinel,gozxing,always,never", names)
	}
	if r := got[2]; r.Decoded != 0 || r.Total != 2 || r.False != 3 {
		t.Errorf("always: got %+v, want 0 of 2 decoded and 3 false (two wrong payloads, one empty frame)", r)
	}
	if r := got[3]; r.Decoded != 0 || r.Total != 2 || r.False != 0 {
		t.Errorf("never: got %+v, want 0 of 2 decoded, no false", r)
	}
	if r := got[0]; r.Decoded != 2 || r.False != 0 || r.Variants["clean"] != [2]int{2, 2} {
		t.Errorf("sentinel: got %+v, want 2 of 2 clean, no false", r)
	}
}

// TestMainRefusesNativeDecoders checks that the pure-Go command names
// the cgo command when asked for a decoder only that one links.
func TestMainRefusesNativeDecoders(t *testing.T) {
	dir := smallSet(t)
	for _, name := range []string{"zbar", "zxing-cpp", "zxing"} {
		var stdout, stderr bytes.Buffer
		if code := Main([]string{"-frames", dir, "-json", "-tools", "sentinel," + name}, &stdout, &stderr); code != 2 {
			t.Errorf("%s: exit %d, want 2", name, code)
		}
		if stdout.Len() != 0 {
			t.Errorf("%s: stdout %q, want nothing", name, stdout.String())
		}
		if !strings.Contains(stderr.String(), "bench/decode-compare/native") {
			t.Errorf("%s: stderr %q does not name the cgo command", name, stderr.String())
		}
	}
}

// TestMeasureInterleaves checks that every round gives each frame to
// every decoder, in an order that rotates, and that a decoder that reads
// a frame in one round and returns a wrong payload in another is scored
// as a false decode, not a read.
func TestMeasureInterleaves(t *testing.T) {
	frames := []Frame{
		{Name: "a", Want: []byte("A"), Img: image.NewGray(image.Rect(0, 0, 1, 1))},
		{Name: "b", Want: []byte("B"), Img: image.NewGray(image.Rect(0, 0, 1, 1))},
	}
	var calls []string
	wentWrong := false
	mk := func(name string) Decoder {
		return Decoder{Name: name, Decode: func(img *image.Gray) ([]byte, error) {
			calls = append(calls, name)
			if name == "flaky" && len(calls) > 9 {
				wentWrong = true
				return []byte("X"), nil
			}
			for _, f := range frames {
				if f.Img == img {
					return f.Want, nil
				}
			}
			return nil, nil
		}}
	}
	ds := []Decoder{mk("p"), mk("q"), mk("flaky")}
	res := Measure(ds, frames, 3, nil)
	if len(calls) != 3*2*3 {
		t.Fatalf("%d calls, want 18", len(calls))
	}
	var firsts []string
	for i := 0; i < len(calls); i += 3 {
		firsts = append(firsts, calls[i])
	}
	if got := strings.Join(firsts, ","); got != "p,q,q,flaky,flaky,p" {
		t.Errorf("first decoder per frame and round: %s, want p,q,q,flaky,flaky,p", got)
	}
	if !wentWrong {
		t.Fatal("flaky never went wrong")
	}
	for i := range frames {
		if !res[0][i].OK || res[0][i].Wrong {
			t.Errorf("p on %s: %+v, want read", frames[i].Name, res[0][i])
		}
	}
	if o := res[2][1]; o.OK || !o.Wrong || !o.Unstable {
		t.Errorf("flaky on b: %+v, want an unstable false decode", o)
	}
	if o := res[1][1]; o.Unstable {
		t.Errorf("q on b: %+v, want stable", o)
	}
}

// TestMainTable checks the table: a row per variant and per resolution
// with each decoder's share read and false decodes, the distribution per
// resolution, and Sentinel's time as a multiple of each peer's.
func TestMainTable(t *testing.T) {
	dir := smallSet(t)
	always := Factory{Name: "always", New: func() (Decoder, error) {
		return Decoder{Name: "always", Version: "9.9", Decode: func(*image.Gray) ([]byte, error) { return []byte("HC1:NOT-IT"), nil }}, nil
	}}
	var stdout, stderr bytes.Buffer
	if code := Main([]string{"-frames", dir, "-rounds", "1"}, &stdout, &stderr, always); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr.String())
	}
	out := stdout.String()
	for _, want := range []string{
		"decoders: sentinel",
		"always 9.9",
		"clean  ",
		"all 320x240",
		"0% (3 false)",
		"sentinel 320x240",
		"/ always 320x240",
		"/ gozxing 320x240",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("table lacks %q:\n%s", want, out)
		}
	}
	if stderr.Len() != 0 {
		t.Errorf("stderr: %q", stderr.String())
	}
}
