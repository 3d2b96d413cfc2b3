package trust

import (
	"crypto"
	"crypto/hpke"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"slices"
	"time"

	"sentinel/crypto/cose"
	"sentinel/crypto/valueset"
)

// PseudonymKeySize is the size of the deployment's pseudonym key.
const PseudonymKeySize = 32

// TrustContent is what a trust bundle carries.
//
// # Wire format
//
// The payload of a "trust" bundle is a deterministic CBOR map:
//
//	1  native       [ {1 issuer text, 2 SPKI DER bstr, 3 not_before int,
//	                   4 not_after int, 5 revoked bool} ]   ; 0 = open bound
//	2  dsc          [ {1 certificate DER bstr, 2 revoked bool} ]
//	3  shc          [ {1 iss text, 2 JWKS JSON bstr, 3 [CRL JSON bstr]} ]
//	4  pseudonym    bstr (32 bytes): the deployment's pseudonym key
//	5  hpke         {1 KEM id uint, 2 public key bstr}: the centre's key
//	6  revoked      [ bstr (8) ]: KeyIDs of revoked delegations
//	7  valuesets    [ {1 file JSON bstr, 2 example bool} ]: the EU DCC
//	                value sets, each file as the EU distributes it
//	                (see sentinel/crypto/valueset); example marks a list
//	                that is only an example of the real one
//
// Absent entries are empty. Rotating an issuer's key means listing the new
// key beside the old one, whose not_after ends its use.
type TrustContent struct {
	Native       []NativeEntry
	DSCs         []DSCEntry
	SHC          []SHCEntry
	PseudonymKey []byte         // PseudonymKeySize bytes, or nil
	HPKE         *HPKEPublicKey // the centre's journal key, or nil
	// RevokedDelegations lists delegated signing keys the operator
	// withdrew; terminals remember them for good.
	RevokedDelegations []KeyID
	// ValueSets are the EU DCC value sets the verifier checks codes
	// against; none means the check is skipped.
	ValueSets []ValueSetEntry
}

// ValueSetEntry is one EU DCC value-set file in a trust bundle.
type ValueSetEntry struct {
	JSON    []byte // the file as the EU distributes it
	Example bool   // only an example of the real list: it cannot refuse a code
}

// ValueSetEntries turns loaded value sets into trust bundle entries.
func ValueSetEntries(ss *valueset.Sets) []ValueSetEntry {
	var out []ValueSetEntry
	for _, s := range ss.All() {
		out = append(out, ValueSetEntry{JSON: s.Raw, Example: s.Example})
	}
	return out
}

// NativeEntry is a native issuer key in a trust bundle.
type NativeEntry struct {
	Issuer string
	SPKI   []byte // SubjectPublicKeyInfo DER
	Validity
	Revoked bool
}

// DSCEntry is an EU DCC document signer certificate in a trust bundle.
type DSCEntry struct {
	Cert    []byte // DER
	Revoked bool
}

// SHCEntry is a SMART Health Card issuer's key set in a trust bundle.
type SHCEntry struct {
	Issuer string   // the iss URL
	JWKS   []byte   // the issuer's .well-known/jwks.json
	CRLs   [][]byte // its revocation lists (JSON), if any
}

// HPKEPublicKey is the centre's HPKE public key, which terminals seal
// journal identities to.
type HPKEPublicKey struct {
	KEM    uint16 // HPKE KEM id (RFC 9180), e.g. 0x0020 for DHKEM(X25519)
	Public []byte // the serialised public key
}

// Key returns the key for crypto/hpke.
func (h *HPKEPublicKey) Key() (hpke.PublicKey, error) {
	kem, err := hpke.NewKEM(h.KEM)
	if err != nil {
		return nil, fmt.Errorf("hpke key: KEM %#04x: %w", h.KEM, err)
	}
	pk, err := kem.NewPublicKey(h.Public)
	if err != nil {
		return nil, fmt.Errorf("hpke key: %w", err)
	}
	return pk, nil
}

type trustWire struct {
	Native    []nativeWire `cbor:"1,keyasint,omitempty"`
	DSC       []dscWire    `cbor:"2,keyasint,omitempty"`
	SHC       []shcWire    `cbor:"3,keyasint,omitempty"`
	Pseudonym []byte       `cbor:"4,keyasint,omitempty"`
	HPKE      *hpkeWire    `cbor:"5,keyasint,omitempty"`
	Revoked   [][]byte     `cbor:"6,keyasint,omitempty"`
	ValueSets []vsWire     `cbor:"7,keyasint,omitempty"`
}

