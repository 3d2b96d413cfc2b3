package shc

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"

	"sentinel/crypto/credential"
	"sentinel/internal/inflate"
)

// Limits of the compact JWS, checked before any decoding.
const (
	// MaxJWS is the longest JWS accepted, from a QR code, joined chunks or
	// a file. Cards meant for one QR code stay under LegacyQRJWS.
	MaxJWS = 16 << 10
	// LegacyQRJWS is the longest JWS that fits one QR code of version 22,
	// the specification's limit for a single code; longer ones get
	// [WarnLongJWS].
	LegacyQRJWS = 1195
	// MaxHeader is the longest protected header accepted, in base64url
	// characters; a SMART Health Card header is about 100.
	MaxHeader = 512
	// maxKID bounds the kid; a thumbprint is 43 characters.
	maxKID = 128
	// sigChars is the base64url length of a 64-byte r‖s signature.
	sigChars = 86
)

// Warning is a departure from the specification that does not make a card
// invalid: the gate accepts the card and may log the warning.
type Warning string

// Warnings.
const (
	WarnSingleChunk Warning = "single code with a chunk header shc:/1/1/ (chunking is deprecated)"
	WarnChunked     Warning = "chunked QR code (deprecated by the specification)"
	WarnLongJWS     Warning = "JWS longer than 1195 characters: does not fit one QR code of version 22"
	WarnQRVersion   Warning = "QR code version above 22, the largest the specification allows"
	WarnQRInflated  Warning = "QR code version larger than its content needs"
)

// Header is the protected header of a SMART Health Card JWS.
type Header struct {
	Alg string `json:"alg"` // always "ES256" once parsed
	Zip string `json:"zip"` // always "DEF" once parsed
	Kid string `json:"kid"` // the issuer key's thumbprint
}

// Unverified is a decoded but not yet verified SMART Health Card: nothing
// in it is trustworthy until [Unverified.Verify] succeeds.
type Unverified struct {
	Header   Header
	Warnings []Warning
	// Payload is the inflated JWS payload (JSON), unverified. It holds
	// the holder's name and birth date: never log it.
	Payload []byte

	signingInput string // header "." payload, as transmitted
	sig          [64]byte
	claims       claims
}

// Decode decodes one SMART Health Card QR text (see [DecodeNumeric]) and
// parses its JWS (see [ParseJWS]). Chunked codes go through an
// [Assembler] and then ParseJWS.
func Decode(qr string) (*Unverified, error) {
	jws, warns, err := DecodeNumeric(qr)
	if err != nil {
		return nil, err
	}
	u, err := ParseJWS(jws)
	if err != nil {
		return nil, err
	}
	u.Warnings = append(warns, u.Warnings...)
	return u, nil
}

// ParseJWS parses a compact JWS of a SMART Health Card: three strict
// base64url segments (no padding, spaces, line breaks or byte-order mark),
// a header with alg ES256, zip DEF and a kid, a raw-DEFLATE payload that
// is a JSON object, and a 64-byte r‖s signature (a DER signature is
// refused). It verifies nothing.
func ParseJWS(jws string) (*Unverified, error) {
	if len(jws) > MaxJWS {
		return nil, reject(credential.ReasonTooLarge, "jws: %d characters, the limit is %d", len(jws), MaxJWS)
	}
	h, p, s, err := splitJWS(jws)
	if err != nil {
		return nil, err
	}
	u := &Unverified{signingInput: jws[:len(h)+1+len(p)]}
	if len(jws) > LegacyQRJWS {
		u.Warnings = append(u.Warnings, WarnLongJWS)
	}
	if err := u.parseHeader(h); err != nil {
		return nil, err
	}
	if err := u.parseSignature(s); err != nil {
		return nil, err
	}
	if err := u.parsePayload(p); err != nil {
		return nil, err
	}
	return u, nil
}

// splitJWS checks the alphabet and splits the three segments.
func splitJWS(jws string) (h, p, s string, err error) {
	if bytes.HasPrefix([]byte(jws), bom) {
		return "", "", "", reject(credential.ReasonBadEncoding, "jws: starts with a UTF-8 byte-order mark")
	}
	dots := 0
	for i := 0; i < len(jws); i++ {
		c := jws[i]
		switch {
		case c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_':
		case c == '.':
			dots++
			if dots == 1 {
				h = jws[:i]
			} else if dots == 2 {
				p = jws[len(h)+1 : i]
				s = jws[i+1:]
			}
		case c == ' ' || c == '\t' || c == '\r' || c == '\n':
			return "", "", "", reject(credential.ReasonBadEncoding, "jws: white space at character %d: a JWS has no spaces or line breaks", i+1)
		default:
			return "", "", "", reject(credential.ReasonBadEncoding, "jws: character %d is %q, not base64url", i+1, c)
		}
	}
	if dots != 2 {
		return "", "", "", reject(credential.ReasonBadStructure, "jws: %d dots, a compact JWS has 2 (header.payload.signature)", dots)
	}
	if h == "" || p == "" || s == "" {
		return "", "", "", reject(credential.ReasonBadStructure, "jws: empty segment")
	}
	return h, p, s, nil
}

