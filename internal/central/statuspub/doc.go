// Package statuspub publishes the centre's status list: it records a
// change in the status part of the central store (central.StatusStore)
// and signs it into the bundle repository (internal/central/bundles) as a
// status delta, or as a new status base when a delta cannot carry it, in
// one transaction of the store: when publishing fails, nothing of the
// change is kept. The ops commands (sentinel-central status set, status
// revoke, status publish, locally or through the operator API), serve's
// scheduler and the code engine share it, so that every change follows
// one path.
//
// SetStatus and Revoke check and make the common changes; Publish takes
// any change (a Change records it in the transaction and adds it to the
// delta).
//
// # Caveats
//
//   - The repository's lock file (LockFile in the data directory)
//     serialises publishers of one data directory across processes: a
//     Publisher takes it before it reads the repository, so the chain it
//     extends is the one on disk. Hold it (Publisher.Locked) around any
//     other write to the repository from the same data directory.
//   - On a store that keeps the repository for every server (pgstore:
//     bundles.Shared), the repository lives in the database and the lock
//     is the database's (an advisory lock): every server and ops command
//     on it extends one chain, and a scheduled base that one server
//     published is seen by the others under the lock, so it is not
//     published twice.
//   - A crash after the bundle was published but before the store's
//     transaction committed leaves a published change the store lacks.
//     The store then names an older status version than the repository,
//     and the next change publishes a base (Result.Why says so), which
//     drops that change: repeat it.
//   - Reasons in words (central.StatusEntry.Note) stay in the store; only
//     the one-byte reason code travels to terminals.
package statuspub
