package cose

import (
	"encoding/binary"
	"fmt"

	"github.com/fxamacker/cbor/v2"
)

// BytesNoCopy is a CBOR byte string that decodes without a copy: after
// Unmarshal it aliases the input, which must then stay unchanged for as
// long as the value is in use. It is for payloads of tens of megabytes (a
// status base), where each copy of the bytes costs a 1 GB terminal that
// much memory at its peak. Any other item decodes as into a []byte, in a
// copy (an indefinite-length byte string, null). It encodes as a byte
// string.
type BytesNoCopy []byte

// UnmarshalCBOR implements cbor.Unmarshaler. data is one well-formed item.
func (b *BytesNoCopy) UnmarshalCBOR(data []byte) error {
	if len(data) == 0 {
		return fmt.Errorf("%w: empty item", ErrMalformed)
	}
	if data[0]>>5 != 2 || data[0] == 0x5f {
		// Anything else decodes as into a []byte, in a copy: null and
		// undefined to nil, an array of small integers, an
		// indefinite-length byte string with its chunks joined.
		var v []byte
		if err := cbor.Unmarshal(data, &v); err != nil {
			return err
		}
		*b = v
		return nil
	}
	var n uint64
	head := 1
	switch ai := data[0] & 0x1f; {
	case ai < 24:
		n = uint64(ai)
	case ai == 24 && len(data) >= 2:
		n, head = uint64(data[1]), 2
	case ai == 25 && len(data) >= 3:
		n, head = uint64(binary.BigEndian.Uint16(data[1:])), 3
	case ai == 26 && len(data) >= 5:
		n, head = uint64(binary.BigEndian.Uint32(data[1:])), 5
	case ai == 27 && len(data) >= 9:
		n, head = binary.BigEndian.Uint64(data[1:]), 9
	default:
		return fmt.Errorf("%w: byte string of unreadable length", ErrMalformed)
	}
	if n != uint64(len(data)-head) {
		return fmt.Errorf("%w: byte string of %d bytes in an item of %d", ErrMalformed, n, len(data)-head)
	}
	*b = BytesNoCopy(data[head:len(data):len(data)])
	return nil
}
