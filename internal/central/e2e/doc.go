// Package e2e holds the end-to-end test of the journal upload: terminals
// with real journals and sync clients upload through a fault-injecting TCP
// proxy on loopback to the real sync server over each central store
// (bbolt, PostgreSQL), with a central restart during ingest, and the test
// checks that every passage is stored exactly once and every chain
// verifies. It has no code of its own outside its tests.
package e2e
