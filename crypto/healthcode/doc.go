// Package healthcode implements Sentinel's native signed health code: a
// CWT (RFC 8392) claims set signed as a COSE_Sign1 (RFC 9052) with Ed25519
// or ES256, CBOR-encoded, zlib-compressed and Base45-encoded behind the
// prefix "HCN1:", the same pipeline as the EU DCC so that one decoder
// serves both.
//
// A code names its holder as (issuer, index), never by a national ID
// number, and carries the holder's colour (green, yellow, red), when that
// colour took effect, a masked display name and a short validity (24 hours
// by default). When it also carries the holder's public key (a cnf claim,
// RFC 8747), the phone shows a rolling presentation instead: the credential
// plus the holder's signature over the current 30-second time step and the
// credential's hash, so that a screenshot is useless a minute later while
// the check stays offline. Codes without a holder key are paper codes,
// valid until they expire; policy decides where they are accepted.
//
// The centre issues codes with an [Issuer]; the phone makes rolling codes
// with a [Presenter] (or [Present]); the terminal calls [Decode], which
// returns an [*Unverified], and only [Unverified.Verify] against a
// [trust.Store] yields a [credential.Credential]. Every refusal is a
// [*credential.Rejection] with a stable reason code.
//
// docs/healthcode.md specifies the format byte by byte, with test vectors
// from testdata/.
//
// # Caveats
//
// Verification time is an input (VerifyOptions.Now): verification never
// reads the system clock, and a zero time is refused as an untrusted clock.
// Only an Issuer without IssuerOptions.Clock uses time.Now.
//
// The Ed25519 signature and the CBOR are deterministic, but the zlib
// stream depends on the compressor: verifiers accept any valid zlib
// stream, and test vectors compare the signed COSE bytes, not the text.
package healthcode