type vsWire struct {
	JSON    []byte `cbor:"1,keyasint"`
	Example bool   `cbor:"2,keyasint,omitempty"`
}

type nativeWire struct {
	Issuer    string `cbor:"1,keyasint"`
	SPKI      []byte `cbor:"2,keyasint"`
	NotBefore int64  `cbor:"3,keyasint,omitempty"`
	NotAfter  int64  `cbor:"4,keyasint,omitempty"`
	Revoked   bool   `cbor:"5,keyasint,omitempty"`
}

type dscWire struct {
	Cert    []byte `cbor:"1,keyasint"`
	Revoked bool   `cbor:"2,keyasint,omitempty"`
}

type shcWire struct {
	Issuer string   `cbor:"1,keyasint"`
	JWKS   []byte   `cbor:"2,keyasint"`
	CRLs   [][]byte `cbor:"3,keyasint,omitempty"`
}

type hpkeWire struct {
	KEM    uint16 `cbor:"1,keyasint"`
	Public []byte `cbor:"2,keyasint"`
}

func unixOrZero(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.Unix()
}

func timeOrZero(s int64) time.Time {
	if s == 0 {
		return time.Time{}
	}
	return time.Unix(s, 0).UTC()
}

// MarshalTrustContent encodes c as a trust bundle payload, after checking
// that a terminal can load it.
func MarshalTrustContent(c *TrustContent) ([]byte, error) {
	if _, _, err := c.store(); err != nil {
		return nil, err
	}
	var w trustWire
	for _, n := range c.Native {
		w.Native = append(w.Native, nativeWire{
			Issuer: n.Issuer, SPKI: n.SPKI, Revoked: n.Revoked,
			NotBefore: unixOrZero(n.NotBefore), NotAfter: unixOrZero(n.NotAfter),
		})
	}
	for _, d := range c.DSCs {
		w.DSC = append(w.DSC, dscWire(d))
	}
	for _, s := range c.SHC {
		w.SHC = append(w.SHC, shcWire(s))
	}
	w.Pseudonym = c.PseudonymKey
	if c.HPKE != nil {
		w.HPKE = &hpkeWire{KEM: c.HPKE.KEM, Public: c.HPKE.Public}
	}
	for _, k := range c.RevokedDelegations {
		w.Revoked = append(w.Revoked, k[:])
	}
	for _, v := range c.ValueSets {
		w.ValueSets = append(w.ValueSets, vsWire(v))
	}
	out, err := cose.EncMode().Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encode trust content: %w", err)
	}
	return out, nil
}

// ParseTrustContent decodes a trust bundle payload. It checks the form
// only; LoadTrustBundle also loads the keys.
func ParseTrustContent(payload []byte) (*TrustContent, error) {
	var w trustWire
	if err := bundleDecMode.Unmarshal(payload, &w); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrTrustContent, err)
	}
	c := &TrustContent{PseudonymKey: w.Pseudonym}
	for _, n := range w.Native {
		c.Native = append(c.Native, NativeEntry{
			Issuer: n.Issuer, SPKI: n.SPKI, Revoked: n.Revoked,
			Validity: Validity{NotBefore: timeOrZero(n.NotBefore), NotAfter: timeOrZero(n.NotAfter)},
		})
	}
	for _, d := range w.DSC {
		c.DSCs = append(c.DSCs, DSCEntry(d))
	}
	for _, s := range w.SHC {
		c.SHC = append(c.SHC, SHCEntry(s))
	}
	if w.HPKE != nil {
		c.HPKE = &HPKEPublicKey{KEM: w.HPKE.KEM, Public: w.HPKE.Public}
	}
	for i, k := range w.Revoked {
		if len(k) != len(KeyID{}) {
			return nil, fmt.Errorf("%w: revoked delegation %d: a key id is %d bytes, not %d", ErrTrustContent, i, len(KeyID{}), len(k))
		}
		c.RevokedDelegations = append(c.RevokedDelegations, KeyID(k))
	}
	for _, v := range w.ValueSets {
		c.ValueSets = append(c.ValueSets, ValueSetEntry(v))
	}
	return c, nil
}

