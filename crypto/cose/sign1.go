package cose

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/sha512"
	"errors"
	"fmt"
	"io"

	"github.com/fxamacker/cbor/v2"
)

// COSE algorithm identifiers (IANA COSE Algorithms registry).
const (
	AlgEdDSA int64 = -8
	AlgES256 int64 = -7
	AlgES384 int64 = -35
	AlgES512 int64 = -36
	AlgPS256 int64 = -37
)

// CBOR tags around a COSE_Sign1.
const (
	TagSign1 = 18
	TagCWT   = 61
)

// Errors. Parse errors wrap ErrMalformed; Verify returns ErrSignature for
// a signature that does not verify and ErrAlgorithm for an algorithm that
// is missing, unsupported or does not match the key.
var (
	ErrMalformed = errors.New("cose: malformed message")
	ErrSignature = errors.New("cose: signature does not verify")
	ErrAlgorithm = errors.New("cose: unsupported algorithm or key")
)

// Header holds the header parameters Sentinel uses.
type Header struct {
	Alg    int64  // 0 when absent
	HasAlg bool   // Alg was present
	KID    []byte // nil when absent
}

// Sign1 is a parsed, unverified COSE_Sign1 message.
type Sign1 struct {
	RawProtected []byte // the protected header as signed (a CBOR map, or empty)
	Protected    Header
	Unprotected  Header
	Payload      []byte
	Signature    []byte
	// tbs, for a big payload, is the Sig_structure that Parse copied the
	// payload into: Payload is its tail (see sigStructure).
	tbs []byte
}

// sigInPlaceMin is the payload size from which Parse copies the payload
// into its Sig_structure; sigHeadMax bounds the Sig_structure's bytes
// other than the protected header and the payload.
const (
	sigInPlaceMin = 64 << 10
	sigHeadMax    = 2 + len("Signature1") + 5 + 1 + 5 // appendBytesHead writes at most 5 bytes
)

// KID returns the key id from the protected header, or from the
// unprotected one when the protected header has none.
func (m *Sign1) KID() []byte {
	if m.Protected.KID != nil {
		return m.Protected.KID
	}
	return m.Unprotected.KID
}

// Alg returns the algorithm, from the protected header first.
func (m *Sign1) Alg() (int64, bool) {
	if m.Protected.HasAlg {
		return m.Protected.Alg, true
	}
	return m.Unprotected.Alg, m.Unprotected.HasAlg
}

var decMode = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		MaxNestedLevels:  16,
		MaxArrayElements: 4096,
		MaxMapPairs:      4096,
		IndefLength:      cbor.IndefLengthAllowed,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// DecMode is the CBOR decoding mode for outside bytes: duplicate map keys
// are refused and sizes are bounded.
func DecMode() cbor.DecMode { return decMode }

// rawSign1 is the COSE_Sign1 array.
type rawSign1 struct {
	_           struct{} `cbor:",toarray"`
	Protected   []byte
	Unprotected cbor.RawMessage
	Payload     []byte
	Signature   []byte
}

// rawHeader decodes the parameters Sentinel reads; others are ignored.
type rawHeader struct {
	Alg cbor.RawMessage `cbor:"1,keyasint,omitempty"`
	KID cbor.RawMessage `cbor:"4,keyasint,omitempty"`
}

// stripTags removes an optional CWT tag and an optional COSE_Sign1 tag.
func stripTags(b []byte) ([]byte, error) {
	for _, want := range []uint64{TagCWT, TagSign1} {
		tag, n, ok := readTag(b)
		if !ok {
			break
		}
		if tag != want {
			if tag == TagSign1 && want == TagCWT {
				continue // no CWT tag; try the Sign1 tag
			}
			return nil, fmt.Errorf("%w: unexpected CBOR tag %d", ErrMalformed, tag)
		}
		b = b[n:]
	}
	return b, nil
}

