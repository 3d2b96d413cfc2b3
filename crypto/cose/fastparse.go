package cose

import "bytes"

// parseFast parses the common COSE_Sign1 without the CBOR library: an
// array of four definite-length items, headers that are maps of alg (an
// integer) and kid (a byte string) only, and nothing after the array. It
// reports false, having changed nothing, for anything else, which the
// library then parses (with its own verdict and message). Whatever it
// takes, the library takes the same way (FuzzParseFast). The message's
// byte strings share one copy of body, each with its capacity cut to its
// length, so that appending to one cannot overwrite another.
func (m *Sign1) parseFast(body []byte) bool {
	if len(body) == 0 || body[0] != 0x84 {
		return false
	}
	var spans [4][2]int // protected, unprotected (the whole map), payload, signature
	pos := 1
	for i := range spans {
		start := pos
		major, n, next, ok := head(body, pos)
		if !ok {
			return false
		}
		switch {
		case i == 1 && major == 5:
			// The unprotected map: walked by header below.
			end, ok := skipHeader(body, next, n)
			if !ok {
				return false
			}
			spans[i] = [2]int{start, end}
			pos = end
			continue
		case i != 1 && major == 2:
		default:
			return false
		}
		if n > uint64(len(body)-next) {
			return false
		}
		spans[i] = [2]int{next, next + int(n)}
		pos = next + int(n)
	}
	if pos != len(body) {
		return false
	}
	var prot, unprot Header
	// The message keeps copies. A big payload (a status base: tens of
	// megabytes) is copied once, into the Sig_structure that Verify
	// hashes, instead of into a copy of the message and then again into
	// the Sig_structure; the bytes before it are copied apart.
	big := spans[2][1]-spans[2][0] >= sigInPlaceMin
	own := body[:spans[2][0]]
	if !big {
		own = body
	}
	own = bytes.Clone(own)
	span := func(i int) []byte { return own[spans[i][0]:spans[i][1]:spans[i][1]] }
	if p := span(0); len(p) > 0 {
		if !fastHeader(p, &prot) {
			return false
		}
	}
	if !fastHeader(span(1), &unprot) {
		return false
	}
	if !big {
		*m = Sign1{RawProtected: span(0), Protected: prot, Unprotected: unprot, Payload: span(2), Signature: span(3)}
		return true
	}
	payload := body[spans[2][0]:spans[2][1]]
	tbs := appendSigStructure(make([]byte, 0, sigHeadMax+len(span(0))+len(payload)), span(0), payload)
	*m = Sign1{RawProtected: span(0), Protected: prot, Unprotected: unprot,
		Payload: tbs[len(tbs)-len(payload):], Signature: bytes.Clone(body[spans[3][0]:spans[3][1]]), tbs: tbs}
	return true
}

// head reads the head of the item at b[pos:]: its major type, its
// argument and where its content starts. Indefinite lengths and reserved
// forms are not read.
func head(b []byte, pos int) (major byte, arg uint64, next int, ok bool) {
	if pos >= len(b) {
		return 0, 0, 0, false
	}
	major, ai := b[pos]>>5, b[pos]&0x1f
	pos++
	switch {
	case ai < 24:
		return major, uint64(ai), pos, true
	case ai <= 27:
		n := 1 << (ai - 24)
		if len(b)-pos < n {
			return 0, 0, 0, false
		}
		for _, c := range b[pos : pos+n] {
			arg = arg<<8 | uint64(c)
		}
		return major, arg, pos + n, true
	}
	return 0, 0, 0, false
}

// skipHeader returns the end of a header map of n pairs whose pairs start
// at pos, when it is in parseFast's subset.
func skipHeader(b []byte, pos int, n uint64) (int, bool) {
	if n > 2 {
		return 0, false
	}
	for range 2 * n {
		major, arg, next, ok := head(b, pos)
		if !ok {
			return 0, false
		}
		switch major {
		case 0, 1:
			pos = next
		case 2:
			if arg > uint64(len(b)-next) {
				return 0, false
			}
			pos = next + int(arg)
		default:
			return 0, false
		}
	}
	return pos, true
}

// fastHeader reads a header map holding alg (key 1, an integer) and kid
// (key 4, a byte string) and nothing else, each at most once.
func fastHeader(b []byte, h *Header) bool {
	major, n, pos, ok := head(b, 0)
	if !ok || major != 5 || n > 2 {
		return false
	}
	for range n {
		major, key, next, ok := head(b, pos)
		if !ok || major != 0 || (key != 1 && key != 4) {
			return false
		}
		vmajor, v, vnext, ok := head(b, next)
		if !ok {
			return false
		}
		switch {
		case key == 1 && !h.HasAlg && vmajor == 0 && v <= 1<<62:
			h.Alg, h.HasAlg = int64(v), true
			pos = vnext
		case key == 1 && !h.HasAlg && vmajor == 1 && v < 1<<62:
			h.Alg, h.HasAlg = -1-int64(v), true
			pos = vnext
		case key == 4 && h.KID == nil && vmajor == 2 && v <= uint64(len(b)-vnext):
			h.KID = b[vnext : vnext+int(v) : vnext+int(v)]
			pos = vnext + int(v)
		default:
			return false
		}
	}
	return pos == len(b)
}
