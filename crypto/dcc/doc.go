// Package dcc verifies EU Digital COVID Certificates: the "HC1:" codes of
// the eHealth Network's specification, a COSE_Sign1 over a CWT whose claim
// -260/1 holds the health certificate, zlib-compressed and Base45-encoded.
//
// Decoding and verification are separate steps, so that nothing from a
// code is used before its signature has been checked:
//
//	u, err := dcc.Decode(payload)            // prefix, Base45, zlib, COSE: untrusted
//	cred, err := u.Verify(store, dcc.Options{Now: now})
//
// Verifier does both in one call for the gate's dispatcher. Every error is
// a *credential.Rejection whose Reason tells the stage:
//
//	stage                          reason
//	length                         payload-too-large
//	prefix ("HC1:")                unknown-format (also HC2:, HL0:, none)
//	Base45                         bad-encoding
//	zlib                           bad-compression (broken, over 64 KiB, or not compressed)
//	COSE_Sign1                     bad-structure
//	key id                         unknown-key (no DSC with the kid), no-trust (empty store)
//	signature                      bad-signature, bad-algorithm, key-revoked
//	CWT claims                     bad-structure
//	time                           not-yet-valid, expired, key-not-valid
//	key usage                      key-usage
//	schema, one entry              schema
//	clock                          clock-untrusted (Options.Now is zero)
//
// # Verification
//
// The key id comes from the protected header, or from the unprotected one
// when the protected header has none; an unprotected kid never overrides a
// protected one. Every document signer certificate (DSC) in the store that
// shares the kid is tried. Algorithms: ES256 on P-256 and PS256 (RSA),
// the two the eHealth Network allows.
//
// Time: DSC notBefore ≤ iat ≤ now (+ Options.Tolerance) and now ≤ exp ≤
// DSC notAfter, where the DSC's window is its certificate's validity
// narrowed by the trust store's. The code's own window is checked first,
// so an expired code reads "expired" even when its DSC has lapsed too.
//
// Key usage: a DSC that carries any of the extended key usages
// 1.3.6.1.4.1.1847.2021.1.1 (test), .2 (vaccination), .3 (recovery), or
// the same under 1.3.6.1.4.1.0.1847.2021.1 (which many member states
// issued), may sign only those types; a DSC with none of them may sign
// every type. Other extended key usages do not count.
//
// Schema: the health certificate is decoded twice: into typed structs for
// the credential (fast), and into JSON values for the official JSON schema
// of the eHealth Network, embedded under schema/ with its licence and
// compiled once, on first use. Options.SkipSchema skips that check; the
// rule "exactly one of v, t and r, with exactly one entry" is enforced
// either way.
//
// The credential carries the issuing country (CWT iss, or the entry's co
// when iss is absent), the DSC's key id, the holder's pseudonym (from the
// store's pseudonym key over fnt, gnt and dob; HolderUnknown without a
// key), the masked name, the facts for policy and the certificate
// identifier (ci) for revocation lists. No full name is kept.
//
// Sign and Encode make codes with a DSC of our own, for tests and for
// `sentinel-central issue`.
//
// # Caveats
//
//   - An ES256 header over a P-384 key (the corpus's ES 401–403) is
//     refused with bad-algorithm: the specification allows ES256 only on
//     P-256, and an ECDSA algorithm must match its curve.
//   - A code whose exp lies after its DSC's notAfter is refused with
//     key-not-valid, as the corpus's time rule says: a DSC cannot vouch
//     for a certificate beyond its own lifetime.
//   - Schema choice: the newest embedded version at or below the payload's
//     ver (a ver newer than all gets the newest). When that fails, the
//     newest schema is tried too, and passing it is enough: later versions
//     relaxed rules that 1.0.x issuers broke in the field (birth dates of a
//     year or a month, from 1.1.0). A malformed or pre-1.0.0 ver is
//     refused.
//   - More than one entry in a group (allowed by the 1.0.x to 1.2.x
//     schemas, forbidden by the eHN guidelines and by 1.3.0) is refused:
//     a gate cannot tell which entry to judge.
//   - Semantic checks beyond the schema (a birth date in the future, a
//     given name without its transliteration) are not made; the
//     schema is the judge of the content, the value sets are not checked.
//   - Dates that issuers wrote as date-times where the schema says date
//     are read leniently into Facts; the schema decides their validity.
//   - Unverified holds the signed payload, which names the holder: never
//     log it. The package itself never logs.
//   - The package never reads the system clock: Options.Now is the
//     terminal's trusted time.
package dcc
