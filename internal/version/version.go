// Package version says which build of Sentinel is running: the version
// that `--version` prints on every binary and that the terminal's health
// report sends to the centre.
//
// The package build (packaging/build) stamps the version from the tree, a
// tag or `git describe`, with
//
//	go build -ldflags "-X sentinel/internal/version.stamped=1.4.0+3.g1a2b3c4" ./cmd/...
//
// A plain `go build` or `go run` has no stamp: the version is then the
// module version Go recorded (`go install sentinel/cmd/...@v1.4.0`), or
// "devel" with the commit Go recorded from the work tree
// ("devel+1a2b3c4d5e6f", "+dirty" when it had changes), or "devel" alone
// when the build kept no VCS information (-buildvcs=false).
//
// It is a leaf: it imports only the standard library, so every binary and
// package may use it.
package version

import (
	"fmt"
	"io"
	"runtime"
	"runtime/debug"
)

// stamped is set at link time by the package build; empty otherwise.
var stamped string

// String returns the running build's version: the stamp, else what Go
// recorded in the binary, else "devel".
func String() string {
	if stamped != "" {
		return stamped
	}
	bi, _ := debug.ReadBuildInfo()
	return fromBuildInfo(bi)
}

// fromBuildInfo derives a version from what Go records in a binary.
func fromBuildInfo(bi *debug.BuildInfo) string {
	if bi == nil {
		return "devel"
	}
	if v := bi.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	var rev string
	var dirty bool
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			rev = s.Value
		case "vcs.modified":
			dirty = s.Value == "true"
		}
	}
	if rev == "" {
		return "devel"
	}
	if len(rev) > 12 {
		rev = rev[:12]
	}
	v := "devel+" + rev
	if dirty {
		v += "+dirty"
	}
	return v
}

// Print writes the line `--version` prints for the program prog:
//
//	sentinelctl 1.4.0 (go1.26.8 linux/arm)
func Print(w io.Writer, prog string) {
	fmt.Fprintf(w, "%s %s (%s %s/%s)\n", prog, String(), runtime.Version(), runtime.GOOS, runtime.GOARCH)
}
