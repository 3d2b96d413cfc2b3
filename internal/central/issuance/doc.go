// Package issuance is the centre's issuance endpoint: an HTTP handler that
// signs native health codes (healthcode.Issuer) for a holder's app, behind an
// issuer bearer token.
//
// The app's backend calls it on behalf of a person it has already
// authenticated. How the app authenticates a person (an account, a national
// login service, a counter clerk) is the app backend's business and out of
// scope here: the centre trusts the backend that holds an issuer token, and
// the token limits it to one issuer (region). The request names the holder by
// the issuer's index, never by a national ID number, and carries the masked
// display name (credential.MaskName) and, for a phone code, the holder's
// public key.
//
// The colour in the code is the centre's: the holder's current status entry
// (central.StatusStore) gives it and its colour-since time; a
// holder without an entry, or whose entry has lapsed, is green; a withheld
// holder gets no code (403).
//
// # Protocol
//
//	POST /v1/issue
//	Authorization: Bearer TOKEN
//	{"index": 1024, "display_name": "Zhang *", "holder_key": "BASE64 PKIX", "ttl": "24h"}
//
//	200 {"code": "HCN1:…", "issuer": "ZJ", "index": 1024, "colour": "green",
//	     "colour_since": "…", "issued_at": "…", "expires_at": "…", "paper": false}
//
// Errors are JSON {"error": "…"} with 400 (bad request), 401 (no or unknown
// token), 403 (withheld), 405, 413 (body over MaxRequest) or 500.
//
// # Caveats
//
//   - Tokens are compared by their SHA-256 in constant time; they are
//     bearer secrets: serve the endpoint over TLS only.
//   - The handler is not mounted by the central server yet: mount Handler at
//     Path on the ops listener (see the package example).
package issuance
