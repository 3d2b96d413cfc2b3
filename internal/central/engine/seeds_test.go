package engine

import (
	"os"
	"path/filepath"
	"testing"
)

func TestSeedsCompile(t *testing.T) {
	files, _ := filepath.Glob("../../../docs/rules/*.rules")
	if len(files) < 4 {
		t.Fatalf("found %d rule sets in docs/rules, want at least 4", len(files))
	}
	for _, f := range files {
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Compile(filepath.Base(f), src); err != nil {
			t.Errorf("%v", err)
		}
	}
}
