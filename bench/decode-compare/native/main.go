// Command native is decode-compare (bench/decode-compare) with ZXing-C++
// and ZBar added, in process through their C libraries: Sentinel's
// decoder, gozxing, ZXing-C++ and ZBar decode the same grey frames in
// memory, in interleaved rounds, and only the decoding is timed (CPU time
// of the decoding thread). Flags, output and -json are decode-compare's;
// see bench/decode-compare/README.md.
//
// It needs cgo, a C++ compiler and the libraries' development files
// (Debian: apt-get install g++ libzxing-dev libzbar-dev), and is a module
// of its own so that the main module builds without them:
//
//	cd bench/decode-compare/native
//	go run . -frames DIR -json
package main

import (
	"os"

	"sentinel/bench/decode-compare/internal/compare"
	"sentinel/bench/decode-compare/native/cdecode"
)

func main() {
	os.Exit(compare.Main(os.Args[1:], os.Stdout, os.Stderr, cdecode.ZXing, cdecode.ZBar))
}
