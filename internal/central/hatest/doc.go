// Package hatest starts, for tests and benchmarks, the parts of a central
// store that survives losing its PostgreSQL primary, on loopback with
// free ports and temporary directories: etcd, PostgreSQL nodes managed by
// Patroni (a primary and streaming replicas), and HAProxy in TCP mode,
// either in front of the Patroni nodes (its health check asks each node's
// REST API for /primary) or in front of several central servers, passing
// their TLS through.
//
// Every process it starts it stops by its pid when the test ends
// (t.Cleanup): Patroni by SIGTERM, which stops its PostgreSQL, then
// SIGKILL of whatever is left, the postmaster by the pid in its
// postmaster.pid.
//
// Where etcd, Patroni, HAProxy or PostgreSQL is not installed, Need skips
// the test loudly ("SKIPPING: ..."), or fails it when the environment
// variable CI is "true": CI installs Debian's etcd-server, patroni and
// haproxy (.ci/run).
//
// # Caveats
//
// PostgreSQL refuses to run as root: as root, Patroni runs as the user
// postgres, which owns the nodes' directories. The nodes run with fsync
// off and trust authentication on 127.0.0.1: they are for tests only.
// Patroni's leader key lives Options.TTL (10 s by default, the shortest
// that Patroni's loop_wait 1 s and retry_timeout 3 s allow with margin):
// a primary lost with its Patroni is replaced after about that long.
package hatest
