// Package legacy imports the centre's state that older versions kept in
// files of the data directory into the central store, once: the device
// registry and enrolment tokens (EnrolFile), the audit log (ops.AuditFile)
// and the operator API's role tokens (opsapi.TokensFile).
//
// Import reads each file that exists, stores what the store does not hold
// yet (tokens by hash, devices by id, operator tokens by name, the audit
// log's entries in their order), and only then renames the file to
// NAME.imported, so that a crash half-way repeats the import without
// storing anything twice.
//
// # Caveats
//
//   - A file that cannot be read or parsed stops the import with an error
//     naming it; nothing of it is renamed, so nothing is lost. Fix or move
//     the file and open the store again.
//   - The audit log counts as imported when the store holds its first entry
//     already (a repeated import); its entries are appended one by one.
//   - An operator token file written after the import (as older guides
//     say) is imported on the next open: a token of the same name replaces
//     the stored one.
package legacy
