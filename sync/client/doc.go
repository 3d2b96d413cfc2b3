// Package client is the terminal's journal upload loop (see package
// sync/protocol for the wire format and sync/server for the centre).
//
// The journal itself is the queue: the client reads contiguous ranges
// from its Source (a *journal.Journal) starting after the acknowledged
// cursor, uploads them, and advances the cursor (Source.Ack) only with the
// high-water mark the centre answered. Nothing is held in memory between
// uploads, so a terminal that was offline for a week drains its backlog
// from the journal on reconnect, and a crash at any point loses nothing:
// at worst a range is sent again and the centre drops what it has.
//
// Offline is normal. A failed upload is retried after a capped
// exponential backoff with jitter, or after the centre's Retry-After; each
// request has its own timeout; an error is logged once until it changes,
// and recovery is logged with the number of failures. A cancelled context
// (Stop) is never logged. A gap answer (the centre holds less than the
// terminal thinks, e.g. after a restore) resumes from the centre's mark. A
// 413 halves the records per request.
package client
