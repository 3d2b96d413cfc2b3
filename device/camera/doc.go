// Package camera reads QR codes from camera frames and image files.
//
// Decoding has one entry point for the whole terminal: [Decode] (or a
// [Decoder] when frames arrive in a stream) takes a grey image and returns
// the payload bytes of the QR code it finds, or [ErrNoCode]. The verify and
// scan commands of sentinelctl, the gate's camera lane and the selftest all
// call it, so a code that one of them reads, the others read too.
//
// Decoding is built on gozxing's QR detector and Reed-Solomon decoder. The
// luminance plane of the grey image is wrapped without copying. A result is
// only ever returned after the Reed-Solomon check of the code's own error
// correction has passed: the decoder never guesses a payload.
//
// Frames come from a [FrameSource]: a V4L2 device, an MJPEG stream over
// HTTP, an ffmpeg pipe or a replay of image files.
//
// # Caveats
//
// A [Decoder] keeps scratch buffers between calls and is not safe for
// concurrent use; give each goroutine its own. The package-level [Decode]
// allocates a fresh one on every call.
package camera