var (
	bom = []byte{0xEF, 0xBB, 0xBF}
	b64 = base64.RawURLEncoding.Strict()
)

func (u *Unverified) parseHeader(h string) error {
	if len(h) > MaxHeader {
		return reject(credential.ReasonBadStructure, "jws: header of %d characters, the limit is %d", len(h), MaxHeader)
	}
	raw, err := b64.DecodeString(h)
	if err != nil {
		return reject(credential.ReasonBadEncoding, "jws: header: %w", err)
	}
	var hdr struct {
		Header
		Crit json.RawMessage `json:"crit"`
		B64  json.RawMessage `json:"b64"`
	}
	if err := unmarshalObject(raw, &hdr, false); err != nil {
		return reject(credential.ReasonBadStructure, "jws: header: %w", err)
	}
	switch {
	case hdr.Alg == "":
		return reject(credential.ReasonBadAlgorithm, "jws: header has no alg; SMART Health Cards use ES256")
	case hdr.Alg != "ES256":
		return reject(credential.ReasonBadAlgorithm, "jws: alg %q; SMART Health Cards use ES256", truncate(hdr.Alg, 16))
	case hdr.Zip == "":
		return reject(credential.ReasonBadCompression, "jws: header has no zip; SMART Health Card payloads are compressed (zip DEF)")
	case hdr.Zip != "DEF":
		return reject(credential.ReasonBadCompression, "jws: zip %q; SMART Health Cards use DEF", truncate(hdr.Zip, 16))
	case hdr.Kid == "":
		return reject(credential.ReasonBadStructure, "jws: header has no kid, so no issuer key can be chosen")
	case len(hdr.Kid) > maxKID:
		return reject(credential.ReasonBadStructure, "jws: kid of %d characters, the limit is %d", len(hdr.Kid), maxKID)
	case hdr.Crit != nil || hdr.B64 != nil:
		return reject(credential.ReasonBadStructure, "jws: header has crit or b64, which SMART Health Cards do not use")
	}
	u.Header = hdr.Header
	return nil
}

func (u *Unverified) parseSignature(s string) error {
	if len(s) != sigChars {
		detail := ""
		if raw, err := b64.DecodeString(s); err == nil && len(raw) > 64 && raw[0] == 0x30 {
			detail = " (DER-encoded: ES256 in a JWS is the 64-byte r‖s form of RFC 7518 section 3.4)"
		}
		return reject(credential.ReasonBadSignature, "jws: signature of %d characters, want %d%s", len(s), sigChars, detail)
	}
	n, err := b64.Decode(u.sig[:], []byte(s))
	if err != nil || n != len(u.sig) {
		return reject(credential.ReasonBadEncoding, "jws: signature is not base64url of 64 bytes")
	}
	return nil
}

func (u *Unverified) parsePayload(p string) error {
	deflated, err := b64.DecodeString(p)
	if err != nil {
		return reject(credential.ReasonBadEncoding, "jws: payload: %w", err)
	}
	u.Payload, err = inflate.Raw(make([]byte, 0, 4*len(deflated)), deflated, credential.MaxInflated)
	if err != nil {
		if errors.Is(err, inflate.ErrTooLarge) {
			return reject(credential.ReasonBadCompression, "jws: payload inflates past %d bytes", credential.MaxInflated)
		}
		return reject(credential.ReasonBadCompression, "jws: payload is not raw DEFLATE (zip DEF): %w", err)
	}
	if bytes.HasPrefix(u.Payload, bom) {
		return reject(credential.ReasonBadStructure, "jws: payload JSON starts with a UTF-8 byte-order mark")
	}
	if trimmed := bytes.TrimLeft(u.Payload, " \t\r\n"); len(trimmed) == 0 || trimmed[0] != '{' {
		return reject(credential.ReasonBadStructure, "jws: payload is not a JSON object")
	}
	var typeErr *json.UnmarshalTypeError
	switch err := json.Unmarshal(u.Payload, &u.claims); {
	case errors.As(err, &typeErr):
		u.claims.typeErr = err // valid JSON: judged after the signature
	case err != nil:
		return reject(credential.ReasonBadStructure, "jws: payload: %w", err)
	}
	return nil
}

// unmarshalObject decodes one JSON object, refusing any other JSON value
// (a payload stringified twice is a string) and data after it. strict
// also refuses white space around the object, but for one final line
// break.
func unmarshalObject(data []byte, v any, strict bool) error {
	trimmed := data
	if strict {
		trimmed = bytes.TrimSuffix(bytes.TrimSuffix(trimmed, []byte("\n")), []byte("\r"))
	} else {
		trimmed = bytes.TrimLeft(trimmed, " \t\r\n")
	}
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return errors.New("not a JSON object")
	}
	if !strict {
		return json.Unmarshal(trimmed, v) // refuses data after the object itself
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(v); err != nil {
		return err
	}
	if dec.InputOffset() != int64(len(trimmed)) {
		return fmt.Errorf("%d characters after the JSON object", len(trimmed)-int(dec.InputOffset()))
	}
	return nil
}

func reject(reason credential.Reason, format string, args ...any) *credential.Rejection {
	return credential.Reject(credential.FormatSHC, reason, format, args...)
}

// String returns the warning's text.
func (w Warning) String() string { return string(w) }
