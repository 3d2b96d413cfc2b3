package camera

import (
	"testing"

	"sentinel/device/camera/camtest"
)

// benchFrame renders one 1280×720 frame of the benchmark set.
func benchFrame(b *testing.B, v camtest.Variant, seed uint64) camtest.Spec {
	b.Helper()
	return camtest.Spec{Width: 1280, Height: 720, Payload: camtest.Payloads()[0], ECC: "M", Variant: v, Seed: seed}
}

func BenchmarkDecode720(b *testing.B) {
	for _, v := range []camtest.Variant{camtest.Clean, camtest.Persp40, camtest.Blur, camtest.LowContrast, camtest.Noise, camtest.Inverted, camtest.Empty} {
		b.Run(string(v), func(b *testing.B) {
			s := benchFrame(b, v, 3)
			img, err := camtest.Render(s)
			if err != nil {
				b.Fatal(err)
			}
			d := NewDecoder()
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				_, _ = d.Decode(img)
			}
		})
	}
}