// readTag reads a CBOR tag head: major type 6.
func readTag(b []byte) (tag uint64, n int, ok bool) {
	if len(b) == 0 || b[0]>>5 != 6 {
		return 0, 0, false
	}
	ai := b[0] & 0x1f
	switch {
	case ai < 24:
		return uint64(ai), 1, true
	case ai == 24 && len(b) >= 2:
		return uint64(b[1]), 2, true
	case ai == 25 && len(b) >= 3:
		return uint64(b[1])<<8 | uint64(b[2]), 3, true
	case ai == 26 && len(b) >= 5:
		return uint64(b[1])<<24 | uint64(b[2])<<16 | uint64(b[3])<<8 | uint64(b[4]), 5, true
	}
	return 0, 0, false
}

// Parse parses a COSE_Sign1 message, tagged or not, possibly inside a CWT
// tag. Nothing is verified.
func Parse(data []byte) (*Sign1, error) {
	m := new(Sign1)
	if err := m.parse(data); err != nil {
		return nil, err
	}
	if err := CheckHeaders(&m.Protected, &m.Unprotected); err != nil {
		return nil, err
	}
	return m, nil
}

// ParsePreferProtected parses like Parse, but where the unprotected
// header's alg or kid contradicts the protected one it drops the
// unprotected value instead of refusing the message, so that only what
// the signer signed is used. This is the EU DCC rule (the eHealth
// Network's hcert specification: the protected header takes precedence),
// which EU verifiers apply and which real issuers' certificates need (the
// EU test corpus marks such a certificate valid, common/CO21). Our own
// formats use Parse, which refuses the contradiction (RFC 9052 §3).
func ParsePreferProtected(data []byte) (*Sign1, error) {
	m := new(Sign1)
	if err := m.parse(data); err != nil {
		return nil, err
	}
	p, u := &m.Protected, &m.Unprotected
	if p.HasAlg && u.HasAlg && p.Alg != u.Alg {
		u.HasAlg, u.Alg = false, 0
	}
	if p.KID != nil && u.KID != nil && !bytes.Equal(p.KID, u.KID) {
		u.KID = nil
	}
	return m, nil
}

func (m *Sign1) parse(data []byte) error {
	body, err := stripTags(data)
	if err != nil {
		return err
	}
	if len(body) == 0 || body[0] != 0x84 {
		return fmt.Errorf("%w: not a COSE_Sign1 array of four items", ErrMalformed)
	}
	if m.parseFast(body) {
		return nil
	}
	return m.parseLib(body)
}

