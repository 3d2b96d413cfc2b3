// Package camtest renders synthetic camera frames of QR codes for tests and
// for the decoder comparison (bench/decode-compare).
//
// The frames are generated, never hand-made: a QR code is encoded with
// gozxing, printed on a card or shown on a screen, placed in a scene by a
// pinhole camera (roll, yaw, pitch, distance), and degraded the way real
// frames are (blur, low contrast, sensor noise, screen moiré). Every
// parameter of the benchmark set is fixed in this package ([Set]) and every
// random choice comes from a generator seeded by the frame's [Spec], so the
// same Spec always renders the same pixels.
//
// A drawn frame (Spec.Drawn) takes its distortion from [Ranges] instead,
// with the frame's seed. Drawn frames with seeds in [HeldOut] ([Held])
// are the decoder's held-out set: tests report how it reads them, and
// nobody tunes the decoder on them.
package camtest
