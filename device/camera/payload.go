package camera

import (
	"errors"
	"fmt"
)

// errSegments means that the data codewords use a mode whose bytes are not
// the payload as written (Kanji, Hanzi, FNC1), or that they do not parse.
var errSegments = errors.New("camera: segments need transcoding")

const alnumChars = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ $%*+-./:"

// bitReader reads big-endian bit fields from a byte slice.
type bitReader struct {
	b   []byte
	pos int // in bits
}

func (r *bitReader) avail() int { return len(r.b)*8 - r.pos }

func (r *bitReader) read(n int) (int, bool) {
	if n > r.avail() {
		return 0, false
	}
	v := 0
	for i := 0; i < n; i++ {
		bit := (r.b[r.pos>>3] >> (7 - uint(r.pos&7))) & 1
		v = v<<1 | int(bit)
		r.pos++
	}
	return v, true
}

// segmentPayload parses the data codewords of a QR code of the given
// version and returns the bytes the code carries: byte segments exactly as
// encoded (whatever an ECI declares), numeric and alphanumeric segments as
// ASCII. It returns errSegments for modes whose content needs transcoding.
func segmentPayload(data []byte, version int) ([]byte, error) {
	if version < 1 || version > 40 {
		return nil, fmt.Errorf("parse segments: version %d: %w", version, errSegments)
	}
	size := 0 // index into the count-bit tables
	switch {
	case version > 26:
		size = 2
	case version > 9:
		size = 1
	}
	r := &bitReader{b: data}
	out := make([]byte, 0, len(data)*2)
	for r.avail() >= 4 {
		mode, _ := r.read(4)
		switch mode {
		case 0x0: // terminator
			return out, nil
		case 0x1: // numeric
			count, ok := r.read([3]int{10, 12, 14}[size])
			if !ok {
				return nil, errSegments
			}
			for count >= 3 {
				v, ok := r.read(10)
				if !ok || v > 999 {
					return nil, errSegments
				}
				out = append(out, byte('0'+v/100), byte('0'+v/10%10), byte('0'+v%10))
				count -= 3
			}
			switch count {
			case 2:
				v, ok := r.read(7)
				if !ok || v > 99 {
					return nil, errSegments
				}
				out = append(out, byte('0'+v/10), byte('0'+v%10))
			case 1:
				v, ok := r.read(4)
				if !ok || v > 9 {
					return nil, errSegments
				}
				out = append(out, byte('0'+v))
			}
		case 0x2: // alphanumeric
			count, ok := r.read([3]int{9, 11, 13}[size])
			if !ok {
				return nil, errSegments
			}
			for count >= 2 {
				v, ok := r.read(11)
				if !ok || v >= 45*45 {
					return nil, errSegments
				}
				out = append(out, alnumChars[v/45], alnumChars[v%45])
				count -= 2
			}
			if count == 1 {
				v, ok := r.read(6)
				if !ok || v >= 45 {
					return nil, errSegments
				}
				out = append(out, alnumChars[v])
			}
		case 0x4: // byte
			count, ok := r.read([3]int{8, 16, 16}[size])
			if !ok || count*8 > r.avail() {
				return nil, errSegments
			}
			for ; count > 0; count-- {
				v, _ := r.read(8)
				out = append(out, byte(v))
			}
		case 0x7: // ECI: the designator only, the bytes stay as written
			first, ok := r.read(8)
			if !ok {
				return nil, errSegments
			}
			switch {
			case first&0x80 == 0:
			case first&0xc0 == 0x80:
				if _, ok := r.read(8); !ok {
					return nil, errSegments
				}
			case first&0xe0 == 0xc0:
				if _, ok := r.read(16); !ok {
					return nil, errSegments
				}
			default:
				return nil, errSegments
			}
		case 0x3: // structured append header: sequence and parity
			if _, ok := r.read(16); !ok {
				return nil, errSegments
			}
		default: // Kanji, Hanzi, FNC1 and unknown modes
			return nil, errSegments
		}
		if len(out) > MaxPayload {
			return nil, fmt.Errorf("parse segments: %w", ErrPayloadTooLarge)
		}
	}
	return out, nil
}
