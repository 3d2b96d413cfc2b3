// Package memstore is an in-memory central.Store: the reference that the
// conformance suite checks beside the real stores, and a fake for tests of
// the sync server.
package memstore
