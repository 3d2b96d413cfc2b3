package healthcode

import (
	"errors"
	"fmt"

	"sentinel/crypto/cose"
)

// parseSign1 parses a COSE_Sign1 like cose.Parse (tag 18, untagged, or
// inside the CWT tag 61) into m, with every slice aliasing b, so that a
// decoding costs one copy of the bytes instead of one allocation per
// field. It is stricter than cose.Parse: definite lengths only. The fuzz
// test holds the two to the same answer on what this one accepts.
func parseSign1(b []byte, m *cose.Sign1) error {
	off := 0
	if major, tag, n, err := head(b); err == nil && major == majorTag {
		if tag != cose.TagCWT && tag != cose.TagSign1 {
			return fmt.Errorf("unexpected CBOR tag %d", tag)
		}
		off += n
		if tag == cose.TagCWT {
			if major, tag, n, err := head(b[off:]); err == nil && major == majorTag {
				if tag != cose.TagSign1 {
					return fmt.Errorf("unexpected CBOR tag %d inside the CWT tag", tag)
				}
				off += n
			}
		}
	}
	count, n, err := readContainer(b[off:], majorArray)
	if err != nil || count != 4 {
		return errors.New("not a COSE_Sign1 array of four items")
	}
	off += n
	protected, n, err := readString(b[off:], majorBytes)
	if err != nil {
		return fmt.Errorf("protected header: %w", err)
	}
	off += n
	var ph, uh cose.Header
	if len(protected) > 0 {
		n, err := parseHeader(protected, &ph, 1)
		if err != nil {
			return fmt.Errorf("protected header: %w", err)
		}
		if n != len(protected) {
			return errors.New("protected header: bytes after the map")
		}
	}
	n, err = parseHeader(b[off:], &uh, 2)
	if err != nil {
		return fmt.Errorf("unprotected header: %w", err)
	}
	off += n
	payload, n, err := readString(b[off:], majorBytes)
	if err != nil {
		return fmt.Errorf("payload: %w", err)
	}
	off += n
	sig, n, err := readString(b[off:], majorBytes)
	if err != nil {
		return fmt.Errorf("signature: %w", err)
	}
	off += n
	if off != len(b) {
		return fmt.Errorf("%d bytes after the COSE_Sign1", len(b)-off)
	}
	if err := cose.CheckHeaders(&ph, &uh); err != nil {
		return err
	}
	*m = cose.Sign1{RawProtected: protected, Protected: ph, Unprotected: uh, Payload: payload, Signature: sig}
	return nil
}

// maxHeader bounds the number of header parameters.
const maxHeader = 16

// parseHeader parses a header map at nesting level (1 for the top
// item), reading alg (1, an integer) and kid (4, a byte string), and
// returns its length. Duplicate labels are refused.
func parseHeader(b []byte, h *cose.Header, level int) (int, error) {
	count, off, err := readContainer(b, majorMap)
	if err != nil {
		return 0, err
	}
	if count > maxHeader {
		return 0, fmt.Errorf("%d parameters, at most %d", count, maxHeader)
	}
	var labels [maxHeader][]byte
	for i := range count {
		kl, err := skip(b[off:], level)
		if err != nil {
			return 0, err
		}
		if m := b[off] >> 5; m != majorUint && m != majorNeg && m != majorText {
			return 0, fmt.Errorf("parameter label of CBOR major type %d (want an integer or text)", m)
		}
		labels[i] = b[off : off+kl]
		for _, p := range labels[:i] {
			if sameKey(p, labels[i]) {
				return 0, fmt.Errorf("duplicate parameter %x", p)
			}
		}
		label, _, lerr := readInt(b[off:])
		if lerr != nil && b[off]>>5 != majorText {
			return 0, fmt.Errorf("parameter label: %w", lerr)
		}
		off += kl
		switch {
		case lerr == nil && label == 1:
			alg, n, err := readInt(b[off:])
			if err != nil {
				return 0, fmt.Errorf("alg: %w", err)
			}
			h.Alg, h.HasAlg = alg, true
			off += n
		case lerr == nil && label == 4:
			kid, n, err := readString(b[off:], majorBytes)
			if err != nil {
				return 0, fmt.Errorf("kid: %w", err)
			}
			h.KID = kid
			off += n
		default:
			n, err := skip(b[off:], level)
			if err != nil {
				return 0, err
			}
			off += n
		}
	}
	return off, nil
}
