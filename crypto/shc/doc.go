// Package shc verifies SMART Health Cards: the "shc:/" numeric QR form
// (including the deprecated multi-part form, joined by an [Assembler]),
// the compact JWS with ES256 and a raw-DEFLATE payload, the issuer key sets
// (JWKS) and revocation lists held by a trust.Store, and the card's nbf
// and exp against an injected clock.
//
// As everywhere in Sentinel, decoding and verifying are separate steps:
// [Decode] (or [ParseJWS]) returns an [*Unverified] card and only
// [Unverified.Verify] yields a credential.Credential. Every refusal is a
// *credential.Rejection carrying a reason code. The holder is the
// pseudonym of the FHIR Patient's family name, given names and birth date
// under the store's pseudonym key; only the masked name is kept.
//
// Limits hold before any decoding: a QR text of at most
// credential.MaxPayload characters, a JWS of at most [MaxJWS], a header of
// at most [MaxHeader], a payload inflating to at most
// credential.MaxInflated bytes, a chunked code of at most [MaxChunks]
// parts, a file of at most [MaxFile] bytes.
//
// [Sign], [SignPayload], [EncodeNumeric] and [EncodeChunks] issue cards for
// tests and demos.
//
// # Caveats
//
// Decisions where the specification or its validator leave room:
//
//   - Limits: the specification bounds only what fits one QR code (a JWS
//     of 1195 characters at version 22); longer cards exist (its own
//     example 02, chunked) and get [WarnLongJWS]. The hard limits above
//     are ours: [MaxJWS] covers [MaxChunks] parts and the file form,
//     [MaxHeader] is five times a real header.
//   - A chunked code is refused by [Decode] unless it has a single part
//     ("shc:/1/1/", accepted with [WarnSingleChunk]); the parts of a
//     larger one must go through an [Assembler]. The Assembler does not
//     keep time: its owner calls Reset when the window for the remaining
//     parts has passed. Parts of two cards with the same part count cannot
//     be told apart before they are joined; the joined card then fails its
//     signature or its decoding.
//   - The x5c chain of a key (the specification's example 01) is parsed
//     when the key set is loaded and its leaf must carry the key itself,
//     but it does not gate verification: the chain's validity dates and
//     its path to a CA are not checked. The specification makes x5c
//     optional and meant for issuer identity through a CA directory; a
//     terminal trusts a key because the operator's trust bundle lists it.
//     Example 01's leaf expired on 2022-06-01, before its 2023 nbf, and
//     the specification publishes it as valid: it verifies here.
//   - A card whose exp is before its nbf is refused as expired (never
//     valid), whatever the clock. nbf may lie up to [NotBeforeSkew] in the
//     future. exp is exclusive: a card is expired at its exp.
//   - Revocation comes before expiry: a revoked card that has also expired
//     is refused as revoked (the detail says it also expired), since
//     refreshing it cannot help.
//   - Revocation is checked only when the issuer's list is loaded. A key
//     whose JWK announces a crlVersion but whose list is missing or was
//     refused (a malformed list is refused whole, see
//     trust.Store.AddSHCCRL) verifies cards without the revocation check.
//   - Content (vc type, FHIR Bundle, nbf present, rid form) is judged only
//     after the signature holds, so a forged card is reported as forged;
//     the payload must still be a JSON object before that.
//   - Wrong or missing alg is ReasonBadAlgorithm, wrong or missing zip
//     ReasonBadCompression, a missing kid ReasonBadStructure, a signature
//     that is not 64 bytes (a DER signature) ReasonBadSignature.
//   - The QR symbol's version is not a reason to refuse a card:
//     [QRWarnings] reports a version above 22 as a warning. The validator
//     calls it an error, but it says nothing about whether the card is
//     genuine. Segment modes are not reported by device/camera, so the
//     rule "one byte segment shc:/ then one numeric segment" cannot be
//     judged; extra characters that a further segment adds are refused as
//     bad encoding. A version larger than the content needs is a warning
//     too, computed for the segments the specification prescribes.
//   - A .smart-health-card file with characters after its JSON object,
//     but for one final line break, is refused.
//   - Facts: "immunization" with the count of Immunization resources (not
//     entered-in-error or not-done), the latest one's vaccine code (bare
//     for CVX, "system|code" otherwise) and date; otherwise "test" for
//     Observations and DiagnosticReports, with the report's code (or the
//     latest observation's), the latest date and a qualitative result
//     from SNOMED detected/not-detected codes. Policy maps vaccine codes
//     to diseases; Disease stays empty.
//   - The holder is the first Patient's first name entry. A card without a
//     Patient (a lab report) has an unknown holder and no display name.
package shc
