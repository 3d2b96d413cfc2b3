// Package inflate decompresses zlib (EU DCC, the native code) and raw
// DEFLATE (SMART Health Cards) with a hard limit on the output and pooled
// decompressors, so that a hostile payload cannot exhaust memory and the hot
// path allocates little.
package inflate

import (
	"bytes"
	"compress/flate"
	"compress/zlib"
	"errors"
	"fmt"
	"io"
	"sync"
)

// ErrTooLarge reports output past the limit.
var ErrTooLarge = errors.New("inflate: output exceeds the limit")

type zlibReader struct {
	src bytes.Reader
	r   io.ReadCloser
}

type flateReader struct {
	src bytes.Reader
	r   io.ReadCloser
}

var (
	zlibPool  sync.Pool // *zlibReader
	flatePool sync.Pool // *flateReader
)

// Zlib appends the zlib decompression of src to dst, failing with
// ErrTooLarge once more than limit bytes come out. The zlib checksum is
// verified.
func Zlib(dst, src []byte, limit int) ([]byte, error) {
	zr, _ := zlibPool.Get().(*zlibReader)
	if zr == nil {
		zr = new(zlibReader)
	}
	zr.src.Reset(src)
	var err error
	if zr.r == nil {
		zr.r, err = zlib.NewReader(&zr.src)
	} else {
		err = zr.r.(zlib.Resetter).Reset(&zr.src, nil)
	}
	if err != nil {
		zr.r = nil // a failed NewReader returns nil; don't reuse a broken one
		zlibPool.Put(zr)
		return dst, fmt.Errorf("zlib header: %w", err)
	}
	dst, err = readAll(dst, zr.r, limit)
	zlibPool.Put(zr)
	if err != nil {
		return dst, fmt.Errorf("zlib: %w", err)
	}
	return dst, nil
}

// Raw appends the raw DEFLATE (RFC 1951) decompression of src to dst,
// failing with ErrTooLarge once more than limit bytes come out.
func Raw(dst, src []byte, limit int) ([]byte, error) {
	fr, _ := flatePool.Get().(*flateReader)
	if fr == nil {
		fr = new(flateReader)
	}
	fr.src.Reset(src)
	if fr.r == nil {
		fr.r = flate.NewReader(&fr.src)
	} else if err := fr.r.(flate.Resetter).Reset(&fr.src, nil); err != nil {
		return dst, fmt.Errorf("deflate: %w", err)
	}
	dst, err := readAll(dst, fr.r, limit)
	flatePool.Put(fr)
	if err != nil {
		return dst, fmt.Errorf("deflate: %w", err)
	}
	return dst, nil
}

// readAll reads r to EOF into dst, at most limit bytes.
func readAll(dst []byte, r io.Reader, limit int) ([]byte, error) {
	start := len(dst)
	if cap(dst)-start < 512 {
		dst = append(dst, make([]byte, 0, 1024)...)
	}
	for {
		if len(dst)-start > limit {
			return dst[:start], ErrTooLarge
		}
		if len(dst) == cap(dst) {
			dst = append(dst, 0)[:len(dst)]
		}
		room := cap(dst) - len(dst)
		if over := limit + 1 - (len(dst) - start); room > over {
			room = over
		}
		n, err := r.Read(dst[len(dst) : len(dst)+room])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			if len(dst)-start > limit {
				return dst[:start], ErrTooLarge
			}
			return dst, nil
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return dst[:start], err
		}
	}
}
