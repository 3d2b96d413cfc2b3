// Command decode-compare renders the camera benchmark set and runs
// Sentinel's QR decoder, gozxing as-is, ZBar (zbarimg) and ZXing-C++
// (ZXingReader) on the same frames, printing per variant the success rate
// and the time per frame of each.
//
// Usage:
//
//	go run ./bench/decode-compare -dir DIR [-tools sentinel,gozxing,zbar,zxing]
//	go run ./bench/decode-compare -frames DIR [-json] [-tools sentinel,gozxing]
//	go run ./bench/decode-compare -write DIR [-held N]
//
// -frames reads any directory of frames (PNG, JPEG or 8-bit PGM) listed
// in a manifest.jsonl, one JSON object per frame with at least "file",
// "text" (empty for a frame without a code) and "variant"; "binary":
// true means each character of text is one byte. With -json it prints
// one JSON object per decoder and nothing else: decoded, total, false,
// per variant [decoded, total] and per resolution the mean, p95 and
// worst CPU milliseconds per frame (frames without a code count in the
// times, not in total; a decode of one counts in false). -json runs the
// in-process decoders only. -write renders the set (or, with -held N, N
// drawn held-out frames per variant and size) into such a directory.
//
// The set (device/camera/camtest.Set, parameters fixed in the repository)
// is written to DIR as PNG files unless they are there already. For the
// command-line tools, correctness comes from one invocation per frame and
// time from one invocation per (variant, frame size) batch, less the time
// of an invocation on a 1×1 image (process start), divided by the number
// of frames; their time includes reading the PNG file, ours does not
// (frames arrive as grey planes on the terminal). All times are CPU time
// (of the decoding thread, or of the child process), so that other load
// on a shared machine does not distort them; decode-compare is Linux-only.
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"image"
	"image/png"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
	"unicode/utf8"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"
	"golang.org/x/sys/unix"

	"sentinel/device/camera"
	"sentinel/device/camera/camtest"
)

func main() {
	// Per-frame times are the CPU time of this thread (RUSAGE_THREAD), so
	// that other load on the machine does not inflate them.
	runtime.LockOSThread()
	os.Exit(run(context.Background(), os.Args[1:], os.Stdout, os.Stderr))
}

// threadCPU returns the CPU time the calling thread has used.
func threadCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

type frame struct {
	name    string
	variant string
	width   int
	height  int
	want    []byte // nil: must decode to nothing
	path    string
	img     *image.Gray
}

// outcome of one decoder on one frame.
type outcome struct {
	ok, wrong bool
	dur       time.Duration // per frame (in-process decoders only)
}

