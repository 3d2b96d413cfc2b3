package healthcode

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"strings"
	"sync"

	"sentinel/crypto/base45"
	"sentinel/crypto/cose"
	"sentinel/crypto/credential"
	"sentinel/internal/inflate"
)

// Unverified is a decoded native code whose signatures have not been
// checked. Nothing in it may be trusted: call Verify.
type Unverified struct {
	buf     []byte // the inflated bytes, which every slice below aliases
	msg     cose.Sign1
	alg     int64
	claims  claims
	rolling bool
	step    uint64
	sig     []byte   // the holder's signature of a rolling presentation
	hash    [32]byte // SHA-256 of the credential's COSE bytes (rolling only)
}

// KeyID returns the key id the code names (unverified), for diagnostics.
func (u *Unverified) KeyID() []byte { return u.msg.Protected.KID }

// Rolling reports whether the code is a rolling presentation.
func (u *Unverified) Rolling() bool { return u.rolling }

// scratch holds the buffers of one decoding; they return to scratchPool
// when Decode is done: the Unverified keeps one copy of the inflated bytes.
type scratch struct {
	text     []byte
	b45      []byte
	inflated []byte
}

var scratchPool = sync.Pool{New: func() any {
	return &scratch{
		text:     make([]byte, 0, 1024),
		b45:      make([]byte, 0, 1024),
		inflated: make([]byte, 0, 2048),
	}
}}

func reject(reason credential.Reason, format string, args ...any) *credential.Rejection {
	return credential.Reject(credential.FormatNative, reason, format, args...)
}