// parseLib parses a COSE_Sign1 array with the CBOR library.
func (m *Sign1) parseLib(body []byte) error {
	var raw rawSign1
	if err := decMode.Unmarshal(body, &raw); err != nil {
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	if raw.Signature == nil {
		return fmt.Errorf("%w: no signature", ErrMalformed)
	}
	if raw.Payload == nil {
		return fmt.Errorf("%w: detached or missing payload", ErrMalformed)
	}
	m.RawProtected = raw.Protected
	m.Payload = raw.Payload
	m.Signature = raw.Signature
	if len(raw.Protected) > 0 {
		if err := parseHeader(raw.Protected, &m.Protected); err != nil {
			return fmt.Errorf("%w: protected header: %v", ErrMalformed, err)
		}
	}
	if len(raw.Unprotected) > 0 {
		if err := parseHeader(raw.Unprotected, &m.Unprotected); err != nil {
			return fmt.Errorf("%w: unprotected header: %v", ErrMalformed, err)
		}
	}
	return nil
}

// CheckHeaders refuses an unprotected header whose alg or kid contradicts
// the protected one (RFC 9052 §3: the buckets should be disjoint). An
// unsigned parameter that disagrees with the signed one can only mislead:
// a verifier picking the unprotected kid or alg would check the signature
// under a key or algorithm the signer never chose. The same value in both
// buckets is accepted, as some EU DCC issuers repeat the kid, and a
// parameter only in the unprotected bucket is read from there. The error
// wraps ErrMalformed.
func CheckHeaders(protected, unprotected *Header) error {
	if protected.HasAlg && unprotected.HasAlg && protected.Alg != unprotected.Alg {
		return fmt.Errorf("%w: the unprotected header's alg %d contradicts the protected alg %d",
			ErrMalformed, unprotected.Alg, protected.Alg)
	}
	if protected.KID != nil && unprotected.KID != nil && !bytes.Equal(protected.KID, unprotected.KID) {
		return fmt.Errorf("%w: the unprotected header's kid %x contradicts the protected kid %x",
			ErrMalformed, unprotected.KID, protected.KID)
	}
	return nil
}

func parseHeader(b []byte, h *Header) error {
	if b[0]>>5 != 5 {
		return errors.New("not a map")
	}
	var rh rawHeader
	if err := decMode.Unmarshal(b, &rh); err != nil {
		return err
	}
	if len(rh.Alg) > 0 {
		if err := decMode.Unmarshal(rh.Alg, &h.Alg); err != nil {
			return fmt.Errorf("alg is not an integer: %v", err)
		}
		h.HasAlg = true
	}
	if len(rh.KID) > 0 {
		if err := decMode.Unmarshal(rh.KID, &h.KID); err != nil {
			return fmt.Errorf("kid is not a byte string: %v", err)
		}
		if h.KID == nil {
			h.KID = []byte{}
		}
	}
	return nil
}

// AppendSigStructure appends the Sig_structure that a COSE_Sign1 signs:
// ["Signature1", protected, external_aad, payload], with an empty
// external_aad.
func (m *Sign1) AppendSigStructure(dst []byte) []byte {
	return appendSigStructure(dst, m.RawProtected, m.Payload)
}

func appendSigStructure(dst, protected, payload []byte) []byte {
	return append(appendSigHead(dst, protected, len(payload)), payload...)
}

// appendSigHead appends the Sig_structure up to its payload of n bytes.
func appendSigHead(dst, protected []byte, n int) []byte {
	dst = append(dst, 0x84, 0x6a)
	dst = append(dst, "Signature1"...)
	dst = appendBytesHead(dst, len(protected))
	dst = append(dst, protected...)
	dst = append(dst, 0x40) // external_aad: empty byte string
	return appendBytesHead(dst, n)
}

// appendBytesHead appends the head of a CBOR byte string of length n.
func appendBytesHead(dst []byte, n int) []byte {
	const major = 2 << 5
	switch {
	case n < 24:
		return append(dst, major|byte(n))
	case n <= 0xff:
		return append(dst, major|24, byte(n))
	case n <= 0xffff:
		return append(dst, major|25, byte(n>>8), byte(n))
	default:
		return append(dst, major|26, byte(n>>24), byte(n>>16), byte(n>>8), byte(n))
	}
}

// Verify checks the signature with key (an ed25519.PublicKey,
// *ecdsa.PublicKey or *rsa.PublicKey) under the message's algorithm.
func (m *Sign1) Verify(key crypto.PublicKey) error {
	alg, ok := m.Alg()
	if !ok {
		return fmt.Errorf("%w: no algorithm in the header", ErrAlgorithm)
	}
	var buf [512]byte
	return VerifySignature(alg, key, m.sigStructure(buf[:0]), m.Signature)
}

// sigStructure returns the Sig_structure m signs: the one Parse made for
// a big payload while Payload is still its tail and RawProtected still
// gives its head (a caller may have changed either), else one appended
// to dst.
func (m *Sign1) sigStructure(dst []byte) []byte {
	n := len(m.Payload)
	if len(m.tbs) > n && n > 0 && &m.tbs[len(m.tbs)-n] == &m.Payload[0] {
		if bytes.Equal(appendSigHead(dst, m.RawProtected, n), m.tbs[:len(m.tbs)-n]) {
			return m.tbs
		}
	}
	return appendSigStructure(dst, m.RawProtected, m.Payload)
}

// VerifySignature checks sig over msg with key under the COSE algorithm
// alg. ECDSA signatures are the fixed-length r‖s of RFC 9053.
func VerifySignature(alg int64, key crypto.PublicKey, msg, sig []byte) error {
	switch alg {
	case AlgEdDSA:
		pub, ok := key.(ed25519.PublicKey)
		if !ok {
			return fmt.Errorf("%w: EdDSA with a %T key", ErrAlgorithm, key)
		}
		if !ed25519.Verify(pub, msg, sig) {
			return ErrSignature
		}
		return nil
	case AlgES256, AlgES384, AlgES512:
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: ECDSA algorithm %d with a %T key", ErrAlgorithm, alg, key)
		}
		curve := ecCurve(alg)
		if pub.Curve != curve {
			return fmt.Errorf("%w: algorithm %d needs %s, the key is on %s",
				ErrAlgorithm, alg, curve.Params().Name, pub.Curve.Params().Name)
		}
		size := (curve.Params().BitSize + 7) / 8
		if len(sig) != 2*size {
			return fmt.Errorf("%w: ECDSA signature of %d bytes, want %d", ErrSignature, len(sig), 2*size)
		}
		var sum [64]byte
		return verifyECDSA(pub, ecDigest(alg, msg, &sum), sig, size)
	case AlgPS256:
		digest := sha256.Sum256(msg)
		return verifyPS256(key, &digest, sig)
	}
	return fmt.Errorf("%w: algorithm %d", ErrAlgorithm, alg)
}

