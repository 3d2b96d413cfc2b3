// Package bundles is the centre's bundle repository: the current signed
// bundle file of every kind (trust, policy, config) and, for status, the
// base and the chain of deltas since it, which the sync download handler
// (sync/server.DownloadHandler) serves to terminals.
//
// Publish checks a payload as a terminal would load it before it signs:
// a policy must compile against the terminal's CEL environment
// (policy.Compile), a config must parse and validate
// (siteconfig.Parse), a trust bundle must load under the operator
// root (trust.LoadTrustBundle), a status payload must parse. It then seals
// the bundle with trust.SealBundle under the next version of its kind,
// opens the result as a terminal would, and only then writes it.
//
// # Versions
//
// Versions go up by one per kind. status-base and status-delta share one
// sequence, the status version: a delta applies to the version before it
// (Bundle.Base), and a new base starts a new chain above every delta.
//
// # On disk
//
// Under the directory given to Open:
//
//	KIND.bundle                   trust, policy, config: the current bundle
//	status-base.bundle            the current status base
//	status-delta/VERSION.bundle   the deltas since it (VERSION: 20 digits)
//	index.json                    versions, digests and times of the above
//
// Every file is written to a temporary file, synced and renamed, and the
// index last, so a crash leaves the previous state or the new one. A delta
// file not named in the index is ignored and overwritten.
//
// # In a shared store
//
// With Options.Shared (pgstore on PostgreSQL) the same files live in the
// database instead, written in one transaction that raises a generation,
// so that every central server on it hands out the same bundles and sees
// a new one at its next look (internal/central/server asks for the
// generation at most once a second). ImportDir moves a directory's
// repository into an empty shared store once and renames its index to
// index.json.imported; Open of that directory then fails with ErrMoved,
// which tells the operator to publish with --postgres.
//
// # Caveats
//
// Open takes no lock: publishers hold the repository's lock around
// Open and Publish (statuspub.Publisher.Locked: a lock file in the data
// directory, or Shared.LockBundles, an advisory lock of the database).
package bundles
