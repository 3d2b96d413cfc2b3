// Package opsapi serves the centre's operator calls over HTTP behind role
// tokens: the fleet (GET /v1/ops/devices), audited export and contact trace
// (POST /v1/ops/export, POST /v1/ops/trace), status changes
// (POST /v1/ops/status/...) and the code engine's commands (POST
// /v1/ops/areas/set and the others of enginecmd.Commands, engine.go) for
// the ops role, and a consistent copy of the bbolt store while it serves
// (GET /v1/admin/backup) for the admin role.
//
// # Tokens
//
// A caller sends "Authorization: Bearer TOKEN". The centre keeps only the
// SHA-256 of each token, with a name and a role, in the central store
// (central.OpsTokens; `sentinel-central tokens add` makes one), and reads
// them at each request (StoreTokens), so that a token added or removed
// counts at once. A token file in the older form, TokensFile in the data
// directory, is imported into the store when it is opened:
//
//	{"tokens": [{"name": "alice", "role": "ops", "sha256": "<64 hex digits>"}]}
//
// The presented token's hash is compared with every entry in constant time.
// A request without a token, or with one the store does not hold, is answered
// 401; a known token of another role, 403. A refused request reads no
// passage and writes no audit entry. Roles are exact: an admin token does
// not run exports, an ops token does not take backups.
//
// # Audit before data
//
// An export is spooled to a temporary file, recorded in the audit log with
// the token's name as the operator, and only then streamed to the caller;
// a trace is recorded before its result is written. An entry that cannot be
// written refuses the call.
//
// # Caveats
//
// Request bodies are limited to MaxBody. The handler does not choose the
// transport: sentinel-central serve --ops-listen serves it over TLS with a
// certificate from the device CA (clients verify with DATA/enrol/ca.pem).
// A backup that fails half-way aborts the connection, so a client never
// takes a truncated stream for a whole one; check the copy (the backup
// command opens it and counts the passages).
package opsapi
