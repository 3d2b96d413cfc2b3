// Package base45 implements the Base45 encoding of RFC 9285, the alphabet
// of QR codes' alphanumeric mode, which EU DCC (HC1:) and the native code
// (HCN1:) use.
package base45

import (
	"errors"
	"fmt"
)

const alphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// ErrLength reports an input whose length leaves a dangling character
// (length mod 3 == 1).
var ErrLength = errors.New("base45: invalid length")

// CorruptInputError reports the offset of a character outside the
// alphabet, or of a group whose value overflows.
type CorruptInputError struct {
	Offset   int
	Overflow bool
}

func (e *CorruptInputError) Error() string {
	if e.Overflow {
		return fmt.Sprintf("base45: value out of range at offset %d", e.Offset)
	}
	return fmt.Sprintf("base45: illegal character at offset %d", e.Offset)
}

// decodeMap maps a character to its value, 0xff outside the alphabet.
var decodeMap = func() (m [256]byte) {
	for i := range m {
		m[i] = 0xff
	}
	for i := 0; i < len(alphabet); i++ {
		m[alphabet[i]] = byte(i)
	}
	return m
}()

// DecodedLen returns the length of the decoding of n valid characters.
func DecodedLen(n int) int { return n/3*2 + (n%3)/2 }

// EncodedLen returns the length of the encoding of n bytes.
func EncodedLen(n int) int { return n/2*3 + (n%2)*2 }

// AppendDecode appends the decoding of src to dst.
func AppendDecode(dst, src []byte) ([]byte, error) {
	if len(src)%3 == 1 {
		return dst, ErrLength
	}
	start := len(dst)
	dst = append(dst, make([]byte, DecodedLen(len(src)))...)
	out := dst[start:]
	o := 0
	i := 0
	for ; i+3 <= len(src); i += 3 {
		c, d, e := decodeMap[src[i]], decodeMap[src[i+1]], decodeMap[src[i+2]]
		if c|d|e == 0xff || c > 44 || d > 44 || e > 44 {
			return dst[:start], &CorruptInputError{Offset: i + badIndex(c, d, e)}
		}
		n := uint32(c) + uint32(d)*45 + uint32(e)*45*45
		if n > 0xffff {
			return dst[:start], &CorruptInputError{Offset: i, Overflow: true}
		}
		out[o] = byte(n >> 8)
		out[o+1] = byte(n)
		o += 2
	}
	if i < len(src) {
		c, d := decodeMap[src[i]], decodeMap[src[i+1]]
		if c > 44 || d > 44 {
			return dst[:start], &CorruptInputError{Offset: i + badIndex(c, d, 0)}
		}
		n := uint32(c) + uint32(d)*45
		if n > 0xff {
			return dst[:start], &CorruptInputError{Offset: i, Overflow: true}
		}
		out[o] = byte(n)
	}
	return dst, nil
}

func badIndex(c, d, e byte) int {
	switch {
	case c > 44:
		return 0
	case d > 44:
		return 1
	case e > 44:
		return 2
	}
	return 0
}

// Decode returns the bytes src encodes.
func Decode(src []byte) ([]byte, error) {
	return AppendDecode(make([]byte, 0, DecodedLen(len(src))), src)
}

// DecodeString returns the bytes s encodes.
func DecodeString(s string) ([]byte, error) { return Decode([]byte(s)) }

// AppendEncode appends the encoding of src to dst.
func AppendEncode(dst, src []byte) []byte {
	i := 0
	for ; i+2 <= len(src); i += 2 {
		n := uint32(src[i])<<8 | uint32(src[i+1])
		dst = append(dst, alphabet[n%45], alphabet[n/45%45], alphabet[n/2025])
	}
	if i < len(src) {
		n := uint32(src[i])
		dst = append(dst, alphabet[n%45], alphabet[n/45])
	}
	return dst
}

// EncodeToString returns the encoding of src.
func EncodeToString(src []byte) string {
	return string(AppendEncode(make([]byte, 0, EncodedLen(len(src))), src))
}
