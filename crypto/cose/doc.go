// Package cose implements COSE_Sign1 (RFC 9052) and CWT claims (RFC 8392)
// over CBOR: just what signed health codes and Sentinel's bundles need,
// written carefully over github.com/fxamacker/cbor/v2 so that the hot path
// (parse, build the Sig_structure, verify) stays a few microseconds above
// the bare signature check.
//
// Parsing accepts a COSE_Sign1 tagged (tag 18), untagged, or inside a CWT
// tag (61). The key id is read from the protected header first, then the
// unprotected one; an unprotected alg or kid that contradicts the protected
// one is refused as malformed (see [CheckHeaders]). Algorithms: EdDSA (Ed25519), ES256, ES384, ES512 and
// PS256; an ECDSA algorithm must match its key's curve.
//
// # Caveats
//
// Parse does not verify anything: only [Sign1.Verify] with a trusted key
// makes the payload trustworthy.
package cose
