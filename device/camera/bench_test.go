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
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ReportAllocs()
			b.ResetTimer()
			t0 := threadCPU()
			for b.Loop() {
				_, _ = d.Decode(img)
			}
			b.ReportMetric(float64(threadCPU()-t0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
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
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			b.ReportAllocs()
			b.ResetTimer()
			t0 := threadCPU()
			i := 0
			for b.Loop() {
				if _, err := d.Decode(imgs[i%len(imgs)]); err == nil {
					b.Fatal("an empty frame decoded")
				}
				i++
			}
			b.ReportMetric(float64(threadCPU()-t0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
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
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	b.ReportAllocs()
	b.ResetTimer()
	t0 := threadCPU()
	i := 0
	for b.Loop() {
		if _, err := d.Decode(imgs[i%len(imgs)]); err != nil {
			b.Fatal(err)
		}
		i++
	}
	b.ReportMetric(float64(threadCPU()-t0)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
}
