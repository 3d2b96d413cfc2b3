// Package thermo reads a person's temperature with an infrared thermometer.
//
// Two layers live here. The driver, [Dev], talks to a Melexis MLX90614 on a
// periph.io I²C bus and returns single samples of the object (forehead) and
// ambient (sensor die) temperatures as [physic.Temperature]. [Dev90632]
// does the same for the smaller Melexis MLX90632, computing temperatures
// from its factory calibration constants with Melexis' DSP v5 model. The
// [Sampler]
// turns those samples into a [Reading] of a person: it samples while someone
// stands at the gate, waits for a stable window, applies the installer's
// [Calibration] and compensates for the room's temperature, and reports how
// confident it is. Faults (no answer, a sensor error flag, a stuck value, a
// value out of range, a room colder than 10 °C or warmer than 40 °C) make the
// thermometer unavailable with a [Reason] that policy can see; it becomes
// available again by itself after a few good samples.
//
// [Calibrate] takes a stable reading of a blackbody reference and returns a
// new [Calibration]; [SaveCalibration] and [LoadCalibration] keep it in the
// terminal's data directory. This is what `sentinelctl calibrate thermo`
// uses.
//
// # Temperature model
//
// The sensor sees the skin of the forehead, which is cooler than the body's
// core, and the more so the colder the room. The Sampler uses the
// heat-balance model behind arterial (forehead) thermometers:
//
//	core = skin + K·(skin − ambient)
//
// where skin is the calibrated surface temperature, ambient the sensor's die
// temperature (a stand-in for the room) and K a ratio of thermal resistances
// (DefaultCompensation, 0.19, the value published for the temporal artery).
// At 24 °C ambient a 34.6 °C forehead gives 36.6 °C. This is an estimate, not
// a clinical measurement: it is good enough to refer a person for a retake
// with a clinical thermometer, and no more. The confidence reported with
// each reading is a heuristic in 0..1 (stability of the window and how far
// the room is from the 18–30 °C band where the model holds best), not a
// probability.
//
// Calibration corrects the sensor, not the model: it maps the raw object
// reading onto the true surface temperature of a blackbody
// (true °C = Slope·measured °C + Offset), and it is applied before
// compensation. A blackbody reading is therefore never compensated.
//
// # Caveats
//
// The MLX90614 speaks SMBus at most at 100 kHz; the application owns the bus
// and sets its speed. The sensor does not acknowledge while it is busy, so
// reads are retried a few times (see [Opts]); the bus drivers of periph
// report a missing acknowledge as a plain error, so every bus error is
// retried alike.
//
// The sensor's field of view is wide (90° on the common "AAA" variant): at
// more than a few centimetres it averages the forehead with the background
// and reads low. Mount it so that a person stands close, or use a narrow
// field-of-view variant, then calibrate at the installed distance.
//
// A sensor whose value does not change for StuckAfter samples in a row
// (object and ambient to the last 0.02 K) is declared stuck. A live sensor
// is noisier than that; if the sensor's IIR filter was set very strong in
// its EEPROM, raise StuckAfter.
//
// The Sampler starts available and learns of faults from its samples:
// call [Sampler.Check] every second or so while nobody is at the gate, so
// that a fault shows, and clears, before the next person arrives.
//
// The MLX90632 refreshes at 2 Hz from the factory, and [Dev90632.Read]
// waits for fresh data, so each sample takes up to 500 ms: set the
// Sampler's Interval small and its Window to 4 or so, or raise the refresh
// rate in the sensor's EEPROM (not done by this package). Its model is
// checked against the reference library's vectors, not a real sensor.
//
// [OpenBus] initialises periph's host drivers; it is the only function here
// that touches the machine.
package thermo
