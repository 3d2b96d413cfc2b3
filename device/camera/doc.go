// Package camera reads QR codes from camera frames and image files.
//
// Decoding has one entry point for the whole terminal: [Decode] (or a
// [Decoder] when frames arrive in a stream) takes a grey image and returns
// the payload bytes of the QR code it finds, or [ErrNoCode]. The verify and
// scan commands of sentinelctl, the gate's camera lane and the selftest all
// call it, so a code that one of them reads, the others read too.
// [DecodeFile] and [LoadGray] read PNG and JPEG files.
//
// Decoding is built on gozxing's QR detector and Reed-Solomon decoder, and
// goes further where gozxing gives up (see Decoder.Decode): a half-scale
// pass first, inverted codes, faint codes, a finder-pattern search that
// tolerates perspective and shear, a perspective fit from the twelve
// outer corners of the finder patterns refined by alignment patterns, and
// grey-level resampling of the module grid with local thresholds. A result
// is only ever returned after the code's own format check and
// Reed-Solomon correction have passed: the decoder never guesses a
// payload.
//
// Frames come from a [FrameSource]: a V4L2 device ([OpenV4L2]), an MJPEG
// stream over HTTP ([NewMJPEGStream]), an ffmpeg pipe ([StartFFmpeg],
// [NewRawGray]) or a replay of image files ([NewReplay]). A [FrameVoter]
// turns a stream of frames into codes reported once each, and reads codes
// from still frames too noisy to decode one by one. A [Still] spares a
// fixed camera's decoder the frames in which nothing moved: an idle gate's
// camera costs a comparison of one pixel in sixteen per frame (about
// 0.15 ms at 720p) and a full decode once a second, while a code coming
// into view, however small or faint, is decoded from its first frame.
//
// The subpackage camtest renders the synthetic frames of the benchmark set
// that bench/decode-compare runs against ZBar and ZXing-C++.
//
// # Caveats
//
// A [Decoder] keeps scratch buffers between calls and is not safe for
// concurrent use; give each goroutine its own. The package-level [Decode]
// allocates a fresh one on every call.
//
// Decode time depends on the frame: a clean 720p frame takes a few
// milliseconds. A screen rejects most frames without a code before any
// pass runs (rows split at edges weighed against the frame's noise,
// 1:1:3:1:1 runs confirmed along the column and diagonals, three of them
// in a code's geometry; at half scale above 640×480, see screen.go); a
// frame that passes the screen but holds no code takes the longest,
// since every pass runs (about 11 ms for a cluttered 720p scene on one
// desktop core, several times that on a terminal's ARM core); the number
// of finder-pattern triples tried per frame is bounded. A camera stream
// should go through a [Still], which decodes such a scene once a second
// while it stays unchanged.
package camera
