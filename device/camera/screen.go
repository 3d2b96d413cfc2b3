package camera

// The screen rejects frames without a code before any of the decoder's
// passes runs: a fixed camera at a gate sees empty frames most of the
// time, and every pass of Decode runs on an empty frame.
//
// It reads every screenStep-th row of the grey plane (never the whole
// frame), smoothed with [1 2 1]/4 against a phone screen's pixel grid,
// and splits it into light and dark runs at its edges: a run ends
// where the grey level has moved from the run's extreme towards the other
// side by more than the frame's noise allows (screenSNR times its noise
// level, see noiseLevel), so that faint, inverted and unevenly lit codes
// split as well as crisp ones, and neither the edge of a card nor an
// illumination gradient shifts the split. It looks for five runs in about
// the 1:1:3:1:1 ratio of a finder pattern, of either polarity, whose
// rings differ in grey level by more than noise does, and confirms each
// along its column and, where the contrast allows, both diagonals (the
// same ratio holds along every line through a finder's centre).
//
// A frame passes when three such places could be the three finder
// patterns of one code: module sizes within a factor maxFinderSizeRatio,
// and one of them at a corner with the other two at QR distances and
// about a right angle (finderCorner, the test the decoder applies to its
// own finder triples). Each check is cheap and the number of places kept
// is bounded, so an empty frame costs a fraction of one pass.

// screenFullMax is the largest frame (640×480) the screen reads at full
// scale; larger frames are read at half scale, where a module of the
// smallest code the decoder reads still spans a pixel and more.
const screenFullMax = 640 * 480

const (
	screenStep = 2 // rows between scanned rows
	// screenMinDelta is the smallest grey-level step taken for an edge,
	// whatever the noise: the faintest codes the decoder reads have a
	// contrast of about 16.
	screenMinDelta = 6
	// screenSNR is how many times the frame's noise level an edge's step
	// and the difference between a finder's rings must reach. Sensor
	// noise on a plain wall makes runs of 1:1:3:1:1 by chance, at the
	// scale of a few pixels, whose levels differ by up to about twice
	// the noise level; the rings of a finder differ by the code's
	// contrast.
	screenSNR = 3
)

// screenScratch holds the screen's buffers between frames.
type screenScratch struct {
	edges    []int32 // starts of the runs of a row
	lineEdge []int32 // and of a column or diagonal
	exts     []int32 // scratch for splitRuns
	row, col []byte  // smoothed lines
	line     []byte
	hits     []finder
	delta    int // the grey-level step of an edge in this frame
	// ms is the mean module size, in pixels of the screened plane, of
	// the three places that passed the frame; 0 when the frame passed
	// because it was too busy to tell.
	ms       float64
	rejected int // frames rejected, for tests
}

// finderHint reports whether the plane has three places that look like
// the finder patterns of one code.
func (s *screenScratch) finderHint(p plane) bool {
	s.hits = s.hits[:0]
	s.ms = 0
	s.delta = max(screenMinDelta, screenSNR*noiseLevel(p))
	for y := screenStep / 2; y < p.h; y += screenStep {
		s.row = smooth121(s.row, p.pix[y*p.stride:y*p.stride+p.w])
		if s.scanRow(p, s.row, y) {
			return true
		}
	}
	return false
}

// splitRuns splits line into alternate light and dark runs and returns
// the start of each run followed by the line's end (so dst[0] is 0, and
// run k spans dst[k] to dst[k+1]), and whether the first run is dark. A
// run cut by the line's ends counts: a code without a quiet zone
// (certificate PNGs) has its finders' outer rings at the image's edge. A run is found where the grey level has moved by more than delta
// from its extreme (the darkest level of a dark run) towards the other
// side; the edge between two runs is where the line crosses the middle
// of their extremes, so that run lengths keep their ratios under blur
// and uneven light. ext is scratch space for the runs' extremes.
func splitRuns(dst, ext []int32, line []byte, delta int) (edges, exts []int32, firstDark bool) {
	dst, ext = dst[:0], ext[:0]
	if len(line) == 0 {
		return dst, ext, false
	}
	dst = append(dst, 0)
	lo, hi := int(line[0]), int(line[0])
	loX, hiX := 0, 0
	state := -1 // 0 light, 1 dark, -1 not yet known
	for x, b := range line {
		v := int(b)
		switch state {
		case 1: // dark: lo is the darkest level so far
			if v < lo {
				lo, loX = v, x
			} else if v-lo > delta {
				ext = append(ext, int32(loX))
				state, hi, hiX = 0, v, x
			}
		case 0:
			if v > hi {
				hi, hiX = v, x
			} else if hi-v > delta {
				ext = append(ext, int32(hiX))
				state, lo, loX = 1, v, x
			}
		default:
			if v < lo {
				lo, loX = v, x
			}
			if v > hi {
				hi, hiX = v, x
			}
			switch {
			case hi-v > delta: // fell: the line started light
				ext = append(ext, int32(hiX))
				state, lo, loX = 1, v, x
			case v-lo > delta:
				ext = append(ext, int32(loX))
				state, hi, hiX = 0, v, x
				firstDark = true
			}
		}
	}
	switch state {
	case 1:
		ext = append(ext, int32(loX))
	case 0:
		ext = append(ext, int32(hiX))
	}
	for k := 1; k < len(ext); k++ {
		p0, p1 := int(ext[k-1]), int(ext[k])
		mid := (int(line[p0]) + int(line[p1])) / 2
		x := p0 + 1
		if line[p0] > line[p1] { // falling
			for x < p1 && int(line[x]) > mid {
				x++
			}
		} else {
			for x < p1 && int(line[x]) < mid {
				x++
			}
		}
		dst = append(dst, int32(x))
	}
	dst = append(dst, int32(len(line)))
	return dst, ext, firstDark
}

