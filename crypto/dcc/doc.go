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
//	value sets                     value-set (Rejection.Field and Code name the field and the code)
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
// Schema: the official JSON schema of the eHealth Network, embedded under
// schema/ with its licence, is compiled once, on first use, into Go checks
// (no JSON tree; fastschema.go). The payload is parsed once (once.go): the
// typed claims and certificate are built from that parse and the compiled
// checks walk it. That parse takes only CBOR it can prove the CBOR library
// reads the same way (nearly every real certificate); anything else (tags,
// floats, nulls, indefinite lengths, case-folded keys, a certificate that
// fails its schema) goes through the library, which decodes it into typed
// structs and into CBOR values for the checks, and gives the verdict and
// its message. A differential fuzz test holds the one to the other, and
// the jsonschema library's validator of the same schemas is kept as the
// reference of the compiled checks: a differential test over the corpus
// and a fuzz test hold the two to the same verdicts. Options.SkipSchema
// skips the schema; the rule "exactly one of v, t and r, with exactly one
// entry" is enforced either way.
//
// Value sets: when the trust store holds the EU value sets
// (trust.Store.ValueSets, from the trust bundle or `sentinelctl verify
// --valuesets DIR`), the codes of the single entry are checked against
// them as EU verifiers check them, field by field where each list
// applies: co (country-2-codes) and tg (disease-agent-targeted) of every
// group; vp, mp and ma of a vaccination (sct-vaccines-covid-19,
// vaccines-covid-19-names, vaccines-covid-19-auth-holders); tt and tr of a
// test (covid-19-lab-test-type, covid-19-lab-result), and the device ma
// (covid-19-lab-test-manufacturer-and-name) of a rapid antigen test only:
// a NAAT names no device from that list. The first code outside its list
// is refused with value-set, naming the field and the code. A list that
// the store lacks is not checked; without any, the check is skipped (the
// terminal says so). A list that is only an example of the real one (the
// EU's test-manf-example.json) cannot refuse a code it lacks: the code is
// reported in Credential.Warnings. Inactive codes are members: the EU's
// business rules test membership of the keys, and a certificate issued
// while its code was active stays valid.
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
//   - The schemas' formats are asserted, as EU verifiers' validators do
//     (draft 2020-12 makes "format" an annotation unless told): "date" on
//     v.dt, r.fr, r.df, r.du and the 1.0.x dob (whose pattern is
//     unanchored), "date-time" on t.sc and t.dr. Without it, a dt of
//     "2026-13-40" passed the schema.
//   - A birth date after the day of issue (iat, in the easternmost zone;
//     a partial date by its first day) is refused with schema: no holder
//     can match it. Other semantic checks (a given name without its
//     transliteration, a test result "detected") are not made here: they
//     are the business rules' and the site policy's.
//   - A group whose value is null ("r": null, "t": null, as early
//     Bulgarian certificates of schema 1.0.0 write the groups they do not
//     use) is read as absent, in every version: EU verifiers' parsers did
//     the same. Only null: an empty or mistyped group is still judged by
//     the schema.
//   - In schema 1.0.x certificates, a date-time where a date belongs (dob,
//     v.dt, r.fr, r.df, r.du) is read as its date, the date as written
//     ("2021-05-10T23:30:00-02:00" is 2021-05-10): the facts and the
//     holder's pseudonym are those of the date, as if the issuer had
//     written it. From 1.1.0 on nothing is rewritten; other date-times
//     reach Facts as instants in UTC, and the schema decides validity.
//   - Where issuers' data disagrees with the value sets, we refuse as EU
//     verifiers did (their business rules GR-EU-0001, TR-EU-0001,
//     TR-EU-0002 and VR-EU-0001 test the same lists): free text in tt
//     ("a test"), an empty vp, mp, ma or tr, a LOINC code in tg, a
//     product's name in mp ("COVID-19 Vaccine Moderna"), a mistyped holder
//     (ORG-1000030215). The corpus test lists each such case, whose own
//     expectation checked the schema alone.
//   - Unverified holds the signed payload, which names the holder: never
//     log it. The package itself never logs.
//   - The package never reads the system clock: Options.Now is the
//     terminal's trusted time.
package dcc
