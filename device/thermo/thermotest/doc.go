// Package thermotest builds the I²C traffic of thermometers for
// i2ctest.Playback, so that tests and the demonstration terminal can run
// package thermo's drivers without a sensor.
//
// The answers carry the packet error code that the real sensor sends
// (thermo.PEC), so the driver checks them as it checks a real one.
package thermotest