// scanRow looks for finder-like runs along row y, confirms them along
// their column, and reports whether a third place of a code's finder
// patterns was found.
func (s *screenScratch) scanRow(p plane, row []byte, y int) bool {
	var firstDark bool
	s.edges, s.exts, firstDark = splitRuns(s.edges, s.exts, row, s.delta)
	e := s.edges
	// Five runs from e[i] on; the one from e[i] is dark when the first
	// run is and i is even.
	for i := 0; i+5 < len(e); i++ {
		var runs [5]int
		for k := range runs {
			runs[k] = int(e[i+k+1] - e[i+k])
		}
		if _, ok := finderRatio(runs); !ok {
			continue
		}
		dark := (i%2 == 0) == firstDark
		contrast := ringContrast(row, int(e[i]), runs, dark)
		if contrast < s.delta {
			continue
		}
		cx := int(e[i+2]) + runs[2]/2
		total := runs[0] + runs[1] + runs[2] + runs[3] + runs[4]
		if s.confirmLine(p, cx, y, 0, 1, total, dark) &&
			(contrast < screenDiagContrast || (s.confirmLine(p, cx, y, 1, 1, total, dark) && s.confirmLine(p, cx, y, 1, -1, total, dark))) &&
			s.addHit(vec{float64(cx), float64(y)}, float64(total)) {
			return true
		}
	}
	return false
}

// screenDiagContrast is the contrast of the rings from which a place must
// show the pattern along both diagonals too: fainter codes' diagonals,
// through the corners of modules, often lose it, and the decoder reads
// those. A random grid of module-sized cells often shows the pattern
// along a row, a column and one diagonal, rarely along all four.
const screenDiagContrast = 48

// confirmLine checks the line through (x, y) in direction (dx, dy) for
// the 1:1:3:1:1 pattern, with the centre of the given polarity, and a
// length within a factor of 2.5 of the row's (in steps).
func (s *screenScratch) confirmLine(p plane, x, y, dx, dy, total int, dark bool) bool {
	reach := 3 * total
	if cap(s.line) < 2*reach+1 {
		s.line = make([]byte, 2*reach+1)
	}
	col := s.line[:0]
	c := 0
	for i := -reach; i <= reach; i++ {
		xx, yy := x+i*dx, y+i*dy
		if xx < 0 || yy < 0 || xx >= p.w || yy >= p.h {
			if i < 0 {
				continue
			}
			break
		}
		if i == 0 {
			c = len(col)
		}
		col = append(col, p.pix[yy*p.stride+xx])
	}
	s.line = col
	s.col = smooth121(s.col, col)
	col = s.col
	var firstDark bool
	s.lineEdge, s.exts, firstDark = splitRuns(s.lineEdge, s.exts, col, s.delta)
	e := s.lineEdge
	// The run holding the centre, and two runs each side of it.
	k := 0
	for k < len(e) && int(e[k]) <= c {
		k++
	}
	// Run k-1 spans [e[k-1], e[k]).
	if k < 3 || k+2 >= len(e) {
		return false
	}
	if runDark := ((k-1)%2 == 0) == firstDark; runDark != dark {
		return false
	}
	var v [5]int
	for j := range v {
		v[j] = int(e[k-2+j] - e[k-3+j])
	}
	if _, ok := finderRatio(v); !ok || ringContrast(col, int(e[k-3]), v, dark) < s.delta {
		return false
	}
	vt := v[0] + v[1] + v[2] + v[3] + v[4]
	return 4*vt >= total && 2*vt <= 5*total
}

