// Package replay is the terminal's memory of the codes it has admitted, so
// that a code copied from a phone or handed back over the fence is not
// admitted twice: each live presentation once, a static code once within a
// short window, at any lane of the terminal.
//
// The memory is a map in RAM backed by an append-only file in the data
// directory, so that it survives a restart of the daemon: one record of 44
// bytes per admission (the key, when it expires, a CRC-32C), appended and
// synced after the passage is journalled. At Open the file is read, damaged
// and expired records are dropped, and what remains is written back
// compactly; the file is compacted again whenever it holds far more records
// than live entries. Entries live only as long as their code could be
// replayed (a live presentation's time step and the clock tolerance, a
// static code's window), and the number of entries is bounded.
//
// The keys are hashes of what the code's issuer signed (see
// internal/gate), never of a holder's identity: the file on a stolen SD
// card names no one.
//
// # Caveats
//
// The memory is per terminal: the same code shown at two terminals of a
// site is admitted at each. An entry whose expiry lies further ahead than
// Options.MaxWindow (a clock that jumped back) is dropped at Open.
package replay
