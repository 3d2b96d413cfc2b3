// Command decode-compare runs Sentinel's QR decoder and gozxing as-is on
// the same frames and reports, per variant, the share of frames each reads
// correctly, its false decodes, and its CPU time per frame. The cgo
// command in native/ (a module of its own) runs the same comparison with
// ZXing-C++ and ZBar added, in process through their C libraries.
//
// Usage:
//
//	go run ./bench/decode-compare -dir DIR [-tools sentinel,gozxing] [-variant V] [-v]
//	go run ./bench/decode-compare -frames DIR [-json]
//	go run ./bench/decode-compare -corpus DIR [-json]
//	go run ./bench/decode-compare -write DIR [-held N]
//	go run ./bench/decode-compare -write DIR -foreign N [-seed S]
//
// -dir renders the camtest set (device/camera/camtest.Set, parameters
// fixed in the repository) into DIR unless it is there already, and adds
// the EU DCC corpus PNGs beside the module. -frames reads any directory
// of frames (PNG, JPEG or 8-bit PGM) listed in a manifest.jsonl, one JSON
// object per frame with at least "file", "text" (empty for a frame
// without a code) and "variant"; "binary": true means each character of
// text is one byte. -corpus alone runs only the EU DCC corpus PNGs. With
// -json it prints one JSON object per decoder and nothing else: decoded,
// total, false, per variant [decoded, total] and per resolution the mean,
// p95 and worst CPU milliseconds per frame (frames without a code count in
// the times, not in total; a decode of one counts in false). -write
// renders the set (or, with -held N, N drawn held-out frames per variant
// and size) into such a directory; with -foreign N, N frames per variant
// and size from the independent generator device/camera/foreign.
//
// Frames are decoded from grey planes already in memory, in -rounds
// interleaved rounds; a frame's time is the median over the rounds of the
// CPU time of the decoding thread, so that other load on a shared machine
// does not count. decode-compare is Linux-only.
package main

import (
	"os"

	"sentinel/bench/decode-compare/internal/compare"
)

func main() {
	os.Exit(compare.Main(os.Args[1:], os.Stdout, os.Stderr))
}
