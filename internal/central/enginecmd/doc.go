// Package enginecmd runs the code engine's commands (areas, sites,
// whitelists, cases, rule sets, explanations, passage look-ups) on a
// central store, one request and one answer each, so that the three ways
// ops reach them behave alike:
//
//   - `sentinel-central areas set …` and its siblings, on a store the
//     command opens itself (PostgreSQL, or bbolt with serve stopped);
//   - the same commands while serve holds the bbolt store: the command
//     sends its request through serve's control socket, and serve runs it;
//   - the operator API's routes (package opsapi), with the ops role.
//
// Every request and answer is JSON. Run takes a command by its name
// (Commands lists them: "areas/set", "rules/deploy", …), decodes its
// request strictly, runs it and returns its answer.
//
// # Audit
//
// A change records who made it and why in the engine's audit, in the
// change's own transaction (central.EngineTx). A look-up that hands out
// what the centre knows of holders (passage/show, status/explain,
// whitelist/list, rules/test) is first recorded in the audit log
// (central.AuditLog) with who and why; when that record cannot be
// written, nothing is handed out.
//
// # Events
//
// After a change the rules must see (a case, a risk level, a whitelist
// entry, a site placed, a rule set deployed), Run calls Env.Notify, which
// serve wires to the engine's event path: a sweep starts at once instead
// of at the next round.
package enginecmd
