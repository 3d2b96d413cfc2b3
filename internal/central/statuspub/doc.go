// Package statuspub publishes the centre's status list: it records a
// change in the status record (internal/central/statusdb) and signs it
// into the bundle repository (internal/central/bundles) as a status delta,
// or as a new status base when a delta cannot carry it. The ops commands
// (sentinel-central status set, status revoke) and serve's scheduler share
// it, so that a change and the scheduled republishing follow one path.
//
// # Caveats
//
// The record's file lock serialises publishers across processes: a
// Publisher opens the record before it reads the repository, so the chain
// it extends is the one on disk. Hold the record (Publisher.Locked) around
// any other write to the repository from the same data directory.
package statuspub
