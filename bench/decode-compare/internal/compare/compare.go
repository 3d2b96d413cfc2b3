// Package compare is the body of the decode-compare commands: it reads or
// renders the frames, runs QR decoders on them in interleaved rounds,
// timing only the decoding, and scores and reports the results. The
// pure-Go command (bench/decode-compare) runs Sentinel's decoder and
// gozxing; the cgo command (bench/decode-compare/native, a module of its
// own so that the main module needs no C compiler) adds ZXing-C++ and ZBar
// through their C libraries.
package compare

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"image"
	"io"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"golang.org/x/sys/unix"

	"sentinel/device/camera"
	"sentinel/device/camera/camtest"
	"sentinel/device/camera/foreign"
)

// A Frame is one grey image already in memory, with the payload it must
// decode to.
type Frame struct {
	Name    string // file name, relative to its directory
	Variant string
	Width   int
	Height  int
	Want    []byte // nil: must decode to nothing
	Img     *image.Gray
}

// A Decoder reads one QR code from a grey frame already in memory.
type Decoder struct {
	Name    string
	Version string // of the library, for the report; "" when unknown
	// Decode returns the payload of the code in img, or nil or an error
	// when it finds none. Only this call is timed.
	Decode func(img *image.Gray) ([]byte, error)
	// Close releases what the decoder holds; nil when nothing.
	Close func()
}

// A Factory makes a named decoder.
type Factory struct {
	Name string
	New  func() (Decoder, error)
}

// goFactories are the decoders every decode-compare command has.
var goFactories = []Factory{
	{Name: "sentinel", New: newSentinel},
	{Name: "gozxing", New: newGozxing},
}

// nativeNames are the decoders only the cgo command has.
var nativeNames = []string{"zxing-cpp", "zbar"}

func newSentinel() (Decoder, error) {
	d := camera.NewDecoder()
	return Decoder{Name: "sentinel", Version: moduleVersion("sentinel"), Decode: func(img *image.Gray) ([]byte, error) {
		r, err := d.Decode(img)
		return r.Payload, err
	}}, nil
}

// newGozxing runs gozxing as-is: the grey plane wrapped zero-copy, the
// hybrid binarizer, no hints.
func newGozxing() (Decoder, error) {
	reader := qrcode.NewQRCodeReader()
	return Decoder{Name: "gozxing", Version: moduleVersion("github.com/makiuchi-d/gozxing"), Decode: func(img *image.Gray) ([]byte, error) {
		b := img.Bounds()
		src, err := gozxing.NewPlanarYUVLuminanceSource(img.Pix, img.Stride, b.Dy(), 0, 0, b.Dx(), b.Dy(), false)
		if err != nil {
			return nil, err
		}
		bm, _ := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
		r, err := reader.Decode(bm, nil)
		if err != nil {
			return nil, err
		}
		return []byte(r.GetText()), nil
	}}, nil
}

// moduleVersion returns the version of module path linked into this
// program; for the main module or a replaced one, its VCS revision when
// the build recorded one.
func moduleVersion(path string) string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return ""
	}
	rev := ""
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			rev = s.Value[:12]
		}
	}
	mods := append([]*debug.Module{&bi.Main}, bi.Deps...)
	for _, m := range mods {
		if m.Path != path {
			continue
		}
		if m.Replace != nil || m.Version == "" || m.Version == "(devel)" {
			return rev
		}
		return m.Version
	}
	return ""
}