// ringContrast returns by how much every ring of the centre's colour
// (dark or light) in the five runs of line from start is darker (or
// lighter) than every ring of the other colour, in mean grey levels.
// Sensor noise makes runs of 1:1:3:1:1 by chance whose levels differ by
// about the noise level; the rings of a finder differ by the code's
// contrast.
func ringContrast(line []byte, start int, runs [5]int, dark bool) int {
	var mean [5]int
	i := start
	for k, n := range runs {
		sum := 0
		for _, v := range line[i : i+n] {
			sum += int(v)
		}
		mean[k] = sum / max(n, 1)
		i += n
	}
	centre := [2]int{min(mean[0], mean[2], mean[4]), max(mean[0], mean[2], mean[4])}
	ring := [2]int{min(mean[1], mean[3]), max(mean[1], mean[3])}
	if dark {
		return ring[0] - centre[1]
	}
	return centre[0] - ring[1]
}

// smooth121 writes the line src filtered with the kernel [1 2 1]/4 into
// dst and returns it. The filter keeps the rings of a finder a pixel wide
// and more, and takes out most of a phone screen's pixel grid (a pitch of
// two to four camera pixels), which would otherwise split the light
// modules into runs.
func smooth121(dst, src []byte) []byte {
	n := len(src)
	if cap(dst) < n {
		dst = make([]byte, n)
	}
	dst = dst[:n]
	if n < 3 {
		copy(dst, src)
		return dst
	}
	dst[0], dst[n-1] = src[0], src[n-1]
	for x := 1; x < n-1; x++ {
		dst[x] = byte((int(src[x-1]) + 2*int(src[x]) + int(src[x+1]) + 2) >> 2)
	}
	return dst
}

// noiseLevel estimates the noise of p in grey levels after smooth121:
// from the lower quartile of the absolute differences of neighbouring
// smoothed pixels along every 8th row, scaled so that for Gaussian noise
// it is the deviation of the smoothed noise (a quartile, not the median,
// so that a code filling the frame with edges does not count as noise).
func noiseLevel(p plane) int {
	var hist [4*255 + 1]int
	n := 0
	for y := 0; y < p.h; y += 8 {
		r := p.pix[y*p.stride : y*p.stride+p.w]
		prev := -1
		for x := 1; x+1 < len(r); x++ {
			s := int(r[x-1]) + 2*int(r[x]) + int(r[x+1])
			if prev >= 0 {
				hist[max(s-prev, prev-s)]++
				n++
			}
			prev = s
		}
	}
	// hist counts 4×|d|, d the difference of neighbours, whose deviation
	// is half the noise's σ; the smoothed noise's deviation is 0.61 σ,
	// and the lower quartile of |d| is 0.32 times its deviation.
	return (quartile(hist[:], n)*96 + 50) / 100
}

// quartile returns the lower quartile of n values counted in hist.
func quartile(hist []int, n int) int {
	c := 0
	for d, k := range hist {
		if c += k; 4*c > n {
			return d
		}
	}
	return 0
}

// addHit records a confirmed place of the given size (in pixels, across
// the pattern) and reports whether it and two earlier places could be the
// three finder patterns of one code (see finderCorner).
func (s *screenScratch) addHit(c vec, total float64) bool {
	for _, h := range s.hits {
		if h.c.sub(c).norm() < total {
			return false
		}
	}
	if len(s.hits) >= screenMaxHits {
		return true // a frame this busy goes through the passes
	}
	f := finder{c: c, ms: total / 7}
	for j, a := range s.hits {
		for _, b := range s.hits[j+1:] {
			if finderTriangle(f, a, b) {
				s.ms = (f.ms + a.ms + b.ms) / 3
				return true
			}
		}
	}
	s.hits = append(s.hits, f)
	return false
}

// finderTriangle reports whether a, b and c could be the finder patterns
// of one code: about the same module size, and one of them at a corner
// (see finderCorner).
func finderTriangle(a, b, c finder) bool {
	lo := min(a.ms, b.ms, c.ms)
	hi := max(a.ms, b.ms, c.ms)
	if lo <= 0 || hi > maxFinderSizeRatio*lo {
		return false
	}
	ms := (a.ms + b.ms + c.ms) / 3
	_, ok1 := finderCorner(a.c, b.c, c.c, ms)
	_, ok2 := finderCorner(b.c, c.c, a.c, ms)
	_, ok3 := finderCorner(c.c, a.c, b.c, ms)
	return ok1 || ok2 || ok3
}

// screenMaxHits bounds the places the screen keeps per frame.
const screenMaxHits = 48
