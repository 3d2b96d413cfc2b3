// Package server runs the central server: the enrolment endpoint on a
// listener of its own (server-authenticated TLS, since a terminal has no
// certificate before it enrols) and, behind mutual TLS 1.3 with the device
// CA, the journal upload, the bundle, status and time downloads, and
// certificate renewal.
//
// The server's own certificate is issued from the device CA for
// Config.Hosts, so terminals verify the centre with the device/ca.pem
// enrolment gave them; it is reissued in memory when a third of its lifetime
// remains. A device that ops revoke (sentinel-central devices revoke, even
// from another process) is refused at its next request (403
// device-revoked, enrol.Guard), and its open connections are closed within
// Config.RevokeSweep. Start records the enrolment address (the first of
// Config.Hosts and the enrolment port) for the tickets `devices add`
// prints.
//
// With Config.Ops and Config.OpsListen it also serves the operator API
// (package opsapi, behind role tokens) on a third listener, over
// server-authenticated TLS with the same certificate.
//
// Start binds both listeners and serves until Shutdown drains the
// requests in flight or, when its context ends first, closes every
// connection; Stop closes at once. Both wait for the serving goroutines.
//
// # Caveats
//
// The caller opens and closes the store (Config.Store). The bundle
// repository is read from DataDir/bundles, where sentinel-central bundles
// publish writes it, and opened again when its index changes (a stat per
// download); one process publishes into it at a time. On a store that
// keeps it for every server (bundles.Shared: pgstore), it is read from
// the store instead, and again when the store's generation moved (asked
// at most every Config.BundlePoll); a data directory's repository from
// before moves into the store at the first Start.
//
// Several servers may share one store behind a load balancer passing TLS
// through (docs/scaling.md): each needs the same device CA in its data
// directory. What stays per process: the rate limits of enrolment and
// the operator API (per source address, per server), the revocation
// sweep, and the metrics. Config.ProxyFrom reads the PROXY protocol
// header of the load balancers, so that the limits see each client's
// address rather than the load balancer's.
package server
