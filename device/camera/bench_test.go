package camera

import (
	"image"
	"runtime"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"sentinel/device/camera/camtest"
)

// threadCPU returns the CPU time the calling thread has used, so that the
// benchmarks can report CPU time per frame beside wall time, which other
// load on a shared machine inflates.
func threadCPU() time.Duration {
	var ru unix.Rusage
	if err := unix.Getrusage(unix.RUSAGE_THREAD, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// startCPU locks the benchmark's goroutine to its thread, so that
// threadCPU counts its work alone, and resets the timer. The function it
// returns reports the thread's CPU time per op as cpu-ms/op and unlocks
// the thread: defer it.
func startCPU(b *testing.B) (stop func()) {
	runtime.LockOSThread()
	b.ResetTimer()
	t0 := threadCPU()
	return func() {
		b.ReportMetric(float64(threadCPU()-t0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
		runtime.UnlockOSThread()
	}
}

// BenchmarkDecode720 decodes 1280×720 frames of the benchmark set's
// variants (HC1 payload, level M). cpu-ms/op is the decoding thread's CPU
// time.
func BenchmarkDecode720(b *testing.B) {
	for _, v := range []camtest.Variant{camtest.Clean, camtest.Persp40, camtest.Blur, camtest.LowContrast, camtest.Noise, camtest.Inverted, camtest.Empty} {
		b.Run(string(v), func(b *testing.B) {
			s := camtest.Spec{Width: 1280, Height: 720, Payload: camtest.Payloads()[0], ECC: "M", Variant: v, Seed: 3}
			img, err := camtest.Render(s)
			if err != nil {
				b.Fatal(err)
			}
			d := NewDecoder()
			if _, err := d.Decode(img); (err == nil) == (v == camtest.Empty) {
				b.Fatalf("%s: got error %v", s.Name(), err)
			}
			b.ReportAllocs()
			defer startCPU(b)()
			for b.Loop() {
				_, _ = d.Decode(img)
			}
		})
	}
}

// BenchmarkDecodeEmpty720 decodes the benchmark set's 1280×720 scenes
// without a code (gradients, texture, stripes, checkerboards of
// module-sized cells, sensor noise), in turn, with and without the screen
// that rejects frames without finder patterns (noscreen is the decoder
// before the screen). cpu-ms/op is the mean per frame.
func BenchmarkDecodeEmpty720(b *testing.B) {
	var imgs []*image.Gray
	for _, s := range camtest.Set() {
		if s.Variant == camtest.Empty && s.Width == 1280 {
			img, err := camtest.Render(s)
			if err != nil {
				b.Fatal(err)
			}
			imgs = append(imgs, img)
		}
	}
	for _, noScreen := range []bool{false, true} {
		name := "screen"
		if noScreen {
			name = "noscreen"
		}
		b.Run(name, func(b *testing.B) {
			d := NewDecoder()
			d.noScreen = noScreen
			b.ReportAllocs()
			defer startCPU(b)()
			i := 0
			for b.Loop() {
				if _, err := d.Decode(imgs[i%len(imgs)]); err == nil {
					b.Fatal("an empty frame decoded")
				}
				i++
			}
		})
	}
}

// BenchmarkDecodeEUDCC decodes the EU DCC test corpus's QR PNGs in turn
// (certificate images of 256 to 1860 pixels a side), grey planes already
// in memory. cpu-ms/op is the mean per PNG; profile it with -cpuprofile
// to see where a clean image's time goes.
func BenchmarkDecodeEUDCC(b *testing.B) {
	var imgs []*image.Gray
	_, files := euDCCPNGs(b, false)
	for _, f := range files {
		img := loadPNG(b, f)
		imgs = append(imgs, img)
	}
	d := NewDecoder()
	b.ReportAllocs()
	defer startCPU(b)()
	i := 0
	for b.Loop() {
		if _, err := d.Decode(imgs[i%len(imgs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
}

// BenchmarkStillIdle720 feeds the stream of an idle gate camera: a
// cluttered 1280×720 scene without a code (the foreign generator's, with
// the sensor's noise drawn afresh in each frame), 15 frames a second, to
// the decoder alone (decoder) and through Still (still), which decodes a
// frame in full once a second while nothing moves. Every 150 frames the
// scene changes to another (four in turn), which Still decodes until the
// view has settled again. cpu-ms/op is the mean CPU time per frame;
// skipped the share of frames Still did not decode.
func BenchmarkStillIdle720(b *testing.B) {
	scenes := idleScenes(1280, 720, 4)
	for _, sc := range scenes {
		for i := range idleNoises {
			sc.frame(b, i)
		}
	}
	frame := func(i int) *image.Gray { return scenes[(i/150)%len(scenes)].frame(b, i) }
	for _, still := range []bool{false, true} {
		name := "decoder"
		if still {
			name = "still"
		}
		b.Run(name, func(b *testing.B) {
			d := NewDecoder()
			clk := &fakeClock{t: time.Date(2026, 12, 7, 12, 0, 0, 0, time.UTC)}
			s := NewStill(d, StillConfig{Now: clk.now})
			b.ReportAllocs()
			defer startCPU(b)()
			i := 0
			for b.Loop() {
				clk.t = clk.t.Add(time.Second / 15)
				var err error
				if still {
					_, err = s.Decode(frame(i))
				} else {
					_, err = d.Decode(frame(i))
				}
				if err == nil {
					b.Fatal("an empty frame decoded")
				}
				i++
			}
			if still {
				frames, skipped := s.Skipped()
				b.ReportMetric(float64(skipped)/float64(frames), "skipped")
			}
		})
	}
}

// BenchmarkStillCompare720 is Still's own cost on a 720p frame: sampling
// it and comparing it with the reference, for a frame it skips.
func BenchmarkStillCompare720(b *testing.B) {
	sc := idleScenes(1280, 720, 1)[0]
	a, c := sc.frame(b, 0), sc.frame(b, 1)
	s := NewStill(nil, StillConfig{})
	s.compare(a)
	s.take(a, false)
	s.take(c, s.compare(c))
	defer startCPU(b)()
	for b.Loop() {
		if !s.compare(a) {
			b.Fatal("an idle frame changed")
		}
	}
}
