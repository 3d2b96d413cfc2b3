// Package journalbench compares the passage journal (sentinel/sync/journal,
// bbolt with group commit) with SQLite (modernc.org/sqlite, WAL mode,
// synchronous=FULL) doing the same durable appends from 1, 4 and 16
// concurrent lanes. It is a module of its own so that the product's
// go.mod never depends on SQLite.
//
// Run both in one go, from this directory:
//
//	go test -run '^$' -bench . -count 5
//
// Each benchmark reports appends/s. SQLite runs one INSERT per transaction
// per passage (autocommit), the honest equivalent of a passage that must
// be durable before the gate opens: once through a single connection that
// the lanes share (SQLite has one writer at a time; this is its best
// case) and once with a connection per lane and busy_timeout, as a naive
// port would do.
package journalbench
