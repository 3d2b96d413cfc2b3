// Package statusdb is the centre's record of the current status entries and
// EU DCC revocations: what `sentinel-central status` has set, so that a status
// base can be rebuilt at any time from the record alone.
//
// The record is a bbolt file in the centre's data directory. A change and the
// publication of its bundle happen inside one bbolt transaction (Update): the
// caller records the change, publishes the bundle, and records the version the
// bundle took; when publishing fails the transaction rolls back and the record
// stays as it was.
//
// Each holder has one entry, the latest change, as on the terminal.
//
// # Caveats
//
//   - A crash after the bundle was published but before the transaction
//     committed leaves a published change the record lacks. The record then
//     names an older status version than the repository, and the next change
//     must publish a base (Tx.Version tells the caller), which drops that
//     change: repeat it.
//   - Reasons in words (Record.Note) stay here; only the one-byte reason code
//     travels to terminals.
//   - Revocations are kept for ever: the record does not know when a revoked
//     certificate expires.
package statusdb
