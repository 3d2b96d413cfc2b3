// Package memstore is an in-memory central.Store: the reference that the
// conformance suite checks beside the real stores, and, through
// syncstore.New, a store for tests of the sync server. It keeps nothing
// across a restart and no health reports.
package memstore
