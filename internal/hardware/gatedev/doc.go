// Package gatedev puts the terminal's devices in the gate's words: it
// adapts the device packages' scanners and cameras (scanner.Source) to
// gate.CodeSource, and a thermo.Sampler to gate.Thermometer, translating
// their codes, readings and errors. The gate declares what it consumes and
// imports no device package; this package is the one place where the two
// vocabularies meet.
//
// It is a package of its own, not part of internal/hardware, so that the
// installer's commands, which open devices through internal/hardware,
// do not link the gate and its policy engine.
package gatedev