// TrustCounts sums up a trust bundle's content.
type TrustCounts struct {
	NativeKeys        int  `json:"native_keys"`
	NativeKeysRevoked int  `json:"native_keys_revoked"`
	DSCs              int  `json:"dscs"`
	DSCsRevoked       int  `json:"dscs_revoked"`
	SHCIssuers        int  `json:"shc_issuers"`
	SHCKeys           int  `json:"shc_keys"`
	PseudonymKey      bool `json:"pseudonym_key"`
	HPKEKey           bool `json:"hpke_key"`
	RevokedSigners    int  `json:"revoked_delegations"`
	ValueSets         int  `json:"value_sets"`
}

// store builds a Store from the content.
func (c *TrustContent) store() (*Store, TrustCounts, error) {
	s := New()
	var n TrustCounts
	var revoked []KeyID
	for i, e := range c.Native {
		pub, err := x509.ParsePKIXPublicKey(e.SPKI)
		if err != nil {
			return nil, n, fmt.Errorf("%w: native key %d (%s): %v", ErrTrustContent, i, e.Issuer, err)
		}
		k, err := s.AddNativeKey(e.Issuer, pub, e.Validity)
		if err != nil {
			return nil, n, fmt.Errorf("%w: native key %d: %w", ErrTrustContent, i, err)
		}
		n.NativeKeys++
		if e.Revoked {
			revoked = append(revoked, k.KID)
			n.NativeKeysRevoked++
		}
	}
	// A compromised key is revoked for every issuer it is listed under.
	for _, kid := range revoked {
		s.RevokeNative(kid)
	}
	for i, e := range c.DSCs {
		cert, err := x509.ParseCertificate(e.Cert)
		if err != nil {
			return nil, n, fmt.Errorf("%w: document signer certificate %d: %v", ErrTrustContent, i, err)
		}
		before := s.Len()
		d, err := s.AddDSC(cert)
		if err != nil {
			return nil, n, fmt.Errorf("%w: document signer certificate %d: %w", ErrTrustContent, i, err)
		}
		n.DSCs += s.Len() - before // a certificate listed twice is one
		if e.Revoked && !d.Revoked {
			d.Revoked = true // this certificate only, not others sharing its kid
			n.DSCsRevoked++
		}
	}
	for i, e := range c.SHC {
		if e.Issuer == "" {
			return nil, n, fmt.Errorf("%w: SMART Health Card key set %d has no issuer URL", ErrTrustContent, i)
		}
		before := s.Len()
		_, err := s.AddJWKS(e.Issuer, e.JWKS)
		if err != nil {
			return nil, n, fmt.Errorf("%w: SMART Health Card key set of %s: %w", ErrTrustContent, e.Issuer, err)
		}
		for j, crl := range e.CRLs {
			if err := s.AddSHCCRL(crl); err != nil {
				return nil, n, fmt.Errorf("%w: revocation list %d of %s: %w", ErrTrustContent, j, e.Issuer, err)
			}
		}
		n.SHCIssuers++
		n.SHCKeys += s.Len() - before
	}
	if c.PseudonymKey != nil {
		if len(c.PseudonymKey) != PseudonymKeySize {
			return nil, n, fmt.Errorf("%w: pseudonym key of %d bytes, want %d", ErrTrustContent, len(c.PseudonymKey), PseudonymKeySize)
		}
		s.SetPseudonymKey(c.PseudonymKey)
		n.PseudonymKey = true
	}
	if c.HPKE != nil {
		if _, err := c.HPKE.Key(); err != nil {
			return nil, n, fmt.Errorf("%w: the centre's %w", ErrTrustContent, err)
		}
		n.HPKEKey = true
	}
	n.RevokedSigners = len(c.RevokedDelegations)
	if len(c.ValueSets) > 0 {
		ss := valueset.New()
		for i, e := range c.ValueSets {
			set, err := valueset.Parse(e.JSON)
			if err != nil {
				return nil, n, fmt.Errorf("%w: value set %d: %w", ErrTrustContent, i, err)
			}
			set.Example = e.Example
			if err := ss.Add(set); err != nil {
				return nil, n, fmt.Errorf("%w: %w", ErrTrustContent, err)
			}
		}
		s.SetValueSets(ss)
		n.ValueSets = ss.Len()
	}
	return s, n, nil
}