// VerifyDigest is VerifySignature for the algorithms that hash with
// SHA-256 (ES256 and PS256), given the SHA-256 digest of the message: a
// caller that needs the digest anyway (a fingerprint) hashes once. Other
// algorithms are ErrAlgorithm.
func VerifyDigest(alg int64, key crypto.PublicKey, digest *[sha256.Size]byte, sig []byte) error {
	switch alg {
	case AlgES256:
		pub, ok := key.(*ecdsa.PublicKey)
		if !ok {
			return fmt.Errorf("%w: ECDSA algorithm %d with a %T key", ErrAlgorithm, alg, key)
		}
		if pub.Curve != elliptic.P256() {
			return fmt.Errorf("%w: algorithm %d needs P-256, the key is on %s", ErrAlgorithm, alg, pub.Curve.Params().Name)
		}
		if len(sig) != 64 {
			return fmt.Errorf("%w: ECDSA signature of %d bytes, want 64", ErrSignature, len(sig))
		}
		return verifyECDSA(pub, digest[:], sig, 32)
	case AlgPS256:
		return verifyPS256(key, digest, sig)
	}
	return fmt.Errorf("%w: algorithm %d does not hash with SHA-256", ErrAlgorithm, alg)
}

// verifyECDSA checks the r‖s signature sig, each half size bytes, over
// digest. It hands ecdsa.VerifyASN1 the signature in DER directly, which
// ecdsa.Verify would build from two big.Int.
func verifyECDSA(pub *ecdsa.PublicKey, digest, sig []byte, size int) error {
	var buf [3 + 2*(3+66)]byte
	if !ecdsa.VerifyASN1(pub, digest, appendSignatureDER(buf[:0], sig[:size], sig[size:])) {
		return ErrSignature
	}
	return nil
}

// appendSignatureDER appends the DER encoding of the ECDSA signature
// SEQUENCE { r INTEGER, s INTEGER } for the big-endian unsigned r and s.
func appendSignatureDER(dst, r, s []byte) []byte {
	var body [2 * (3 + 66)]byte
	b := appendDERUint(appendDERUint(body[:0], r), s)
	if len(b) < 0x80 {
		dst = append(dst, 0x30, byte(len(b)))
	} else {
		dst = append(dst, 0x30, 0x81, byte(len(b)))
	}
	return append(dst, b...)
}

// appendDERUint appends a DER INTEGER of the big-endian unsigned n (at
// most 127 bytes): no leading zeros, a zero byte before a high bit.
func appendDERUint(dst, n []byte) []byte {
	for len(n) > 0 && n[0] == 0 {
		n = n[1:]
	}
	pad := len(n) == 0 || n[0]&0x80 != 0
	l := len(n)
	if pad {
		l++
	}
	dst = append(dst, 0x02, byte(l))
	if pad {
		dst = append(dst, 0)
	}
	return append(dst, n...)
}

func verifyPS256(key crypto.PublicKey, digest *[sha256.Size]byte, sig []byte) error {
	pub, ok := key.(*rsa.PublicKey)
	if !ok {
		return fmt.Errorf("%w: PS256 with a %T key", ErrAlgorithm, key)
	}
	// RFC 8230 fixes the salt at the hash length; Auto also accepts
	// that and is what issuers in the field were tested against.
	if err := rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthAuto}); err != nil {
		return ErrSignature
	}
	return nil
}

func ecCurve(alg int64) elliptic.Curve {
	switch alg {
	case AlgES384:
		return elliptic.P384()
	case AlgES512:
		return elliptic.P521()
	}
	return elliptic.P256()
}

