// Package signal drives the gate's outputs on periph.io GPIO pins: the
// turnstile or door relay, a light tower (green, yellow, red) and a buzzer.
//
// The relay is pulsed, never held (see CONTRACTS.md, "The relay"):
// [Relay.Pulse] drives the pin active, waits, and drives it inactive again
// on every path out of the call, errors and panics included. A pulse lasts
// at most [MaxPulse], whatever the configuration says. [Relay.Halt], from any
// goroutine, cuts a pulse short and drives the pin inactive; so does
// [NewRelay], so that a restart after a crash releases the line at once.
//
// The light tower shows one colour at a time, or none. The buzzer plays
// [Pattern]s, which are data (alternating on and off durations), with
// distinct defaults for admit, refuse and fault. [Outputs] bundles the
// three into the calls the gate makes: [Outputs.Admit], [Outputs.Refuse],
// [Outputs.Fault] and [Outputs.Idle].
//
// # Caveats
//
// Software alone cannot keep a gate shut. The design makes the safe state
// the one that needs no software:
//
//   - Wire the turnstile or door strike to the relay's normally-open
//     contact, so that an unpowered relay (power cut, unpowered relay board)
//     leaves the gate shut.
//   - Pulse is a blocking call timed by the caller's goroutine, and drives
//     the pin inactive in a deferred call, so a returning or panicking call
//     always releases it. If the whole process dies during a pulse (another
//     goroutine's unrecovered panic, SIGKILL, a kernel hang), the kernel may
//     keep the GPIO line at its last level. Protect against that in
//     hardware: a turnstile's "one passage per pulse" input admits one
//     person however long the line is held; a door strike should sit
//     behind a monostable (one-shot) timer relay or a watchdog module.
//     NewRelay drives the pin inactive, so a restarted program releases a
//     line that its crashed predecessor left active.
//   - Use a pull resistor (or the relay board's own) that holds the input
//     inactive while the pin floats, during boot and before the program
//     configures it.
//   - Fire egress is the turnstile's own mechanical release, never
//     software's.
//
// The buzzer is switched on and off, so it must be an active buzzer (one
// with its own oscillator); a passive piezo disc would only click.
//
// [OpenPin] initialises periph's host drivers; it is the only function here
// that touches the machine.
package signal
