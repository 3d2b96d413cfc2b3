// Package corpustest finds the module's root and the shared test corpora
// beside it (../shared/corpus/<name>) for tests. Only _test.go files import
// it.
//
// A missing corpus skips the test loudly ("SKIPPING: ..."), so a local run
// without the corpus says what it did not check; under CI=true it fails
// instead, since CI must provide the corpus.
package corpustest

import (
	"os"
	"path/filepath"
	"testing"
)

// ModuleRoot walks up from the working directory (the test's package
// directory) to the directory that holds go.mod.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test's directory")
		}
		dir = parent
	}
}

// Path returns ../shared/corpus/<name> from the module root, without
// checking that it exists.
func Path(t testing.TB, name string) string {
	t.Helper()
	return filepath.Join(ModuleRoot(t), "..", "shared", "corpus", filepath.FromSlash(name))
}

// Lookup returns ../shared/corpus/<name> and true when it exists. When it
// does not, it fails the test under CI=true and otherwise returns false,
// leaving the caller to say what it leaves out.
func Lookup(t testing.TB, name string) (string, bool) {
	t.Helper()
	dir := Path(t, name)
	if _, err := os.Stat(dir); err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("corpus %s is missing (%v): CI must provide ../shared/corpus next to the module", name, err)
		}
		return dir, false
	}
	return dir, true
}

// Dir returns ../shared/corpus/<name>, or skips the test loudly (fails it
// under CI=true) when the corpus is absent.
func Dir(t testing.TB, name string) string {
	t.Helper()
	dir, ok := Lookup(t, name)
	if !ok {
		t.Skipf("SKIPPING: corpus %s not found at %s (clone ../shared/corpus beside the module); %s did not run", name, dir, t.Name())
	}
	return dir
}
