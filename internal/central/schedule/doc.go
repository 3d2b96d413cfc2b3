// Package schedule keeps a centre current without an operator: serve runs
// a Scheduler that, on every tick,
//
//   - republishes the status base (statuspub) when none is published, once
//     a day, when the delta chain grows long, when the newest signed
//     statement of the status list is half-way through its fresh window,
//     and when a status entry or an EU DCC revocation has lapsed since the
//     base (a base leaves lapsed ones out, so terminals drop them);
//   - re-signs the trust, policy and config bundles, with the same payload
//     and the same fresh and grace windows, once half of their fresh
//     window has passed, so that no terminal sees them leave fresh;
//   - applies the passage retention of the central stores (PostgreSQL
//     drops day partitions, bbolt purges records) past a horizon.
//
// Every decision is taken on the injected clock (Options.Now), so a test
// runs days in a second.
//
// # Caveats
//
// Re-signing needs the online signing key's delegation to cover the kind:
// a key delegated for status alone keeps the status fresh, and the
// scheduler logs, once per bundle, which kinds it cannot re-sign and
// what to run instead.
package schedule
