package healthcode

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// A small reader for the definite-length CBOR (RFC 8949) of the claims and
// of the rolling presentation. Hand-decoding keeps the hot path free of
// reflection and nearly free of allocations; the fuzz test holds it to
// the same answers as the general CBOR library.

// CBOR major types.
const (
	majorUint  = 0
	majorNeg   = 1
	majorBytes = 2
	majorText  = 3
	majorArray = 4
	majorMap   = 5
	majorTag   = 6
	majorOther = 7
)

// maxDepth bounds the nesting of skipped items.
const maxDepth = 16

var (
	errTruncated  = errors.New("truncated CBOR")
	errIndefinite = errors.New("indefinite-length CBOR items are not allowed")
	errReserved   = errors.New("reserved CBOR additional information")
	errDepth      = errors.New("CBOR nested too deeply")
	errUTF8       = errors.New("CBOR text string is not UTF-8")
)

// head reads the head of a CBOR item: its major type and argument, and
// the number of bytes the head takes.
func head(b []byte) (major byte, arg uint64, n int, err error) {
	if len(b) == 0 {
		return 0, 0, 0, errTruncated
	}
	major, ai := b[0]>>5, b[0]&0x1f
	switch {
	case ai < 24:
		return major, uint64(ai), 1, nil
	case ai == 24:
		if len(b) < 2 {
			return 0, 0, 0, errTruncated
		}
		return major, uint64(b[1]), 2, nil
	case ai == 25:
		if len(b) < 3 {
			return 0, 0, 0, errTruncated
		}
		return major, uint64(b[1])<<8 | uint64(b[2]), 3, nil
	case ai == 26:
		if len(b) < 5 {
			return 0, 0, 0, errTruncated
		}
		return major, uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4]), 5, nil
	case ai == 27:
		if len(b) < 9 {
			return 0, 0, 0, errTruncated
		}
		var v uint64
		for _, c := range b[1:9] {
			v = v<<8 | uint64(c)
		}
		return major, v, 9, nil
	case ai == 31:
		return 0, 0, 0, errIndefinite
	}
	return 0, 0, 0, errReserved
}

// readInt reads a CBOR integer (major type 0 or 1) that fits an int64.
func readInt(b []byte) (v int64, n int, err error) {
	major, arg, n, err := head(b)
	if err != nil {
		return 0, 0, err
	}
	if major != majorUint && major != majorNeg {
		return 0, 0, fmt.Errorf("got CBOR major type %d, want an integer", major)
	}
	if arg > 1<<63-1 {
		return 0, 0, errors.New("integer out of range")
	}
	if major == majorNeg {
		return -1 - int64(arg), n, nil
	}
	return int64(arg), n, nil
}

// readUint reads an unsigned CBOR integer (major type 0).
func readUint(b []byte) (v uint64, n int, err error) {
	major, arg, n, err := head(b)
	if err != nil {
		return 0, 0, err
	}
	if major != majorUint {
		return 0, 0, fmt.Errorf("got CBOR major type %d, want an unsigned integer", major)
	}
	return arg, n, nil
}

// readString reads a byte string (major 2) or text string (major 3) and
// returns its content, which aliases b.
func readString(b []byte, want byte) (s []byte, n int, err error) {
	major, arg, n, err := head(b)
	if err != nil {
		return nil, 0, err
	}
	if major != want {
		return nil, 0, fmt.Errorf("got CBOR major type %d, want %d", major, want)
	}
	if arg > uint64(len(b)-n) {
		return nil, 0, errTruncated
	}
	end := n + int(arg)
	if want == majorText && !utf8.Valid(b[n:end]) {
		return nil, 0, errUTF8
	}
	return b[n:end:end], end, nil
}

// readContainer reads the head of an array (major 4) or map (major 5) and
// returns its count, bounded by what the remaining bytes could hold.
func readContainer(b []byte, want byte) (count int, n int, err error) {
	major, arg, n, err := head(b)
	if err != nil {
		return 0, 0, err
	}
	if major != want {
		return 0, 0, fmt.Errorf("got CBOR major type %d, want %d", major, want)
	}
	if arg > uint64(len(b)-n) { // every item takes at least one byte
		return 0, 0, errTruncated
	}
	return int(arg), n, nil
}

// skip returns the length of the CBOR item at the start of b. level is
// the number of arrays, maps and tags that enclose it; like the CBOR
// library, an item nested deeper than maxDepth is refused, and the
// standard tags 0 to 3 must hold the types RFC 8949 gives them.
func skip(b []byte, level int) (int, error) {
	major, arg, n, err := head(b)
	if err != nil {
		return 0, err
	}
	switch major {
	case majorUint, majorNeg:
		return n, nil
	case majorBytes, majorText:
		if arg > uint64(len(b)-n) {
			return 0, errTruncated
		}
		if major == majorText && !utf8.Valid(b[n:n+int(arg)]) {
			return 0, errUTF8
		}
		return n + int(arg), nil
	case majorArray, majorMap:
		if level+1 > maxDepth {
			return 0, errDepth
		}
		if arg > uint64(len(b)-n) {
			return 0, errTruncated
		}
		items := int(arg)
		if major == majorMap {
			items *= 2
		}
		off := n
		for range items {
			m, err := skip(b[off:], level+1)
			if err != nil {
				return 0, err
			}
			off += m
		}
		return off, nil
	case majorTag:
		if level+1 > maxDepth {
			return 0, errDepth
		}
		if err := tagContent(arg, b[n:]); err != nil {
			return 0, err
		}
		m, err := skip(b[n:], level+1)
		if err != nil {
			return 0, err
		}
		return n + m, nil
	default: // simple values and floats: the head holds the value
		if b[0]&0x1f == 24 && arg < 32 {
			return 0, errors.New("invalid CBOR simple value")
		}
		return n, nil
	}
}

// tagContent checks the content type of the standard date and bignum
// tags (RFC 8949 §3.4).
func tagContent(tag uint64, content []byte) error {
	if len(content) == 0 {
		return errTruncated
	}
	major := content[0] >> 5
	ok := true
	switch tag {
	case 0:
		ok = major == majorText
	case 1:
		ok = major == majorUint || major == majorNeg || content[0] >= 0xf9 && content[0] <= 0xfb
	case 2, 3:
		ok = major == majorBytes
	}
	if !ok {
		return fmt.Errorf("CBOR tag %d holds the wrong type", tag)
	}
	return nil
}

// sameKey reports whether two map keys (integers or text strings, as
// the callers checked) are the same value, whatever the length of their
// heads: duplicates are refused by value, as the CBOR library does.
func sameKey(a, b []byte) bool {
	ma, va, na, erra := head(a)
	mb, vb, nb, errb := head(b)
	if erra != nil || errb != nil || ma != mb || va != vb {
		return false
	}
	if ma == majorText || ma == majorBytes {
		return string(a[na:]) == string(b[nb:])
	}
	return true
}

// appendHead appends a CBOR head with the shortest encoding of arg.
func appendHead(dst []byte, major byte, arg uint64) []byte {
	m := major << 5
	switch {
	case arg < 24:
		return append(dst, m|byte(arg))
	case arg <= 0xff:
		return append(dst, m|24, byte(arg))
	case arg <= 0xffff:
		return append(dst, m|25, byte(arg>>8), byte(arg))
	case arg <= 0xffffffff:
		return append(dst, m|26, byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
	default:
		return append(dst, m|27, byte(arg>>56), byte(arg>>48), byte(arg>>40), byte(arg>>32),
			byte(arg>>24), byte(arg>>16), byte(arg>>8), byte(arg))
	}
}
