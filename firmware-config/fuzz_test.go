package firmwareconfig

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzParseConfig feeds arbitrary files to ParseConfig: it must not panic,
// every problem must be typed and on a line of the file, and a file that is
// accepted must validate.
func FuzzParseConfig(f *testing.F) {
	for _, name := range ExampleNames() {
		b, err := Example(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	cases, _ := filepath.Glob(filepath.Join("testdata", "*", "config.toml"))
	for _, c := range cases {
		b, err := os.ReadFile(c)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(""))
	f.Add([]byte("lane = [{scanner = [{type = \"serial\", port = \"/dev/x\"}]}]\n"))
	f.Add([]byte("[[lane]]\n[[lane.scanner]]\n[[lane]]\n[lane.scanner]\n"))
	f.Add([]byte("a.b.c = {d = [1, {e = 2}]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, err := ParseConfig(strings.NewReader(string(data)))
		if err == nil {
			if cfg == nil {
				t.Fatal("got nil Config and nil error")
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("accepted a file that does not validate: %v", err)
			}
			return
		}
		if cfg != nil {
			t.Fatalf("got a Config with error %v", err)
		}
		if errors.Is(err, ErrTooLarge) || errors.Is(err, ErrNotUTF8) {
			return
		}
		var ps Problems
		if !errors.As(err, &ps) || len(ps) == 0 {
			t.Fatalf("got %T %v, want a non-empty Problems", err, err)
		}
		lines := strings.Count(string(data), "\n") + 1
		for _, p := range ps {
			switch p.(type) {
			case *SyntaxError, *KeyError, *ValidationError:
			default:
				t.Fatalf("got problem %T %v, want a typed one", p, p)
			}
			l := problemLine(p)
			if ve, ok := p.(*ValidationError); ok && l == 0 && ve.Value == "" {
				continue // a key missing from a block that is missing too
			}
			if l < 1 || l > lines {
				t.Fatalf("problem %q: line %d is outside the file's %d lines", p, l, lines)
			}
		}
	})
}