type tool struct {
	name string
	// perFrame decodes one frame; dur is zero for command-line tools.
	perFrame func(ctx context.Context, f frame) ([]byte, time.Duration, error)
	// batch times a batch of files for command-line tools.
	batch func(ctx context.Context, paths []string) (time.Duration, error)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("decode-compare", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "", "directory for the generated frames (created when missing)")
	tools := fs.String("tools", "sentinel,gozxing,zbar,zxing", "decoders to run")
	only := fs.String("variant", "", "run only this variant")
	verbose := fs.Bool("v", false, "list the frames each decoder misses")
	corpus := fs.String("corpus", "auto", `EU DCC corpus directory to add as a row ("auto": ../shared/corpus/eu-dcc beside the module, "": none)`)
	framesDir := fs.String("frames", "", "read the frames a directory's manifest.jsonl lists instead of the generated set")
	asJSON := fs.Bool("json", false, "print one JSON object per decoder on standard output and nothing else")
	write := fs.String("write", "", "write camtest frames with a manifest.jsonl to this directory and exit")
	held := fs.Int("held", 0, "with -write: this many drawn held-out frames per variant and frame size instead of the set")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *write != "" {
		specs := camtest.Set()
		if *held > 0 {
			specs = nil
			for _, sz := range camtest.Sizes {
				specs = append(specs, camtest.Held(sz.X, sz.Y, *held)...)
			}
		}
		if err := writeFrames(*write, specs); err != nil {
			fmt.Fprintln(stderr, "decode-compare: write frames:", err)
			return 1
		}
		fmt.Fprintf(stderr, "decode-compare: wrote %d frames and %s to %s\n", len(specs), manifestName, *write)
		return 0
	}
	toolsSet := false
	fs.Visit(func(f *flag.Flag) { toolsSet = toolsSet || f.Name == "tools" })
	if *asJSON && !toolsSet {
		*tools = "sentinel,gozxing"
	}
	var frames []frame
	var err error
	switch {
	case *framesDir != "":
		frames, err = readFrames(*framesDir)
		*corpus = ""
		if *dir == "" {
			*dir = *framesDir
		}
	case *dir == "":
		fmt.Fprintln(stderr, "decode-compare: -dir or -frames is required")
		return 2
	default:
		frames, err = generate(*dir, camtest.Variant(*only))
	}
	if err != nil {
		fmt.Fprintln(stderr, "decode-compare:", err)
		return 1
	}
	if *asJSON {
		for _, name := range strings.Split(*tools, ",") {
			if name != "sentinel" && name != "gozxing" {
				fmt.Fprintf(stderr, "decode-compare: -json times decoders in process; %s runs as a command-line tool here (its C library is not linked yet): use -tools sentinel,gozxing\n", name)
				return 2
			}
		}
	}
	if *corpus == "auto" {
		*corpus = autoCorpus()
	}
	if *corpus != "" && (*only == "" || *only == corpusVariant) {
		cf, err := corpusFrames(*corpus)
		if err != nil {
			fmt.Fprintln(stderr, "decode-compare:", err)
			return 1
		}
		frames = append(frames, cf...)
	}
	var ts []tool
	for _, name := range strings.Split(*tools, ",") {
		t, err := newTool(ctx, name, *dir)
		if err != nil {
			fmt.Fprintln(stderr, "decode-compare:", err)
			return 1
		}
		ts = append(ts, t)
	}
	res := make(map[string][]outcome) // tool -> per frame
	batch := make(map[string]map[string]time.Duration)
	for _, t := range ts {
		outs := make([]outcome, len(frames))
		for i, f := range frames {
			got, dur, err := t.perFrame(ctx, f)
			want := f.want
			switch {
			case err != nil || len(got) == 0:
				outs[i].ok = want == nil
			case want != nil && sameText(got, want):
				outs[i].ok = true
			default:
				outs[i].wrong = true
			}
			outs[i].dur = dur
			if *verbose && !outs[i].ok {
				fmt.Fprintf(stderr, "%s missed %s (wrong=%v)\n", t.name, f.name, outs[i].wrong)
			}
		}
		res[t.name] = outs
		if t.batch != nil {
			batch[t.name] = timeBatches(ctx, t, frames)
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		for _, t := range ts {
			if err := enc.Encode(summarise(t.name, frames, res[t.name])); err != nil {
				fmt.Fprintln(stderr, "decode-compare:", err)
				return 1
			}
		}
		return 0
	}
	report(stdout, ts, frames, res, batch)
	return 0
}

// sameText compares a decoded payload with the expected bytes, accepting
// a tool that printed ISO-8859-1 bytes as UTF-8 text.
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

func generate(dir string, only camtest.Variant) ([]frame, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var frames []frame
	for _, s := range camtest.Set() {
		if only != "" && s.Variant != only {
			continue
		}
		path := filepath.Join(dir, s.Name()+".png")
		img, err := loadPNG(path)
		if err != nil {
			img, err = camtest.Render(s)
			if err != nil {
				return nil, err
			}
			if err := writePNG(path, img); err != nil {
				return nil, err
			}
		}
		frames = append(frames, frame{name: s.Name(), variant: string(s.Variant), width: s.Width, height: s.Height, want: s.Want(), path: path, img: img})
	}
	return frames, nil
}

// corpusVariant names the row of the EU DCC corpus images.
const corpusVariant = "eu-dcc png"

// autoCorpus finds ../shared/corpus/eu-dcc beside the module root, or
// returns "".
func autoCorpus() string {
	dir, err := os.Getwd()
	if err != nil {
		return ""
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			c := filepath.Join(dir, "..", "shared", "corpus", "eu-dcc")
			if _, err := os.Stat(c); err == nil {
				return c
			}
			return ""
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

// corpusFrames returns the corpus PNGs whose case JSON gives the payload
// ("PREFIX"); those without one are left out.
func corpusFrames(dir string) ([]frame, error) {
	var paths []string
	for _, pattern := range []string{"*/png/*.png", "*/2DCode/png/*.png"} {
		m, err := filepath.Glob(filepath.Join(dir, pattern))
		if err != nil {
			return nil, err
		}
		paths = append(paths, m...)
	}
	var frames []frame
	for _, p := range paths {
		want, ok := corpusPrefix(p)
		rel, _ := filepath.Rel(dir, p)
		if !ok || corpusImageDiffers[filepath.ToSlash(rel)] {
			continue
		}
		img, err := loadPNG(p)
		if err != nil {
			return nil, fmt.Errorf("corpus %s: %w", p, err)
		}
		frames = append(frames, frame{name: rel, variant: corpusVariant, width: img.Rect.Dx(), height: img.Rect.Dy(), want: []byte(want), path: p, img: img})
	}
	return frames, nil
}

// corpusImageDiffers lists the corpus PNGs that carry another
// certificate than their case's PREFIX (every decoder agrees on what they
// hold); device/camera's corpus test lists the same.
var corpusImageDiffers = map[string]bool{
	"ES/png/2101.png":     true,
	"ES/png/2102.png":     true,
	"ES/png/2103.png":     true,
	"GR/2DCode/png/3.png": true,
}

// corpusPrefix returns the PREFIX of the case that belongs to a corpus
// PNG (<CC>/png/N.png and <CC>/2DCode/raw/N.json).
func corpusPrefix(png string) (string, bool) {
	name := strings.TrimSuffix(filepath.Base(png), filepath.Ext(png))
	cc := filepath.Dir(filepath.Dir(png))
	if filepath.Base(cc) == "2DCode" {
		cc = filepath.Dir(cc)
	}
	data, err := os.ReadFile(filepath.Join(cc, "2DCode", "raw", name+".json"))
	if err != nil {
		return "", false
	}
	var c struct {
		Prefix string `json:"PREFIX"`
	}
	if json.Unmarshal(data, &c) != nil || c.Prefix == "" {
		return "", false
	}
	return c.Prefix, true
}

func loadPNG(path string) (*image.Gray, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return camera.LoadGray(f)
}

func writePNG(path string, img image.Image) error {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return err
	}
	return os.WriteFile(path, buf.Bytes(), 0o644)
}

func newTool(ctx context.Context, name, dir string) (tool, error) {
	switch name {
	case "sentinel":
		d := camera.NewDecoder()
		return tool{name: "sentinel", perFrame: func(_ context.Context, f frame) ([]byte, time.Duration, error) {
			t0 := threadCPU()
			r, err := d.Decode(f.img)
			return r.Payload, threadCPU() - t0, err
		}}, nil
	case "gozxing":
		reader := qrcode.NewQRCodeReader()
		return tool{name: "gozxing", perFrame: func(_ context.Context, f frame) ([]byte, time.Duration, error) {
			t0 := threadCPU()
			b := f.img.Bounds()
			src, err := gozxing.NewPlanarYUVLuminanceSource(f.img.Pix, f.img.Stride, b.Dy(), 0, 0, b.Dx(), b.Dy(), false)
			if err != nil {
				return nil, 0, err
			}
			bm, _ := gozxing.NewBinaryBitmap(gozxing.NewHybridBinarizer(src))
			r, err := reader.Decode(bm, nil)
			d := threadCPU() - t0
			if err != nil {
				return nil, d, err
			}
			return []byte(r.GetText()), d, nil
		}}, nil
	case "zbar":
		if _, err := exec.LookPath("zbarimg"); err != nil {
			return tool{}, fmt.Errorf("zbarimg not found: apt-get install zbar-tools: %w", err)
		}
		args := []string{"-q", "--raw", "--nodbus", "-Sdisable", "-Sqrcode.enable"}
		return cliTool(ctx, "zbar", "zbarimg", args, dir)
	case "zxing":
		if _, err := exec.LookPath("ZXingReader"); err != nil {
			return tool{}, fmt.Errorf("ZXingReader not found: apt-get install zxing-cpp-tools: %w", err)
		}
		return cliTool(ctx, "zxing", "ZXingReader", []string{"-format", "QRCode"}, dir)
	}
	return tool{}, fmt.Errorf("unknown tool %q", name)
}

// cliTool runs a command-line decoder: one invocation per frame for the
// payload, batches for time.
func cliTool(_ context.Context, name, bin string, args []string, dir string) (tool, error) {
	perArgs := args
	if name == "zxing" {
		perArgs = append(slices.Clone(args), "-bytes")
	}
	return tool{
		name: name,
		perFrame: func(ctx context.Context, f frame) ([]byte, time.Duration, error) {
			out, err := exec.CommandContext(ctx, bin, append(slices.Clone(perArgs), f.path)...).Output()
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				return nil, 0, err
			}
			if name == "zbar" {
				// zbarimg ends each symbol with a newline.
				out = bytes.TrimSuffix(out, []byte("\n"))
			}
			return out, 0, nil
		},
		batch: func(ctx context.Context, paths []string) (time.Duration, error) {
			cmd := exec.CommandContext(ctx, bin, append(slices.Clone(args), paths...)...)
			err := cmd.Run()
			var ee *exec.ExitError
			if err != nil && !errors.As(err, &ee) {
				return 0, err
			}
			// CPU time, not wall time: the machine may be shared.
			return cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime(), nil
		},
	}, nil
}

// timeBatches times tool t on every (variant, size) batch and returns the
// time per frame, keyed by "variant size", with process start subtracted.
func timeBatches(ctx context.Context, t tool, frames []frame) map[string]time.Duration {
	tiny := filepath.Join(filepath.Dir(frames[0].path), "startup-1x1.png")
	_ = writePNG(tiny, image.NewGray(image.Rect(0, 0, 1, 1)))
	var start time.Duration
	for i := 0; i < 5; i++ { // the fastest of five is process start
		d, err := t.batch(ctx, []string{tiny})
		if err == nil && (start == 0 || d < start) {
			start = d
		}
	}
	groups := map[string][]string{}
	for _, f := range frames {
		k := key(f)
		groups[k] = append(groups[k], f.path)
	}
	out := map[string]time.Duration{}
	for k, paths := range groups {
		d, err := t.batch(ctx, paths)
		if err != nil {
			continue
		}
		out[k] = max(0, d-start) / time.Duration(len(paths))
	}
	return out
}

func key(f frame) string { return fmt.Sprintf("%s %d", f.variant, f.width) }

func report(w io.Writer, ts []tool, frames []frame, res map[string][]outcome, batch map[string]map[string]time.Duration) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "variant\tframes\t")
	for _, t := range ts {
		fmt.Fprintf(tw, "%s ok\t%s ms\t", t.name, t.name)
	}
	fmt.Fprintln(tw)
	var variants []string
	for _, f := range frames {
		if !slices.Contains(variants, f.variant) {
			variants = append(variants, f.variant)
		}
	}
	row := func(label string, sel func(f frame) bool) {
		n := 0
		for _, f := range frames {
			if sel(f) {
				n++
			}
		}
		if n == 0 {
			return
		}
		fmt.Fprintf(tw, "%s\t%d\t", label, n)
		for _, t := range ts {
			ok, wrong := 0, 0
			var total time.Duration
			for i, f := range frames {
				if !sel(f) {
					continue
				}
				o := res[t.name][i]
				if o.ok {
					ok++
				}
				if o.wrong {
					wrong++
				}
				if b, isCLI := batch[t.name]; isCLI {
					total += b[key(f)]
				} else {
					total += o.dur
				}
			}
			cell := fmt.Sprintf("%.0f%%", 100*float64(ok)/float64(n))
			if wrong > 0 {
				cell += fmt.Sprintf(" (%d false)", wrong)
			}
			fmt.Fprintf(tw, "%s\t%.1f\t", cell, ms(total)/float64(n))
		}
		fmt.Fprintln(tw)
	}
	for _, v := range variants {
		row(v, func(f frame) bool { return f.variant == v })
	}
	row("all generated", func(f frame) bool { return f.variant != corpusVariant })
	row("all 640x480", func(f frame) bool { return f.variant != corpusVariant && f.width == 640 })
	row("all 1280x720", func(f frame) bool { return f.variant != corpusVariant && f.width == 1280 })
	tw.Flush()
	// Per-frame percentiles of the in-process decoders on 720p frames.
	for _, t := range ts {
		if _, isCLI := batch[t.name]; isCLI {
			continue
		}
		var ds []time.Duration
		for i, f := range frames {
			if f.variant != corpusVariant && f.width == 1280 {
				ds = append(ds, res[t.name][i].dur)
			}
		}
		if len(ds) == 0 {
			continue
		}
		slices.Sort(ds)
		var sum time.Duration
		for _, d := range ds {
			sum += d
		}
		fmt.Fprintf(w, "%s 1280x720: mean %.1f ms, p50 %.1f ms, p95 %.1f ms, max %.1f ms over %d frames\n",
			t.name, ms(sum)/float64(len(ds)), ms(ds[len(ds)/2]), ms(ds[len(ds)*95/100]), ms(ds[len(ds)-1]), len(ds))
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
