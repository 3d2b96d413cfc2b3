// Package cdecode runs ZXing-C++ and ZBar in process through their C
// libraries, as decoders for bench/decode-compare. It needs cgo, a C++
// compiler and the libraries' development files (Debian: g++,
// libzxing-dev, libzbar-dev), which is why it lives in a module of its
// own: the main module builds with CGO_ENABLED=0.
package cdecode

/*
#cgo CXXFLAGS: -std=c++17 -O2 -DZX_USE_UTF8
#cgo LDFLAGS: -lZXing
#include "zxing.h"
#include <ZXing/ZXVersion.h>
*/
import "C"

import (
	"errors"
	"fmt"
	"image"
	"unsafe"

	"sentinel/bench/decode-compare/internal/compare"
)

// maxPayload bounds a QR code's payload: a version 40 code holds at most
// 7,089 digits, 4,296 alphanumeric characters or 2,953 bytes.
const maxPayload = 8 << 10

// errNoCode is returned when a library finds no QR code in a frame.
var errNoCode = errors.New("no QR code found")

// ZXing makes a ZXing-C++ decoder: ReadBarcode restricted to QR codes,
// with the library's default hints otherwise (those ZXingReader uses).
var ZXing = compare.Factory{Name: "zxing-cpp", New: newZXing}

func newZXing() (compare.Decoder, error) {
	out := make([]byte, maxPayload)
	version := fmt.Sprintf("%d.%d.%d", C.ZXING_VERSION_MAJOR, C.ZXING_VERSION_MINOR, C.ZXING_VERSION_PATCH)
	return compare.Decoder{Name: "zxing-cpp", Version: version, Decode: func(img *image.Gray) ([]byte, error) {
		w, h := img.Rect.Dx(), img.Rect.Dy()
		if w == 0 || h == 0 {
			return nil, errNoCode
		}
		n := C.sentinel_zxing_read((*C.uint8_t)(unsafe.Pointer(&img.Pix[0])), C.int(w), C.int(h), C.int(img.Stride),
			(*C.uint8_t)(unsafe.Pointer(&out[0])), C.int(len(out)))
		switch {
		case n >= 0:
			return append([]byte(nil), out[:n]...), nil
		case n == C.SENTINEL_ZXING_NONE:
			return nil, errNoCode
		case n == C.SENTINEL_ZXING_TOO_LONG:
			return nil, fmt.Errorf("zxing-cpp: payload longer than %d bytes", maxPayload)
		}
		return nil, errors.New("zxing-cpp: the library threw an exception")
	}}, nil
}
