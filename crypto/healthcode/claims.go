package healthcode

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"sentinel/crypto/cose"
	"sentinel/crypto/credential"
)

// COSE_Key parameters (RFC 9052 §7, RFC 9053) for holder keys.
const (
	keyKty   = 1
	keyKid   = 2
	keyAlg   = 3
	keyCrv   = -1
	keyX     = -2
	keyY     = -3
	ktyOKP   = 1
	ktyEC2   = 2
	crvP256  = 1
	crvEd255 = 6
	cnfKey   = 1 // cnf confirmation method: COSE_Key (RFC 8747 §3.1)
)

// maxClaims bounds the number of entries in a claims map.
const maxClaims = 32

// Bits of claims.seen for the required claims.
const (
	seenIss = 1 << iota
	seenExp
	seenIat
	seenVer
	seenIndex
	seenColour
	seenSince
	seenAll = seenIss | seenExp | seenIat | seenVer | seenIndex | seenColour | seenSince
)

// claims are the decoded claims of a native code, not yet verified.
type claims struct {
	iss     []byte // aliases the decoded bytes; compared, then the key's string is used
	exp     uint64
	iat     uint64
	since   uint64
	version uint64
	index   uint32
	colour  uint64
	name    []byte
	holder  crypto.PublicKey // nil for a paper code
	seen    int

	// invalid is the first rule of the format that the claims break
	// although they are well-formed CBOR; Verify reports it, as
	// ReasonSchema, once the signature has verified.
	invalid error
}

// setInvalid records the first semantic problem.
func (c *claims) setInvalid(format string, args ...any) {
	if c.invalid == nil {
		c.invalid = fmt.Errorf(format, args...)
	}
}

// knownClaim reports whether this verifier understands claim key k.
func knownClaim(k int64) bool {
	switch k {
	case claimIss, claimExp, claimIat, claimCnf,
		ClaimVersion, ClaimCrit, ClaimIndex, ClaimColour, ClaimColourSince, ClaimName:
		return true
	}
	return false
}

// parseClaims decodes a claims map. A malformed map is an error (reported
// as ReasonBadStructure); a well-formed map that breaks a rule of the
// format sets c.invalid.
func parseClaims(b []byte, c *claims) error {
	count, off, err := readContainer(b, majorMap)
	if err != nil {
		return fmt.Errorf("claims: %w", err)
	}
	if count > maxClaims {
		return fmt.Errorf("claims: %d entries, at most %d", count, maxClaims)
	}
	var keys [maxClaims][]byte
	for i := range count {
		kb := b[off:]
		klen, err := skip(kb, 1)
		if err != nil {
			return fmt.Errorf("claims: key: %w", err)
		}
		if m := kb[0] >> 5; m != majorUint && m != majorNeg && m != majorText {
			return fmt.Errorf("claims: key of CBOR major type %d (want an integer or text)", m)
		}
		keys[i] = kb[:klen]
		for _, prev := range keys[:i] {
			if sameKey(prev, keys[i]) {
				return fmt.Errorf("claims: duplicate key %x", keys[i])
			}
		}
		off += klen
		v := b[off:]
		key, _, kerr := readInt(kb)
		if kerr != nil && kb[0]>>5 != majorText {
			return fmt.Errorf("claims: key: %w", kerr)
		}
		if kerr != nil || !knownClaim(key) {
			// Unknown (or text-keyed) claims are ignored unless crit
			// names them: forward compatibility.
			n, err := skip(v, 1)
			if err != nil {
				return fmt.Errorf("claims: value of key %x: %w", keys[i], err)
			}
			off += n
			continue
		}
		n, err := c.parseClaim(key, v)
		if err != nil {
			return fmt.Errorf("claims: claim %d: %w", key, err)
		}
		off += n
	}
	if off != len(b) {
		return fmt.Errorf("claims: %d bytes after the claims map", len(b)-off)
	}
	if c.seen&seenAll != seenAll {
		return fmt.Errorf("claims: missing %s", missing(c.seen))
	}
	return nil
}

// missing names the required claims absent from seen.
func missing(seen int) string {
	var names []string
	for _, m := range []struct {
		bit  int
		name string
	}{
		{seenIss, "iss (1)"}, {seenExp, "exp (4)"}, {seenIat, "iat (6)"},
		{seenVer, "version (-65537)"}, {seenIndex, "index (-65539)"},
		{seenColour, "colour (-65540)"}, {seenSince, "colour-since (-65541)"},
	} {
		if seen&m.bit == 0 {
			names = append(names, m.name)
		}
	}
	return strings.Join(names, ", ")
}