// Main runs a decode-compare command with args (without the program
// name) and returns its exit code: 0 done, 1 failed, 2 usage. native are
// the decoders the command adds to sentinel and gozxing; all of them run
// unless -tools says otherwise.
func Main(args []string, stdout, stderr io.Writer, native ...Factory) int {
	factories := append(slices.Clone(goFactories), native...)
	var names []string
	for _, f := range factories {
		names = append(names, f.Name)
	}
	fs := flag.NewFlagSet("decode-compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory for the generated camtest set (rendered when missing)")
	tools := fs.String("tools", strings.Join(names, ","), "decoders to run, comma-separated")
	only := fs.String("variant", "", "run only this variant")
	verbose := fs.Bool("v", false, "list on standard error the frames each decoder misses")
	corpus := fs.String("corpus", "auto", `EU DCC corpus directory to add ("auto": ../shared/corpus/eu-dcc beside the module with -dir, none with -frames; "": none); alone, it runs only the corpus`)
	framesDir := fs.String("frames", "", "read the frames a directory's "+ManifestName+" lists instead of the generated set")
	asJSON := fs.Bool("json", false, "print one JSON object per decoder on standard output and nothing else")
	write := fs.String("write", "", "write camtest frames with a "+ManifestName+" to this directory and exit")
	held := fs.Int("held", 0, "with -write: this many drawn held-out frames per variant and frame size instead of the set")
	foreignN := fs.Int("foreign", 0, "with -write: this many frames per variant and frame size from the independent generator (device/camera/foreign) instead of the camtest set")
	seed := fs.Uint64("seed", foreign.DefaultSeed, "with -write -foreign: the first seed of the draw; its frames take seeds S, S+1, S+2, ... (272 with -foreign 8), so draws whose seeds are that close share frames: take seeds far apart")
	hard := fs.Int("hard", 0, "with -write: this many drawn held-out frames per frame size of the harder bands (camtest.HeldHard: blur of 0.5-0.9 modules) instead of the set, or besides -held")
	rounds := fs.Int("rounds", 5, "rounds over all frames; a frame's time is its median over the rounds")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "decode-compare: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	if *write != "" && *foreignN > 0 {
		if *held > 0 || *hard > 0 {
			fmt.Fprintln(stderr, "decode-compare: -foreign writes its own set: leave out -held and -hard")
			return 2
		}
		specs := foreign.Set(*foreignN, *seed)
		if err := WriteForeign(*write, specs); err != nil {
			fmt.Fprintln(stderr, "decode-compare: write frames:", err)
			return 1
		}
		fmt.Fprintf(stderr, "decode-compare: wrote %d frames of the independent generator and %s to %s\n", len(specs), ManifestName, *write)
		return 0
	}
	if *foreignN > 0 {
		fmt.Fprintln(stderr, "decode-compare: -foreign N needs -write DIR; then read the set with -frames DIR")
		return 2
	}
	if *write != "" {
		specs := camtest.Set()
		if *held > 0 || *hard > 0 {
			specs = nil
			for _, sz := range camtest.Sizes {
				specs = append(specs, camtest.Held(sz.X, sz.Y, *held)...)
				specs = append(specs, camtest.HeldHard(sz.X, sz.Y, *hard)...)
			}
		}
		if err := WriteFrames(*write, specs); err != nil {
			fmt.Fprintln(stderr, "decode-compare: write frames:", err)
			return 1
		}
		fmt.Fprintf(stderr, "decode-compare: wrote %d frames and %s to %s\n", len(specs), ManifestName, *write)
		return 0
	}
	if *rounds < 1 {
		fmt.Fprintln(stderr, "decode-compare: -rounds must be at least 1")
		return 2
	}
	var chosen []Factory
	for _, name := range strings.Split(*tools, ",") {
		if name == "zxing" {
			name = "zxing-cpp"
		}
		i := slices.IndexFunc(factories, func(f Factory) bool { return f.Name == name })
		switch {
		case i >= 0:
			chosen = append(chosen, factories[i])
		case slices.Contains(nativeNames, name):
			fmt.Fprintf(stderr, "decode-compare: %s runs in process through its C library, which this command does not link: run the cgo command in bench/decode-compare/native (see bench/decode-compare/README.md), or use -tools %s\n", name, strings.Join(names, ","))
			return 2
		default:
			fmt.Fprintf(stderr, "decode-compare: unknown decoder %q: choose from %s\n", name, strings.Join(append(slices.Clone(names), nativeNames...), ","))
			return 2
		}
	}
	corpusSet := false
	fs.Visit(func(f *flag.Flag) { corpusSet = corpusSet || f.Name == "corpus" })
	var frames []Frame
	var err error
	switch {
	case *framesDir != "":
		frames, err = ReadFrames(*framesDir)
		if !corpusSet {
			*corpus = ""
		}
	case *dir != "":
		frames, err = Generate(*dir, camtest.Variant(*only))
	case corpusSet && *corpus != "":
		*only = CorpusVariant
	default:
		fmt.Fprintln(stderr, "decode-compare: one of -dir, -frames, -corpus or -write is required")
		fs.Usage()
		return 2
	}
	if err != nil {
		fmt.Fprintln(stderr, "decode-compare:", err)
		return 1
	}
	if *corpus == "auto" {
		*corpus = FindCorpus()
		if *corpus == "" && corpusSet {
			fmt.Fprintln(stderr, "decode-compare: no EU DCC corpus beside the module (../shared/corpus/eu-dcc): name its directory with -corpus DIR")
			return 1
		}
	}
	if *corpus != "" && (*only == "" || *only == CorpusVariant) {
		cf, err := CorpusFrames(*corpus)
		if err != nil {
			fmt.Fprintln(stderr, "decode-compare:", err)
			return 1
		}
		frames = append(frames, cf...)
	}
	if *framesDir != "" && *only != "" {
		frames = slices.DeleteFunc(frames, func(f Frame) bool { return f.Variant != *only })
	}
	if len(frames) == 0 {
		fmt.Fprintln(stderr, "decode-compare: no frames to decode")
		return 1
	}
	var ds []Decoder
	defer func() {
		for _, d := range ds {
			if d.Close != nil {
				d.Close()
			}
		}
	}()
	for _, f := range chosen {
		d, err := f.New()
		if err != nil {
			fmt.Fprintf(stderr, "decode-compare: start %s: %v\n", f.Name, err)
			return 1
		}
		ds = append(ds, d)
	}
	var log io.Writer
	if *verbose {
		log = stderr
	}
	res := Measure(ds, frames, *rounds, log)
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for i, d := range ds {
			if err := enc.Encode(Summarise(d.Name, frames, res[i])); err != nil {
				fmt.Fprintln(stderr, "decode-compare:", err)
				return 1
			}
		}
		return 0
	}
	report(stdout, ds, frames, res, *rounds)
	return 0
}

