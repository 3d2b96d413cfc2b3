// Package firmwareconfig is the Sentinel terminal's configuration file: the
// hardware and network settings that an installer writes by hand, in TOML,
// once per terminal.
//
// The file describes the terminal (its id, its site's id, its data directory,
// the central system's URL, the listeners, the log level) and its lanes. Each
// lane, written as a [[lane]] block, names the devices that serve one gate:
// its scanners ([[lane.scanner]], serial or USB HID), its camera
// ([lane.camera]), its IR thermometer ([lane.thermometer]) and its outputs
// ([lane.outputs.relay], [lane.outputs.tower], [lane.outputs.buzzer]).
// The example files for each kind of site, which [Example] returns, document
// every key in comments; start from one of them.
//
// # What is not in this file
//
// Site settings that ops manage — the site type (supermarket, pharmacy,
// intersection, compound, custom), the admission thresholds such as the fever
// limit, the journal's retention, the display language and the time zone —
// come in the signed config bundle from the central system, never from this
// file. A key lives in exactly one place: [ParseConfig] refuses such keys with
// a [*KeyError] whose InBundle field is set and whose message says so, so an
// installer cannot set a value locally that the centre would silently
// override, or the other way round.
//
// Calibration (the thermometer's offset and slope) is state, not
// configuration: it lives in the data directory, in each lane's own
// directory ([Config.LaneStateDir]), and the file is never rewritten by a
// program, so the installer's comments stay as written.
//
// # Strict decoding
//
// [ParseConfig] reads the file strictly and collects every problem rather
// than stopping at the first: a TOML syntax error ([*SyntaxError]), an
// unknown or misspelt key ([*KeyError], with a suggestion), a value of the
// wrong type or out of range ([*ValidationError]). Each problem names its line
// and the field, as a path such as lane[1].thermometer.address (indexes count
// from 0, in the order the blocks appear in the file). All problems come back
// as one [Problems] error; errors.As finds the typed errors inside it.
//
// Keys that are left out take the defaults that [DefaultConfig] and the
// per-device defaults documented on each field give. A key that is written
// keeps its value, even zero, and is validated as written.
//
// # Installed files
//
// The systemd unit for sentineld and the udev rules that give the scanners,
// cameras, I²C buses and GPIO chips stable names and group permissions are
// kept beside this package and embedded: see [SystemdUnit] and [UdevRules].
//
// # Caveats
//
// A USB HID (keyboard-wedge) scanner types a code one key at a time: a
// 300-character EU DCC takes a second or more. Set such scanners to serial
// (USB CDC) mode where they offer it, and configure them as type "serial".
package firmwareconfig