// BuildTrustBundle signs a trust bundle holding c. hdr gives the version
// and times (its Kind and Payload are set here). signer and d are as for
// SealBundle: a delegated key with its delegation, or the root with nil.
// The content is loaded into a Store first, so the centre never signs a
// bundle that terminals would refuse.
func BuildTrustBundle(signer crypto.Signer, d *Delegation, hdr Bundle, c *TrustContent) ([]byte, error) {
	payload, err := MarshalTrustContent(c)
	if err != nil {
		return nil, fmt.Errorf("build trust bundle: %w", err)
	}
	if d != nil && slices.Contains(c.RevokedDelegations, d.KID) {
		return nil, fmt.Errorf("build trust bundle: %w: the bundle revokes its own signing key %s", ErrDelegationRevoked, d.KID)
	}
	hdr.Kind = KindTrust
	hdr.Base = 0
	hdr.Payload = payload
	return SealBundle(signer, d, hdr)
}

// BundleInfo describes a verified bundle.
type BundleInfo struct {
	Kind       Kind
	Version    uint64
	IssuedAt   time.Time
	FreshUntil time.Time
	GraceUntil time.Time
	Freshness  Freshness     // at the time given to LoadTrustBundle
	Age        time.Duration // since IssuedAt, at that time
	Signer     KeyID         // the delegated key that signed, or the root
	Delegated  bool          // signed by a delegated key, not the root
	Digest     [32]byte

	Counts TrustCounts
	HPKE   *HPKEPublicKey // the centre's journal key, or nil
	// Revoked is the union of the revoked delegations the terminal knew
	// and those of this bundle: remember it in State.Revoked.
	Revoked []KeyID
}

// State returns what the terminal remembers once it installs the bundle.
func (i *BundleInfo) State() State {
	return State{Version: i.Version, Digest: i.Digest, Revoked: slices.Clone(i.Revoked)}
}

// LoadTrustBundle verifies a trust bundle as OpenBundle does and builds a
// new Store from it, with the bundle's version, times, freshness and age.
// A bundle signed by a delegation that the bundle itself revokes is
// refused too.
func LoadTrustBundle(data []byte, root crypto.PublicKey, now time.Time, last State) (*Store, *BundleInfo, error) {
	b, fr, err := OpenBundle(data, root, now, last)
	if err != nil {
		return nil, nil, err
	}
	if b.Kind != KindTrust {
		return nil, nil, fmt.Errorf("%w: a %s bundle, not a trust bundle", ErrWrongKind, b.Kind)
	}
	c, err := ParseTrustContent(b.Payload)
	if err != nil {
		return nil, nil, err
	}
	if b.Delegation != nil && slices.Contains(c.RevokedDelegations, b.Delegation.KID) {
		return nil, nil, fmt.Errorf("%w (%s, revoked by this very bundle)", ErrDelegationRevoked, b.Delegation.KID)
	}
	s, counts, err := c.store()
	if err != nil {
		return nil, nil, err
	}
	revoked := slices.Clone(last.Revoked)
	for _, k := range c.RevokedDelegations {
		if !slices.Contains(revoked, k) {
			revoked = append(revoked, k)
		}
	}
	return s, &BundleInfo{
		Kind:       b.Kind,
		Version:    b.Version,
		IssuedAt:   b.IssuedAt,
		FreshUntil: b.FreshUntil,
		GraceUntil: b.GraceUntil,
		Freshness:  fr,
		Age:        b.Age(now),
		Signer:     b.Signer,
		Delegated:  b.Delegation != nil,
		Digest:     b.Digest,
		Counts:     counts,
		HPKE:       c.HPKE,
		Revoked:    revoked,
	}, nil
}

// ParseNativeKeyFile reads the native issuer keys of a PEM file written by
// MarshalNativeKey (each block bound to its issuer and validity) as trust
// bundle entries.
func ParseNativeKeyFile(data []byte) ([]NativeEntry, error) {
	var out []NativeEntry
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		if b.Type != pemPublicKey {
			return nil, fmt.Errorf("native key file: PEM block %q, want %q", b.Type, pemPublicKey)
		}
		issuer, pub, v, err := parseNativeKey(b)
		if err != nil {
			return nil, err
		}
		if err := ValidIssuer(issuer); err != nil {
			return nil, err
		}
		spki, err := spkiOf(pub)
		if err != nil {
			return nil, fmt.Errorf("native key for %s: %w", issuer, err)
		}
		out = append(out, NativeEntry{Issuer: issuer, SPKI: spki, Validity: v})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("native key file: no PEM public key found (write one with sentinel-central trust keygen)")
	}
	return out, nil
}