// An Outcome is one decoder's result on one frame.
type Outcome struct {
	OK       bool          // read the payload in every round, or nothing from a frame without a code
	Wrong    bool          // returned another payload in some round: a false decode
	Unstable bool          // the rounds disagreed (a decoder with randomness, as ZBar's QR reader)
	CPU      time.Duration // median CPU time of the decoding over the rounds
}

// Measure runs every decoder on every frame in rounds and returns the
// outcomes, indexed [decoder][frame]. The rounds are interleaved: each
// frame goes to every decoder in turn, in an order that rotates per frame
// and round, so that a change of load on the machine or a warm cache
// falls on all decoders alike. Only the Decode call is timed, by the CPU
// time of the calling thread (to which the goroutine is locked; a cgo
// call runs on it too), so that other load on a shared machine does not
// count. A miss or a false decode is written to log when it is not nil.
func Measure(ds []Decoder, frames []Frame, rounds int, log io.Writer) [][]Outcome {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	out := make([][]Outcome, len(ds))
	cpu := make([][][]time.Duration, len(ds))
	first := make([][]bool, len(ds)) // ok in the first round
	for j := range ds {
		first[j] = make([]bool, len(frames))
		out[j] = make([]Outcome, len(frames))
		cpu[j] = make([][]time.Duration, len(frames))
		for i := range frames {
			out[j][i].OK = true
		}
	}
	for r := range rounds {
		for i, f := range frames {
			for k := range ds {
				j := (k + i + r) % len(ds)
				t0 := threadCPU()
				got, err := ds[j].Decode(f.Img)
				d := threadCPU() - t0
				cpu[j][i] = append(cpu[j][i], d)
				ok, wrong := score(got, err, f.Want)
				o := &out[j][i]
				if !ok && o.OK && log != nil {
					fmt.Fprintf(log, "%s missed %s (round %d, false decode: %v)\n", ds[j].Name, f.Name, r+1, wrong)
				}
				if r > 0 && ok != first[j][i] {
					o.Unstable = true
				}
				if r == 0 {
					first[j][i] = ok
				}
				o.OK = o.OK && ok
				o.Wrong = o.Wrong || wrong
			}
		}
	}
	for j := range ds {
		for i := range frames {
			out[j][i].CPU = median(cpu[j][i])
		}
	}
	return out
}

// score judges a decode: ok when it read the wanted payload, or nothing
// from a frame without a code; wrong when it returned anything else.
func score(got []byte, err error, want []byte) (ok, wrong bool) {
	switch {
	case err != nil || len(got) == 0:
		return want == nil, false
	case want != nil && sameText(got, want):
		return true, false
	}
	return false, true
}

// sameText compares a decoded payload with the expected bytes, accepting
// a decoder that returned ISO-8859-1 bytes as UTF-8 text.
func sameText(got, want []byte) bool {
	if bytes.Equal(got, want) {
		return true
	}
	if !utf8.Valid(got) {
		return false
	}
	var b []byte
	for _, r := range string(got) {
		if r > 0xff {
			return false
		}
		b = append(b, byte(r))
	}
	return bytes.Equal(b, want)
}

func median(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

// threadCPU returns the CPU time the calling thread has used.
func threadCPU() time.Duration {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return 0
	}
	return time.Duration(ts.Nano())
}
