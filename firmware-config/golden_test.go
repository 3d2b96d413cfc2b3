package firmwareconfig

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"
)

var update = flag.Bool("update", false, "rewrite testdata/*/problems.txt from the current output")

// TestGolden parses every case under testdata/ and compares the problems it
// reports, one per line, with the case's problems.txt (empty for a file that
// is valid). Run with -update to regenerate, then review the diff.
func TestGolden(t *testing.T) {
	cases, err := filepath.Glob(filepath.Join("testdata", "*", "config.toml"))
	if err != nil || len(cases) == 0 {
		t.Fatalf("no cases in testdata: %v", err)
	}
	for _, file := range cases {
		dir := filepath.Dir(file)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			cfg, err := Load(file)
			var got []byte
			if err != nil {
				if cfg != nil {
					t.Errorf("got a Config with error %v, want nil", err)
				}
				for _, p := range problemsOf(t, err) {
					got = append(got, p.Error()+"\n"...)
				}
			} else if cfg == nil {
				t.Fatal("got nil Config and nil error")
			}
			golden := filepath.Join(dir, "problems.txt")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("problems differ from %s:\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}
