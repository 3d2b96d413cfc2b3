package healthcode

import (
	"bytes"
	"compress/zlib"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/x509"
	"fmt"
	"io"
	"time"

	"sentinel/crypto/base45"
	"sentinel/crypto/cose"
	"sentinel/crypto/credential"
	"sentinel/crypto/trust"
)

// Claims are what an issuer states about a holder in one code.
type Claims struct {
	// Index is the holder's number at the issuer.
	Index uint32
	// Colour is green, yellow or red.
	Colour credential.Colour
	// ColourSince is when the colour took effect; zero means the time of
	// issuance. It may not be after the time of issuance.
	ColourSince time.Time
	// DisplayName is the masked name shown to the guard ("Zhang *"), or
	// empty. The issuer masks (credential.MaskName); a name that does not
	// end in " *" is refused.
	DisplayName string
	// TTL is the code's lifetime; zero means DefaultTTL. At most MaxTTL
	// with a holder key and MaxPaperTTL without.
	TTL time.Duration
	// HolderKey is the holder's public key (ed25519.PublicKey or a P-256
	// *ecdsa.PublicKey) for rolling presentations; nil makes a paper code.
	HolderKey crypto.PublicKey
	// IssuedAt is the time of issuance; zero means the issuer's clock.
	IssuedAt time.Time
}

// IssuerOptions are optional settings of an Issuer.
type IssuerOptions struct {
	// Clock returns the time of issuance; nil means time.Now.
	Clock func() time.Time
	// Rand is the randomness for ES256 signatures; nil means crypto/rand.
	Rand io.Reader
}

// Issuer signs native codes for one issuer (a region) with one key.
// It is safe for concurrent use.
type Issuer struct {
	id     string
	signer crypto.Signer
	kid    trust.KeyID
	clock  func() time.Time
	rand   io.Reader
}

// NewIssuer returns an issuer for region id (as trust.ValidIssuer checks
// it) signing with signer, an ed25519.PrivateKey or a P-256
// *ecdsa.PrivateKey. opts may be nil.
func NewIssuer(id string, signer crypto.Signer, opts *IssuerOptions) (*Issuer, error) {
	if err := trust.ValidIssuer(id); err != nil {
		return nil, fmt.Errorf("healthcode: new issuer: %w", err)
	}
	switch k := signer.Public().(type) {
	case ed25519.PublicKey:
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("%w: issuer ECDSA keys must be P-256", ErrKey)
		}
	default:
		return nil, fmt.Errorf("%w: %T as an issuer key (want Ed25519 or P-256)", ErrKey, k)
	}
	der, err := x509.MarshalPKIXPublicKey(signer.Public())
	if err != nil {
		return nil, fmt.Errorf("healthcode: new issuer: %w", err)
	}
	is := &Issuer{id: id, signer: signer, kid: trust.KeyIDOf(der), clock: time.Now}
	if opts != nil {
		if opts.Clock != nil {
			is.clock = opts.Clock
		}
		is.rand = opts.Rand
	}
	return is, nil
}

// KeyID returns the key id of the issuer's key.
func (is *Issuer) KeyID() trust.KeyID { return is.kid }

// ID returns the issuer's region id.
func (is *Issuer) ID() string { return is.id }

// Issue signs c and returns the code's text: "HCN1:" and the Base45 of
// the zlib-compressed COSE_Sign1.
func (is *Issuer) Issue(c Claims) (string, error) {
	m, err := is.claimsMap(c)
	if err != nil {
		return "", err
	}
	return is.issueMap(m)
}

// claimsMap checks c and returns its CWT claims map.
func (is *Issuer) claimsMap(c Claims) (map[int64]any, error) {
	if c.Colour < credential.ColourGreen || c.Colour > credential.ColourRed {
		return nil, fmt.Errorf("%w: colour %d is not green, yellow or red", ErrClaims, c.Colour)
	}
	if err := validName([]byte(c.DisplayName)); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrClaims, err)
	}
	iat := c.IssuedAt
	if iat.IsZero() {
		iat = is.clock()
	}
	if iat.Unix() <= 0 {
		return nil, fmt.Errorf("%w: issuance time %s is before 1970: is the clock set?", ErrClaims, iat)
	}
	since := c.ColourSince
	if since.IsZero() {
		since = iat
	}
	if since.Unix() < 0 || since.Unix() > iat.Unix() {
		return nil, fmt.Errorf("%w: colour since %s is after issuance %s or before 1970", ErrClaims, since.Format(time.RFC3339), iat.Format(time.RFC3339))
	}
	ttl := c.TTL
	if ttl == 0 {
		ttl = DefaultTTL
	}
	max := MaxTTL
	if c.HolderKey == nil {
		max = MaxPaperTTL
	}
	if ttl < time.Second || ttl > max {
		return nil, fmt.Errorf("%w: lifetime %v outside 1s to %v", ErrClaims, ttl, max)
	}
	m := map[int64]any{
		claimIss:         is.id,
		claimIat:         uint64(iat.Unix()),
		claimExp:         uint64(iat.Unix()) + uint64(ttl/time.Second),
		ClaimVersion:     uint64(Version),
		ClaimIndex:       uint64(c.Index),
		ClaimColour:      uint64(c.Colour),
		ClaimColourSince: uint64(since.Unix()),
	}
	if c.DisplayName != "" {
		m[ClaimName] = c.DisplayName
	}
	if c.HolderKey != nil {
		k, err := encodeCOSEKey(c.HolderKey)
		if err != nil {
			return nil, err
		}
		m[claimCnf] = map[int64]any{cnfKey: k}
	}
	return m, nil
}

// issueMap signs a claims map and encodes the code.
func (is *Issuer) issueMap(m map[int64]any) (string, error) {
	payload, err := cose.EncMode().Marshal(m)
	if err != nil {
		return "", fmt.Errorf("healthcode: encode claims: %w", err)
	}
	msg, err := cose.Sign(is.rand, is.signer, is.kid[:], payload)
	if err != nil {
		return "", fmt.Errorf("healthcode: sign: %w", err)
	}
	return encodeText(msg), nil
}

// encodeText compresses and encodes CBOR bytes behind the prefix.
func encodeText(b []byte) string {
	var buf bytes.Buffer
	w, _ := zlib.NewWriterLevel(&buf, zlib.BestCompression) // the level is valid
	w.Write(b)                                              // a bytes.Buffer does not fail
	w.Close()
	out := make([]byte, 0, len(Prefix)+base45.EncodedLen(buf.Len()))
	out = append(out, Prefix...)
	return string(base45.AppendEncode(out, buf.Bytes()))
}