// parseClaim decodes the value of known claim key from v and returns its
// length.
func (c *claims) parseClaim(key int64, v []byte) (int, error) {
	switch key {
	case claimIss, ClaimName:
		s, n, err := readString(v, majorText)
		if err != nil {
			return 0, err
		}
		if key == claimIss {
			c.iss = s
			c.seen |= seenIss
		} else {
			c.name = s
		}
		return n, nil
	case claimExp, claimIat, ClaimColourSince, ClaimVersion, ClaimColour, ClaimIndex:
		u, n, err := readUint(v)
		if err != nil {
			return 0, err
		}
		switch key {
		case claimExp:
			c.exp, c.seen = u, c.seen|seenExp
		case claimIat:
			c.iat, c.seen = u, c.seen|seenIat
		case ClaimColourSince:
			c.since, c.seen = u, c.seen|seenSince
		case ClaimVersion:
			c.version, c.seen = u, c.seen|seenVer
		case ClaimColour:
			c.colour, c.seen = u, c.seen|seenColour
		case ClaimIndex:
			if u > 0xffffffff {
				return 0, fmt.Errorf("index %d does not fit 32 bits", u)
			}
			c.index, c.seen = uint32(u), c.seen|seenIndex
		}
		return n, nil
	case ClaimCrit:
		count, off, err := readContainer(v, majorArray)
		if err != nil {
			return 0, err
		}
		if count == 0 {
			return 0, errors.New("empty crit list")
		}
		for range count {
			k, n, err := readInt(v[off:])
			if err != nil {
				return 0, fmt.Errorf("crit: %w", err)
			}
			off += n
			if !knownClaim(k) {
				c.setInvalid("critical claim %d is not understood by this terminal: update its software", k)
			}
		}
		return off, nil
	case claimCnf:
		return c.parseCnf(v)
	}
	panic("healthcode: parseClaim called with an unknown key")
}

// parseCnf decodes the cnf claim: {1: COSE_Key}.
func (c *claims) parseCnf(v []byte) (int, error) {
	count, off, err := readContainer(v, majorMap)
	if err != nil {
		return 0, err
	}
	found := false
	for range count {
		k, n, err := readInt(v[off:])
		if err != nil {
			return 0, fmt.Errorf("cnf: %w", err)
		}
		off += n
		if k != cnfKey || found {
			n, err := skip(v[off:], 2)
			if err != nil {
				return 0, fmt.Errorf("cnf: %w", err)
			}
			off += n
			if k == cnfKey {
				return 0, errors.New("cnf: duplicate COSE_Key")
			}
			continue
		}
		found = true
		n, err = c.parseCOSEKey(v[off:])
		if err != nil {
			return 0, fmt.Errorf("cnf: COSE_Key: %w", err)
		}
		off += n
	}
	if !found {
		// A holder binding this terminal cannot check must not turn the
		// code into a paper code.
		c.setInvalid("cnf claim without a COSE_Key (only method 1 is supported)")
	}
	return off, nil
}

// parseCOSEKey decodes a holder's COSE_Key: an Ed25519 (OKP) or P-256
// (EC2) public key.
func (c *claims) parseCOSEKey(v []byte) (int, error) {
	count, off, err := readContainer(v, majorMap)
	if err != nil {
		return 0, err
	}
	var kty, crv, alg int64
	var x, y []byte
	var seen [8]int64
	if count > len(seen) {
		return 0, fmt.Errorf("%d parameters, at most %d", count, len(seen))
	}
	for i := range count {
		k, n, err := readInt(v[off:])
		if err != nil {
			return 0, err
		}
		off += n
		for _, p := range seen[:i] {
			if p == k {
				return 0, fmt.Errorf("duplicate parameter %d", k)
			}
		}
		seen[i] = k
		switch k {
		case keyKty, keyCrv, keyAlg:
			val, n, err := readInt(v[off:])
			if err != nil {
				return 0, fmt.Errorf("parameter %d: %w", k, err)
			}
			off += n
			switch k {
			case keyKty:
				kty = val
			case keyCrv:
				crv = val
			default:
				alg = val
			}
		case keyX, keyY:
			s, n, err := readString(v[off:], majorBytes)
			if err != nil {
				return 0, fmt.Errorf("parameter %d: %w", k, err)
			}
			off += n
			if k == keyX {
				x = s
			} else {
				y = s
			}
		default: // kid, key_ops and others are ignored
			n, err := skip(v[off:], 3)
			if err != nil {
				return 0, fmt.Errorf("parameter %d: %w", k, err)
			}
			off += n
		}
	}
	switch {
	case kty == ktyOKP && crv == crvEd255 && (alg == 0 || alg == cose.AlgEdDSA) && len(x) == ed25519.PublicKeySize && y == nil:
		c.holder = ed25519.PublicKey(x) // aliases the decoded bytes, which nothing writes
	case kty == ktyEC2 && crv == crvP256 && (alg == 0 || alg == cose.AlgES256) && len(x) == 32 && len(y) == 32:
		var pt [65]byte
		pt[0] = 4
		copy(pt[1:], x)
		copy(pt[33:], y)
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), pt[:])
		if err != nil {
			c.setInvalid("holder key: %v", err)
			break
		}
		c.holder = pub
	default:
		c.setInvalid("holder key of type %d, curve %d, algorithm %d is not supported (want Ed25519 or P-256)", kty, crv, alg)
	}
	return off, nil
}

