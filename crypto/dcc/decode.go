package dcc

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"sync"

	"sentinel/crypto/base45"
	"sentinel/crypto/cose"
	"sentinel/crypto/credential"
	"sentinel/internal/inflate"
)

// Prefix is the context identifier of an EU DCC in a QR code: version 1 of
// the health certificate ("HC1:").
const Prefix = "HC1:"

var prefix = []byte(Prefix)

// Unverified is a decoded HC1 code whose signature has not been checked:
// nothing in it may be trusted or shown until Verify has succeeded. It holds
// the signed payload, which names the holder: never log it.
type Unverified struct {
	msg cose.Sign1

	digest   [sha256.Size]byte // of the Sig_structure, once digested
	digested bool
}

// KID returns the key id the code names (protected header first, then the
// unprotected one), or nil.
func (u *Unverified) KID() []byte { return u.msg.KID() }

// Alg returns the COSE signature algorithm the code names, and whether it
// names one.
func (u *Unverified) Alg() (int64, bool) { return u.msg.Alg() }

// bufPool holds scratch buffers for the Base45 and zlib stages. The COSE
// parser copies what it keeps, so the buffers go back to the pool as soon
// as Decode returns.
var bufPool = sync.Pool{New: func() any { b := make([]byte, 0, 2048); return &b }}

func getBuf() *[]byte { return bufPool.Get().(*[]byte) }

func putBuf(b *[]byte) {
	if cap(*b) > credential.MaxInflated+1024 {
		return // do not keep a hostile payload's buffer alive
	}
	*b = (*b)[:0]
	bufPool.Put(b)
}

// Decode takes an "HC1:" payload apart: the prefix, Base45, zlib and the
// COSE_Sign1 structure. It checks no signature. Errors are
// *credential.Rejection: ReasonTooLarge, ReasonUnknownFormat (no "HC1:"
// prefix, including the "HC2:" and "HL0:" contexts no issuer uses),
// ReasonBadEncoding (Base45), ReasonBadCompression (zlib damaged, too large
// or missing) or ReasonBadStructure (COSE).
func Decode(payload []byte) (*Unverified, error) {
	u := new(Unverified)
	if err := u.decode(payload); err != nil {
		return nil, err
	}
	return u, nil
}

// DecodeString is Decode for a string payload.
func DecodeString(payload string) (*Unverified, error) {
	if len(payload) > credential.MaxPayload {
		return nil, tooLarge(len(payload))
	}
	return Decode([]byte(payload))
}

func tooLarge(n int) error {
	return credential.Reject(credential.FormatDCC, credential.ReasonTooLarge,
		"payload of %d characters, the limit is %d", n, credential.MaxPayload)
}

func (u *Unverified) decode(payload []byte) error {
	body, err := unprefix(payload)
	if err != nil {
		return err
	}
	b45 := getBuf()
	defer putBuf(b45)
	*b45, err = debase45((*b45)[:0], body)
	if err != nil {
		return err
	}
	raw := getBuf()
	defer putBuf(raw)
	*raw, err = unzlib((*raw)[:0], *b45)
	if err != nil {
		return err
	}
	return u.parseCOSE(*raw)
}

// unprefix checks the length limit and strips the "HC1:" prefix.
func unprefix(payload []byte) ([]byte, error) {
	if len(payload) > credential.MaxPayload {
		return nil, tooLarge(len(payload))
	}
	if !bytes.HasPrefix(payload, prefix) {
		if i := bytes.IndexByte(payload, ':'); i > 0 && i <= 4 {
			return nil, credential.Reject(credential.FormatDCC, credential.ReasonUnknownFormat,
				"unsupported context %q, only %q is defined", payload[:i+1], Prefix)
		}
		return nil, credential.Reject(credential.FormatDCC, credential.ReasonUnknownFormat,
			"no %q prefix", Prefix)
	}
	return payload[len(prefix):], nil
}

// debase45 appends the Base45 decoding of src to dst.
func debase45(dst, src []byte) ([]byte, error) {
	out, err := base45.AppendDecode(dst, src)
	if err != nil {
		return out, credential.Reject(credential.FormatDCC, credential.ReasonBadEncoding, "%w", err)
	}
	if len(out) == 0 {
		return out, credential.Reject(credential.FormatDCC, credential.ReasonBadEncoding, "base45: empty payload")
	}
	return out, nil
}

// unzlib appends the zlib decompression of src to dst. HC1 requires
// compression: an uncompressed COSE message is refused.
func unzlib(dst, src []byte) ([]byte, error) {
	out, err := inflate.Zlib(dst, src, credential.MaxInflated)
	if err != nil {
		if errors.Is(err, inflate.ErrTooLarge) {
			return out, credential.Reject(credential.FormatDCC, credential.ReasonBadCompression,
				"zlib: more than %d bytes uncompressed: %w", credential.MaxInflated, err)
		}
		return out, credential.Reject(credential.FormatDCC, credential.ReasonBadCompression, "zlib: %w", err)
	}
	return out, nil
}

func (u *Unverified) parseCOSE(b []byte) error {
	// EU DCC: the protected header wins over a contradicting unprotected
	// one, as EU verifiers judge it (common/CO21 of the EU test corpus).
	m, err := cose.ParsePreferProtected(b)
	if err != nil {
		return credential.Reject(credential.FormatDCC, credential.ReasonBadStructure, "%w", err)
	}
	*u = Unverified{msg: *m}
	return nil
}
