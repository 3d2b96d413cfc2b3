// Package gate is the terminal's decision pipeline: it turns a code read at
// a lane into a verdict, writes the passage durably and only then opens the
// gate.
//
// One passage flows one way:
//
//	payload → verify → status lookup → temperature → policy
//	        → journal append (durable) → display and outputs
//
// Each stage is a small interface declared here (CodeSource, Verifier,
// StatusLookup, Thermometer, Policy, Journal, Outputs, Display, Clock) so
// that the daemon wires the real parts and tests wire hand-written fakes.
// The gate knows no device: a lane's scanners, camera and thermometer reach
// it through the adapters of internal/hardware/gatedev, which put the
// devices' codes, readings and errors in the gate's words. What changes while
// the terminal runs (the trust store, the status list, the policy, the site's
// settings and the freshness of every bundle) is one State, swapped
// atomically with Gate.SetState when sync installs a bundle.
//
// Lanes run concurrently, one goroutine per lane, and a lane handles one
// person at a time: its scanners and camera each feed it from their own
// goroutine, chunked SMART Health Cards are assembled from parts read within
// Options.ChunkWindow, and repeated reads are removed before the gate sees
// them (the daemon wraps each source in scanner.Dedup). Gate.Start starts
// every lane, Gate.Stop drains them.
//
// # Safety
//
// The relay is pulsed only after Journal.Append returned without error, so a
// passage that opened the gate is always in the journal. When the journal
// cannot commit, the gate stays shut, the outputs signal a fault and the
// display tells the guard to switch to the manual procedure.
//
// A terminal whose State holds no verifier (no pinned root, no trust bundle)
// is not enrolled: policy refers everyone to the guard.
//
// # Guard override
//
// The guard may admit the person on screen at a lane with Gate.Override: a
// PIN of 6 to 12 digits, checked against the PBKDF2 hashes in the site's
// settings, and a reason from OverrideReasons. Only the lane's most recent
// passage, while the display holds it (Options.OverrideWindow), once; a
// referral for any reason, a refusal by the site's rules for an emergency
// only, a code that is not genuine never (Shown.OverrideReasons says which;
// docs/override.md says why). The override is a passage of its own in the
// journal, naming the guard, the reason and the sequence number of the
// passage it overrides, and it is counted in the metrics. Wrong PINs are
// journalled and counted too, and lock overrides for longer each time
// (PINLockouts); the lockout's PINState survives a restart when the owner
// saves it (Options.SavePINState).
//
// # Caveats
//
// The temperature is measured only for a code that verified: a refused code
// is refused whatever the temperature, and waiting for a forehead that walked
// away would hold the lane.
//
// While the clock is untrusted, codes are still verified at the clock's time,
// so that the guard sees the masked name, but policy sees the clock's state
// and refers every person.
package gate