// ecDigest returns msg's digest under the hash of an ECDSA algorithm, in
// sum. It calls the hash functions, not a hash.Hash: msg passed to an
// interface's Write would escape, and with it the stack buffer Verify
// builds the Sig_structure in, a heap allocation per code verified.
func ecDigest(alg int64, msg []byte, sum *[64]byte) []byte {
	switch alg {
	case AlgES384:
		d := sha512.Sum384(msg)
		return append(sum[:0], d[:]...)
	case AlgES512:
		d := sha512.Sum512(msg)
		return append(sum[:0], d[:]...)
	}
	d := sha256.Sum256(msg)
	return append(sum[:0], d[:]...)
}

// AlgFor returns the COSE algorithm for a signing key: EdDSA for Ed25519,
// ES256/ES384/ES512 by curve, PS256 for RSA.
func AlgFor(pub crypto.PublicKey) (int64, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		return AlgEdDSA, nil
	case *ecdsa.PublicKey:
		switch k.Curve {
		case elliptic.P256():
			return AlgES256, nil
		case elliptic.P384():
			return AlgES384, nil
		case elliptic.P521():
			return AlgES512, nil
		}
	case *rsa.PublicKey:
		return AlgPS256, nil
	}
	return 0, fmt.Errorf("%w: no COSE algorithm for a %T key", ErrAlgorithm, pub)
}

// Sign makes a tagged COSE_Sign1 over payload with signer, putting the
// algorithm and kid in the protected header. rnd may be nil for
// crypto/rand.
func Sign(rnd io.Reader, signer crypto.Signer, kid, payload []byte) ([]byte, error) {
	alg, err := AlgFor(signer.Public())
	if err != nil {
		return nil, err
	}
	hdr := map[int]any{1: alg}
	if kid != nil {
		hdr[4] = kid
	}
	protected, err := encMode.Marshal(hdr)
	if err != nil {
		return nil, fmt.Errorf("cose: encode header: %w", err)
	}
	sig, err := SignRaw(rnd, signer, alg, appendSigStructure(nil, protected, payload))
	if err != nil {
		return nil, err
	}
	return encMode.Marshal(cbor.Tag{Number: TagSign1, Content: []any{protected, map[int]any{}, payload, sig}})
}

// SignRaw signs msg with signer under alg, returning a COSE-form
// signature (r‖s for ECDSA).
func SignRaw(rnd io.Reader, signer crypto.Signer, alg int64, msg []byte) ([]byte, error) {
	if rnd == nil {
		rnd = rand.Reader
	}
	switch alg {
	case AlgEdDSA:
		return signer.Sign(rnd, msg, crypto.Hash(0))
	case AlgES256, AlgES384, AlgES512:
		priv, ok := signer.(*ecdsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("%w: ECDSA signing needs an *ecdsa.PrivateKey", ErrAlgorithm)
		}
		curve := ecCurve(alg)
		if priv.Curve != curve {
			return nil, fmt.Errorf("%w: algorithm %d with a key on %s", ErrAlgorithm, alg, priv.Curve.Params().Name)
		}
		var sum [64]byte
		r, s, err := ecdsa.Sign(rnd, priv, ecDigest(alg, msg, &sum))
		if err != nil {
			return nil, fmt.Errorf("cose: sign: %w", err)
		}
		size := (curve.Params().BitSize + 7) / 8
		sig := make([]byte, 2*size)
		r.FillBytes(sig[:size])
		s.FillBytes(sig[size:])
		return sig, nil
	case AlgPS256:
		digest := sha256.Sum256(msg)
		return signer.Sign(rnd, digest[:], &rsa.PSSOptions{SaltLength: rsa.PSSSaltLengthEqualsHash, Hash: crypto.SHA256})
	}
	return nil, fmt.Errorf("%w: algorithm %d", ErrAlgorithm, alg)
}

var encMode = func() cbor.EncMode {
	em, err := cbor.CoreDetEncOptions().EncMode()
	if err != nil {
		panic(err)
	}
	return em
}()

// EncMode is the deterministic CBOR encoding (RFC 8949 §4.2.1) used for
// everything Sentinel signs or chains.
func EncMode() cbor.EncMode { return encMode }
