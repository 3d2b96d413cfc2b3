// Package server is the centre's side of the journal upload (see package
// sync/protocol): an http.Handler that authenticates the device, limits
// request size and rate, checks the records and their hash chain, and
// hands a contiguous range to a Store that ingests it in one transaction.
//
// # Exactly once
//
// A record's identity at the centre is (device, epoch, seq). The Store,
// in one transaction, reads the (device, epoch) high-water mark, refuses a
// range that starts past mark+1 (a *GapError carrying the mark, answered
// with HTTP 409 so the terminal resumes from mark+1), drops the records at
// or below the mark, stores the rest and raises the mark. Admit does the
// decision part of that for every implementation. Delivery is at least
// once, the effect exactly once, with no deduplication window: a
// re-upload, or a retry after a lost response, finds its records at or
// below the mark.
//
// # Refused whole
//
// A request that is too large (413), does not decode (400), names another
// device than the authenticated one (403), holds a record that is not a
// canonical journal record, or whose record carries another epoch or
// sequence number than its place in the range (400), is refused whole and
// nothing of it is stored: such a batch is not a range of that journal.
//
// # Hash chain breaks: stored and flagged
//
// Each record carries the chain hash of the one before it. The server
// recomputes the chain across the range, from the request's prev hash
// (journal.Genesis for seq 1), and Admit checks the link to the last
// stored record. A record whose link does not hold is stored with
// Record.Break set, counted in the answer and logged, never dropped: a
// break is evidence of tampering or of a lost or rewritten journal, and
// the centre must keep the evidence for an investigator rather than lose
// passages. (Refusing would also make the terminal retry the same bytes
// for ever.)
//
// # Identity
//
// An Authenticator names the device that sent a request. Production must
// take it from the verified mTLS client certificate
// (r.TLS.PeerCertificates, issue 5's enrolment); a header-based one is
// for tests only.
package server