// check applies the rules of the format that need no clock, after the
// signature has verified.
func (c *claims) check() error {
	if c.invalid != nil {
		return c.invalid
	}
	if c.version != Version {
		return fmt.Errorf("format version %d is not supported (this terminal reads version %d): update its software", c.version, Version)
	}
	if err := validIssuer(c.iss); err != nil {
		return err
	}
	if c.colour < uint64(credential.ColourGreen) || c.colour > uint64(credential.ColourRed) {
		return fmt.Errorf("colour %d is not 1 (green), 2 (yellow) or 3 (red)", c.colour)
	}
	if err := validName(c.name); err != nil {
		return err
	}
	if c.since > c.iat {
		return fmt.Errorf("colour took effect (%d) after the code was issued (%d)", c.since, c.iat)
	}
	if c.exp <= c.iat {
		return fmt.Errorf("expiry (%d) is not after issuance (%d)", c.exp, c.iat)
	}
	max := MaxTTL
	if c.holder == nil {
		max = MaxPaperTTL
	}
	if c.exp-c.iat > uint64(max/time.Second) {
		return fmt.Errorf("lifetime of %ds exceeds the %v allowed", c.exp-c.iat, max)
	}
	if c.iat > 1<<40 { // beyond year 36812: no time.Time arithmetic surprises
		return fmt.Errorf("issuance time %d out of range", c.iat)
	}
	return nil
}

// validIssuer checks an issuer id like trust.ValidIssuer, without its
// allocations.
func validIssuer[T string | []byte](s T) error {
	if len(s) == 0 || len(s) > 16 {
		return fmt.Errorf("issuer %q must be 1 to 16 characters", s)
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
			return fmt.Errorf("issuer %q may hold only A-Z, 0-9 and '-'", s)
		}
	}
	return nil
}

// validName checks a masked display name: empty, or at most MaxNameLen
// bytes of printable UTF-8 ending in " *" (the issuer masks; a name that
// does not look masked is refused).
func validName(s []byte) error {
	if len(s) == 0 {
		return nil
	}
	if len(s) > MaxNameLen {
		return fmt.Errorf("display name of %d bytes exceeds %d", len(s), MaxNameLen)
	}
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRune(s[i:])
		if r == utf8.RuneError && n <= 1 {
			return errors.New("display name is not UTF-8")
		}
		if !unicode.IsPrint(r) {
			return fmt.Errorf("display name holds the unprintable character %U", r)
		}
		i += n
	}
	if len(s) < 3 || !bytes.HasSuffix(s, []byte(" *")) || len(bytes.TrimSpace(s[:len(s)-2])) == 0 {
		return fmt.Errorf("display name %q is not masked (want a family name followed by \" *\", like \"Zhang *\")", s)
	}
	return nil
}

// encodeCOSEKey returns the COSE_Key of a holder's public key as a CBOR
// value for the deterministic encoder.
func encodeCOSEKey(pub crypto.PublicKey) (map[int64]any, error) {
	switch k := pub.(type) {
	case ed25519.PublicKey:
		if len(k) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("%w: Ed25519 holder key of %d bytes", ErrKey, len(k))
		}
		return map[int64]any{keyKty: ktyOKP, keyCrv: crvEd255, keyX: []byte(k)}, nil
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: ECDSA holder keys must be P-256", ErrKey)
		}
		pt, err := k.Bytes()
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrKey, err)
		}
		return map[int64]any{keyKty: ktyEC2, keyCrv: crvP256, keyX: pt[1:33], keyY: pt[33:65]}, nil
	}
	return nil, fmt.Errorf("%w: %T as a holder key (want Ed25519 or P-256)", ErrKey, pub)
}
