package camera

import (
	"os"
	"strings"
	"testing"
)

func TestZZDebug(t *testing.T) {
	names := os.Getenv("DBG")
	if names == "" {
		t.Skip()
	}
	for _, name := range strings.Split(names, ",") {
		f, _ := os.Open("/tmp/camset/" + name + ".png")
		img, _ := LoadGray(f)
		f.Close()
		d := NewDecoder()
		pl, _ := planeOf(img)
		var half plane
		d.half, half = downscale2(d.half, pl)
		for _, p := range []plane{half, pl} {
			for _, mr := range []int{2, 4, 6, 10} {
				m := d.bin.binarize(p, mr)
				c := d.findFinders(m)
				d.budget = 24
				r, ok := d.locateMatrix(m, p, false)
				t.Logf("%s %d range %d: %d cands, top %v; ok=%v %.6q", name, p.w, mr, len(c), c[:min(3, len(c))], ok, r.Payload)
			}
		}
	}
}