// Decode decodes a native code, static ("HCN1:" and a credential) or
// rolling ("HCN1:" and a presentation), without verifying it. Payloads
// longer than credential.MaxPayload are refused before any decoding, and
// decompression stops at credential.MaxInflated. Errors are
// *credential.Rejection values.
func Decode(text string) (*Unverified, error) {
	if err := checkText(len(text), strings.HasPrefix(text, Prefix)); err != nil {
		return nil, err
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	s.text = append(s.text[:0], text[len(Prefix):]...)
	return s.decode()
}

// DecodeBytes is Decode for a payload as the scanner or camera gives it:
// the gate need not copy it into a string first.
func DecodeBytes(payload []byte) (*Unverified, error) {
	if err := checkText(len(payload), bytes.HasPrefix(payload, prefixBytes)); err != nil {
		return nil, err
	}
	s := scratchPool.Get().(*scratch)
	defer scratchPool.Put(s)
	s.text = append(s.text[:0], payload[len(Prefix):]...)
	return s.decode()
}

var prefixBytes = []byte(Prefix)

// checkText checks a payload's length and prefix before any decoding.
func checkText(n int, prefixed bool) error {
	if n > credential.MaxPayload {
		return reject(credential.ReasonTooLarge, "decode: %d characters, at most %d", n, credential.MaxPayload)
	}
	if !prefixed {
		return reject(credential.ReasonUnknownFormat, "decode: no %q prefix", Prefix)
	}
	return nil
}

// decode decodes the base45 text after the prefix, in s.text.
func (s *scratch) decode() (*Unverified, error) {
	var err error
	s.b45, err = base45.AppendDecode(s.b45[:0], s.text)
	if err != nil {
		return nil, reject(credential.ReasonBadEncoding, "decode: %w", err)
	}
	s.inflated, err = inflate.Zlib(s.inflated[:0], s.b45, credential.MaxInflated)
	if err != nil {
		return nil, reject(credential.ReasonBadCompression, "decode: %w", err)
	}
	u := &Unverified{buf: bytes.Clone(s.inflated)}
	if err := u.decodeCBOR(u.buf); err != nil {
		return nil, err
	}
	return u, nil
}

// decodeCBOR decodes the inflated bytes: a COSE_Sign1 credential, or a
// presentation [credential, step, signature].
func (u *Unverified) decodeCBOR(b []byte) error {
	cred := b
	if len(b) > 0 && b[0] == 0x83 { // an array of three: a presentation
		var err error
		cred, err = u.decodePresentation(b)
		if err != nil {
			return reject(credential.ReasonBadStructure, "decode: presentation: %w", err)
		}
	}
	if err := parseSign1(cred, &u.msg); err != nil {
		return reject(credential.ReasonBadStructure, "decode: COSE_Sign1: %w", err)
	}
	if err := checkProtected(&u.msg); err != nil {
		return err
	}
	u.alg = u.msg.Protected.Alg
	if err := parseClaims(u.msg.Payload, &u.claims); err != nil {
		if v, ok := versionOf(u.msg.Payload); ok && v != Version {
			return reject(credential.ReasonSchema, "decode: format version %d is not supported (this terminal reads version %d): update its software", v, Version)
		}
		return reject(credential.ReasonBadStructure, "decode: %w", err)
	}
	return nil
}

// decodePresentation decodes [bstr credential, uint step, bstr signature]
// and returns the credential's bytes.
func (u *Unverified) decodePresentation(b []byte) ([]byte, error) {
	off := 1
	cred, n, err := readString(b[off:], majorBytes)
	if err != nil {
		return nil, fmt.Errorf("credential: %w", err)
	}
	off += n
	u.step, n, err = readUint(b[off:])
	if err != nil {
		return nil, fmt.Errorf("time step: %w", err)
	}
	off += n
	sig, n, err := readString(b[off:], majorBytes)
	if err != nil {
		return nil, fmt.Errorf("holder signature: %w", err)
	}
	off += n
	if off != len(b) {
		return nil, fmt.Errorf("%d bytes after the presentation", len(b)-off)
	}
	if len(cred) > 0 && cred[0] == 0x83 {
		return nil, fmt.Errorf("a presentation inside a presentation")
	}
	u.rolling = true
	u.sig = sig
	u.hash = sha256.Sum256(cred)
	return cred, nil
}

// checkProtected checks the protected header: the algorithm and the key
// id must be protected, and a crit parameter may name only them.
func checkProtected(msg *cose.Sign1) error {
	if !msg.Protected.HasAlg {
		return reject(credential.ReasonBadAlgorithm, "decode: no algorithm in the protected header")
	}
	if len(msg.Protected.KID) == 0 {
		return reject(credential.ReasonBadStructure, "decode: no key id in the protected header")
	}
	count, off, err := readContainer(msg.RawProtected, majorMap)
	if err != nil {
		return reject(credential.ReasonBadStructure, "decode: protected header: %w", err)
	}
	for range count {
		k, n, err := readInt(msg.RawProtected[off:])
		if err != nil { // text labels: unknown, not critical unless named
			n, err = skip(msg.RawProtected[off:], 1)
			if err != nil {
				return reject(credential.ReasonBadStructure, "decode: protected header: %w", err)
			}
		}
		off += n
		v := msg.RawProtected[off:]
		n, err = skip(v, 1)
		if err != nil {
			return reject(credential.ReasonBadStructure, "decode: protected header: %w", err)
		}
		off += n
		if k != 2 { // crit (RFC 9052 §3.1)
			continue
		}
		items, o, err := readContainer(v, majorArray)
		if err != nil || items == 0 {
			return reject(credential.ReasonBadStructure, "decode: protected header: crit must be a non-empty array")
		}
		for range items {
			label, m, err := readInt(v[o:])
			if err != nil {
				return reject(credential.ReasonSchema, "decode: critical header parameter not understood: update the terminal's software")
			}
			o += m
			if label != 1 && label != 4 {
				return reject(credential.ReasonSchema, "decode: critical header parameter %d not understood: update the terminal's software", label)
			}
		}
	}
	return nil
}

// versionOf finds the version claim in a claims map that failed to
// decode, so that a code of a newer format says so.
func versionOf(b []byte) (uint64, bool) {
	count, off, err := readContainer(b, majorMap)
	if err != nil {
		return 0, false
	}
	for range count {
		k, n, err := readInt(b[off:])
		if err != nil {
			if n, err = skip(b[off:], 1); err != nil {
				return 0, false
			}
		}
		off += n
		if k == ClaimVersion {
			v, _, err := readUint(b[off:])
			return v, err == nil
		}
		n, err = skip(b[off:], 1)
		if err != nil {
			return 0, false
		}
		off += n
	}
	return 0, false
}
