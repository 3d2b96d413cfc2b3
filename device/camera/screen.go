package camera

import "math"

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
// along its column and, where the contrast allows, both diagonals and
// the four lines between those (the same ratio holds along every line
// through a finder's centre; see betweenLines).
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

// A run whose level moves back by a little more than the frame's noise
// is not always ended: JPEG ringing and a phone's sharpening put bumps of
// 7-12 grey levels inside a finder's dark ring, where the frame's noise
// (and so delta) is 2 levels, and such a bump split the ring into three
// runs, so that no row through a clean code's finder showed 1:1:3:1:1
// (two clean version 1-2 codes of the independent generator, turned by
// 40°, were rejected by the screen). While a run is shorter than
// splitSwingRuns times the run before it, it ends only on a move of more
// than 1/splitSwing of the swing that began it: a finder's thin rings
// swing by most of the code's contrast even blurred. Up to twice that
// length, it ends on a move of more than half that: a finder's core is
// three times its light ring, and a phone's sharpening puts an undershoot
// at its edges, from which the level between drifts back by more than
// delta (12 grey levels where delta was 9: the core of a sharpened
// version 2 code turned by 41° split into three runs, and the screen
// rejected the frame). A longer run (a plain background before a faint
// code) ends on delta alone, so a strong edge does not hide the faint
// swings after it.
const (
	splitSwing     = 4
	splitSwingRuns = 2
)

// screenScratch holds the screen's buffers between frames.
type screenScratch struct {
	// still is set for images under fullFirstMax pixels: certificate
	// PNGs and screenshots, not camera frames. Their places skip
	// betweenLines, which is there to reject a camera's textures (random
	// cells, keyboards) and costs a clean image with many finder-like
	// runs in its data most of its screening time.
	still    bool
	edges    []int32 // starts of the runs of a row
	lineEdge []int32 // and of a column or diagonal
	exts     []int32 // scratch for splitRuns
	row, col []byte  // smoothed lines
	line     []byte
	hits     []screenHit
	delta    int // the grey-level step of an edge in this frame
	// What confirmLine last found: see there.
	lineMid, lineContrast int
	// ms is the mean module size, in pixels of the screened plane, of
	// the three places that passed the frame; 0 when the frame passed
	// because it was too busy to tell.
	ms float64
	// tri are the three places that passed the frame, when ms > 0: the
	// decoder orders its passes by their centres' polarity and their
	// rings' contrast.
	tri      [3]screenHit
	rejected int // frames rejected, for tests
	// maxTotal is the widest pattern, in pixels, scanRow takes; 0 for
	// any (see finderHintSmall).
	maxTotal int
	busy     []busySpan
	spanCols [][2]int // scratch for finderHintSmall
	// small counts frames passed by finderHintSmall, for tests.
	small int
	// For tests, since the decoder's frame began: planePixels counts the
	// pixels of the planes finderHint screened, rowSamples and
	// lineSamples the grey levels the screen read along rows, and along
	// the lines that confirm a place (confirmLine; three a point where it
	// smooths across).
	planePixels, rowSamples, lineSamples int
}

// screenHit is a place confirmed as finder-like.
type screenHit struct {
	finder
	dark     bool // a dark centre
	contrast int  // the rings' contrast along the row
}

// finderHint reports whether the plane has three places that look like
// the finder patterns of one code. It also notes, for finderHintSmall,
// the rows where runs of a few pixels follow one another (see
// noteBusy).
func (s *screenScratch) finderHint(p plane) bool {
	s.hits = s.hits[:0]
	s.busy = s.busy[:0]
	s.ms = 0
	s.delta = max(screenMinDelta, screenSNR*noiseLevel(p, 8))
	s.planePixels += p.w * p.h
	for y := screenStep / 2; y < p.h; y += screenStep {
		s.row = smooth121(s.row, p.pix[y*p.stride:y*p.stride+p.w])
		s.rowSamples += p.w
		if s.scanRow(p, s.row, 0, y) {
			return true
		}
		s.noteBusy(y)
	}
	return false
}

// busySpan is a stretch of a row, in pixels of the plane finderHint read,
// where short runs follow one another: a code's modules, or texture.
type busySpan struct{ y, x0, x1 int32 }

const (
	// busyRun is the longest run, in half-scale pixels, noteBusy counts
	// as short: two modules of under 2 pixels, blurred.
	busyRun = 4
	// busyRuns is how many short runs in a row make a busy span: a
	// finder alone is five, a row through a code of version 1 (21
	// modules) has about ten.
	busyRuns = 6
	// maxBusy bounds the spans kept per frame, and so finderHintSmall's
	// work on a frame full of fine texture.
	maxBusy = 64
)

// noteBusy records the spans of the row just split (s.edges) where at
// least busyRuns runs of at most busyRun pixels follow one another.
func (s *screenScratch) noteBusy(y int) {
	e := s.edges
	start, n := 0, 0
	for k := 0; k+1 < len(e); k++ {
		if e[k+1]-e[k] <= busyRun {
			if n == 0 {
				start = k
			}
			n++
			continue
		}
		if n >= busyRuns {
			s.addBusy(y, e[start], e[k])
		}
		n = 0
	}
	if n >= busyRuns {
		s.addBusy(y, e[start], e[len(e)-1])
	}
}

// addBusy records a busy span of row y, joined to the row's last one.
func (s *screenScratch) addBusy(y int, x0, x1 int32) {
	if n := len(s.busy); n > 0 && s.busy[n-1].y == int32(y) {
		s.busy[n-1].x1 = x1
		return
	}
	if len(s.busy) < maxBusy {
		s.busy = append(s.busy, busySpan{int32(y), x0, x1})
	}
}

// finderHintSmall reports whether the full-scale plane p of a frame
// whose half-scale plane finderHint rejected has three places that look
// like the finder patterns of a small code: one whose modules span under
// 4 pixels at full scale, under 2 at half scale, where box averaging and
// the [1 2 1]/4 smoothing leave a finder's one-module rings too faint and
// too mixed with their neighbours (more so under blur) to show 1:1:3:1:1,
// though runs of two modules and more still split. It reads full-scale
// rows only around the busy spans finderHint noted (a code's rows are
// busy from its finders across), every screenSmallStep-th row (a finder
// core of three such modules spans two of them or more), and takes only
// patterns narrow enough that the half-scale screen could have missed
// them (see screenSmallRowTotal). An empty frame without fine texture
// costs next to nothing more.
func (s *screenScratch) finderHintSmall(p plane) bool {
	spans := s.busy
	s.hits = s.hits[:0]
	s.ms = 0
	if len(spans) == 0 {
		return false
	}
	s.delta = max(screenMinDelta, screenSNR*noiseLevel(p, 32))
	s.maxTotal = screenSmallRowTotal
	defer func() { s.maxTotal = 0 }()
	// Half-scale row y covers full rows 2y and 2y+1, and the screen read
	// every other one: a span stands for full rows 2y-1 to 2y+2, and a
	// finder's core lies within a finder's width of a busy row. Each
	// full-scale row is read once over the union of the windows of the
	// spans around it: windows of neighbouring rows differ in their
	// columns, and a row read over the first window alone cut a finder
	// that only the next one held.
	y0 := max(0, 2*int(spans[0].y)-screenSmallTotal/2)
	yEnd := min(p.h-1, 2*int(spans[len(spans)-1].y)+screenSmallTotal/2)
	first := 0 // the first span whose window may reach row y
	for y := y0; y <= yEnd; y += screenSmallStep {
		for first < len(spans) && 2*int(spans[first].y)+screenSmallTotal/2 < y {
			first++
		}
		iv := s.spanCols[:0]
		for _, sp := range spans[first:] {
			if 2*int(sp.y)-screenSmallTotal/2 > y {
				break
			}
			iv = append(iv, [2]int{max(0, 2*int(sp.x0)-screenSmallTotal), min(p.w, 2*int(sp.x1)+screenSmallTotal)})
		}
		s.spanCols = iv
		// Merge the windows' columns (a few, in no order).
		sortSpans(iv)
		for i := 0; i < len(iv); {
			x0, x1 := iv[i][0], iv[i][1]
			for i++; i < len(iv) && iv[i][0] <= x1; i++ {
				x1 = max(x1, iv[i][1])
			}
			r := p.pix[y*p.stride+x0 : y*p.stride+x1]
			s.row = smooth121(s.row, r)
			s.rowSamples += len(r)
			if s.scanRow(p, s.row, x0, y) {
				s.small++
				return true
			}
		}
	}
	return false
}

// sortSpans sorts the column intervals iv by their starts.
func sortSpans(iv [][2]int) {
	for i := 1; i < len(iv); i++ {
		for j := i; j > 0 && iv[j][0] < iv[j-1][0]; j-- {
			iv[j], iv[j-1] = iv[j-1], iv[j]
		}
	}
}

const (
	// screenSmallTotal is the width, in full-scale pixels, of a finder
	// of seven modules of 4 pixels: how far around a busy span
	// finderHintSmall reads.
	screenSmallTotal = 28
	// screenSmallRowTotal is the widest pattern, in full-scale pixels,
	// finderHintSmall takes along a row: the same finder turned by 45°,
	// which a row crosses along its diagonal (28·√2). With 28, a version
	// 1 code of 3.5-pixel modules turned by 45° showed its finders only in
	// runs of 31-35 pixels and was rejected as empty.
	screenSmallRowTotal = 40
	screenSmallStep     = 3
)

// splitRuns splits line into alternate light and dark runs and returns
// the start of each run followed by the line's end (so dst[0] is 0, and
// run k spans dst[k] to dst[k+1]), and whether the first run is dark. A
// run cut by the line's ends counts: a code without a quiet zone
// (certificate PNGs) has its finders' outer rings at the image's edge. A
// run ends where the grey level has moved by more than delta from its
// extreme (the darkest level of a dark run) towards the other side and,
// while the run is shorter than twice the run before it, by more than a
// quarter of the swing that began it, and than an eighth while shorter
// than four times (see splitSwing); the edge between
// two runs is where the line crosses the middle of their extremes, so
// that run lengths keep their ratios under blur and uneven light. ext is
// scratch space for the runs' extremes.
func splitRuns(dst, ext []int32, line []byte, delta int) (edges, exts []int32, firstDark bool) {
	dst, ext = dst[:0], ext[:0]
	if len(line) == 0 {
		return dst, ext, false
	}
	dst = append(dst, 0)
	lo, hi := int(line[0]), int(line[0])
	loX, hiX := 0, 0
	state := -1 // 0 light, 1 dark, -1 not yet known
	// start is where the current run's swing began, prevLen the length of
	// the run before it (0 while there is none; the first run counts from
	// the line's start), from the level (the last run's extreme) where
	// the swing began.
	start, prevLen, from := 0, 0, 0
	// need returns the move that ends the current run at x: see
	// splitSwing.
	need := func(x, swing int) int {
		switch n := x - start; {
		case n < splitSwingRuns*prevLen:
			return max(delta, swing/splitSwing)
		case n < 2*splitSwingRuns*prevLen:
			return max(delta, swing/(2*splitSwing))
		}
		return delta
	}
	for x, b := range line {
		v := int(b)
		switch state {
		case 1: // dark: lo is the darkest level so far
			if v < lo {
				lo, loX = v, x
			} else if v-lo > delta && v-lo > need(x, from-lo) {
				ext = append(ext, int32(loX))
				prevLen, start, from = x-start, x, lo
				state, hi, hiX = 0, v, x
			}
		case 0:
			if v > hi {
				hi, hiX = v, x
			} else if hi-v > delta && hi-v > need(x, hi-from) {
				ext = append(ext, int32(hiX))
				prevLen, start, from = x-start, x, hi
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
				prevLen, start, from = x, x, hi
				state, lo, loX = 1, v, x
			case v-lo > delta:
				ext = append(ext, int32(loX))
				prevLen, start, from = x, x, lo
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
func (s *screenScratch) scanRow(p plane, row []byte, x0, y int) bool {
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
		cx := x0 + int(e[i+2]) + runs[2]/2
		total := runs[0] + runs[1] + runs[2] + runs[3] + runs[4]
		if s.maxTotal > 0 && total > s.maxTotal {
			continue
		}
		if s.known(vec{float64(cx), float64(y)}, float64(total)) {
			// A finder's core spans several of the rows read: addHit
			// would take this place for the one an earlier row
			// confirmed, so its lines need not be read again.
			continue
		}
		if !s.confirmLine(p, cx, y, 0, 2, total, dark, true) {
			continue
		}
		// The place's contrast, for the decoder's order of passes.
		placeContrast := max(contrast, s.lineContrast)
		// A row along the border of two rows of modules sees them
		// half-mixed, at low contrast: the place's contrast is the
		// better of its row's and its column's.
		if max(contrast, s.lineContrast) >= screenDiagContrast {
			// The column's centre run is the core's centre, up to 1.5
			// modules below the row that found the place.
			cy := y + s.lineMid
			// Modules under 3 pixels: a diagonal through the corners
			// of one-module rings a pixel or two wide often loses the
			// pattern to sharpening or JPEG ringing, the other one and
			// the four lines between still show it.
			small := total < screenAcrossMin
			d1 := s.confirmLine(p, cx, y, 2, 2, total, dark, true)
			if !d1 && !small {
				continue
			}
			if d2 := s.confirmLine(p, cx, y, 2, -2, total, dark, true); !d2 && (!d1 || !small) {
				continue
			}
			if !s.still && !s.betweenLines(p, cx, cy, total, dark) {
				continue
			}
		}
		if s.addHit(vec{float64(cx), float64(y)}, float64(total), dark, placeContrast) {
			return true
		}
	}
	return false
}

// screenDiagContrast is the contrast of the rings from which a place must
// show the pattern along both diagonals and between its four lines too
// (see betweenLines): fainter codes' diagonals, through the corners of
// modules, often lose it, and the decoder reads those. A random grid of
// module-sized cells often shows the pattern along a row, a column and
// one diagonal, rarely along all four, and more rarely still along the
// eight lines.
const screenDiagContrast = 48

// screenAcrossMin is the smallest pattern width, in pixels (3 pixels a
// module), whose columns and diagonals confirmLine also smooths across
// the line. Smoothing across with [1 2 1]/4 takes the line's noise to
// 0.61 of the row's, so a ring contrast of two thirds of the row's
// threshold is about the same multiple of its noise, and a single noise
// spike no longer splits the core of a small finder in a noisy frame
// (modules of 3-4 pixels): every row through a finder tries the same
// column, so such a spike hid the finder from all of them, and those
// codes passed the screen only on a chance triangle of places among their
// own modules, which betweenLines now rejects. Below 3 pixels a module,
// the pixels beside the line (1-1.4 pixels away) fall in the next ring
// and blur it: certificate PNGs with modules of 2 pixels lost their
// finders. A still image (see screenScratch.still) whose edge step is
// screenMinDelta, the least (noise of 2 grey levels or less: a
// certificate PNG, a screenshot), is not smoothed across: there is no
// noise to quiet, and the two reads beside each point were two thirds of
// the screen's lines there.
const screenAcrossMin = 21

// confirmLine checks the line through (x, y) in direction (dx, dy), in
// half pixels per step, for the 1:1:3:1:1 pattern, with the centre of the
// given polarity, and a length within a factor of 2.5 of the row's (in
// steps); when weigh is set, its rings' levels must also differ by the
// frame's edge step (see screenAcrossMin). The line is smoothed with
// [1 2 1]/4 along, and across for patterns of screenAcrossMin pixels and
// more, except in a clean still image. It leaves in s.lineMid where the
// middle of the centre run lies, in steps from (x, y), and in
// s.lineContrast the rings' contrast.
func (s *screenScratch) confirmLine(p plane, x, y, dx, dy, total int, dark, weigh bool) bool {
	clean := s.still && s.delta == screenMinDelta
	across := total >= screenAcrossMin && !clean
	minContrast := 1
	switch {
	case weigh && across:
		minContrast = 2 * s.delta / 3
	case weigh:
		minContrast = s.delta
	}
	// The pattern spans at most 2.5 totals (see the return), around a
	// centre up to 1.5 modules from (x, y).
	reach := 2 * total
	if cap(s.line) < 2*reach+1 {
		s.line = make([]byte, 2*reach+1)
	}
	var col []byte
	var c int
	if dx&1 == 0 && dy&1 == 0 {
		col, c = s.pixelLine(p, x, y, dx/2, dy/2, reach, across)
	} else {
		col, c = s.halfLine(p, x, y, dx, dy, reach, across)
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
	s.lineContrast = ringContrast(col, int(e[k-3]), v, dark)
	if _, ok := finderRatio(v); !ok || s.lineContrast < minContrast {
		return false
	}
	s.lineMid = (int(e[k-1])+int(e[k]))/2 - c
	vt := v[0] + v[1] + v[2] + v[3] + v[4]
	return 4*vt >= total && 2*vt <= 5*total
}

// halfLine reads the line through (x, y) in direction (dx, dy), in half
// pixels per step, reach steps each way, where it lies in the plane, with
// plane.halfAt; across smooths each sample with [1 2 1]/4 across the line
// where both neighbours lie in the plane. It returns the samples and the
// index of (x, y) among them.
func (s *screenScratch) halfLine(p plane, x, y, dx, dy, reach int, across bool) ([]byte, int) {
	col := s.line[:0]
	c := 0
	for i := -reach; i <= reach; i++ {
		x2, y2 := 2*x+i*dx, 2*y+i*dy
		v, ok := p.halfAt(x2, y2)
		if !ok {
			if i < 0 {
				continue
			}
			break
		}
		if across {
			a, okA := p.halfAt(x2-dy, y2+dx)
			b, okB := p.halfAt(x2+dy, y2-dx)
			if okA && okB {
				v = byte((int(a) + 2*int(v) + int(b) + 2) >> 2)
			}
		}
		if i == 0 {
			c = len(col)
		}
		col = append(col, v)
	}
	s.lineSamples += len(col)
	if across {
		s.lineSamples += 2 * len(col)
	}
	return col, c
}

// pixelLine is halfLine for a line through whole pixels, (a, b) pixels
// per step (the column and the diagonals): it reads the plane's bytes
// directly, over the steps it works out lie in the plane, with the same
// result. The confirming lines are most of the screen's work on a clean
// image, whose data holds many finder-like runs along its rows.
func (s *screenScratch) pixelLine(p plane, x, y, a, b, reach int, across bool) ([]byte, int) {
	lo, hi := stepRange(x, a, p.w, reach)
	lo2, hi2 := stepRange(y, b, p.h, reach)
	lo, hi = max(lo, lo2), min(hi, hi2)
	if lo > 0 {
		// (x, y) is off the plane and so is every later step:
		// halfLine stops there.
		hi = lo - 1
	}
	n := max(0, hi-lo+1)
	col := s.line[:n]
	c := 0
	if lo <= 0 && 0 <= hi {
		c = -lo
	}
	step := b*p.stride + a
	i := (y+lo*b)*p.stride + x + lo*a
	if !across {
		for k := range col {
			col[k] = p.pix[i]
			i += step
		}
		s.lineSamples += n
		return col, c
	}
	// The neighbours across, (-b, a) and (b, -a) pixels away.
	off := a*p.stride - b
	px, py := x+lo*a, y+lo*b
	for k := range col {
		v := p.pix[i]
		if uint(px-b) < uint(p.w) && uint(py+a) < uint(p.h) && uint(px+b) < uint(p.w) && uint(py-a) < uint(p.h) {
			v = byte((int(p.pix[i+off]) + 2*int(v) + int(p.pix[i-off]) + 2) >> 2)
		}
		col[k] = v
		i += step
		px += a
		py += b
	}
	s.lineSamples += 3 * n
	return col, c
}

// stepRange returns the steps i in [-reach, reach] for which x+i*a lies
// in [0, n); lo > hi when there are none.
func stepRange(x, a, n, reach int) (lo, hi int) {
	switch {
	case a == 0:
		if x < 0 || x >= n {
			return 1, 0
		}
		return -reach, reach
	case a < 0:
		lo, hi = stepRange(x, -a, n, reach)
		return -hi, -lo
	}
	return max(-reach, ceilDiv(-x, a)), min(reach, floorDiv(n-1-x, a))
}

// floorDiv returns ⌊p/q⌋ for q > 0.
func floorDiv(p, q int) int {
	d := p / q
	if p%q != 0 && p < 0 {
		d--
	}
	return d
}

// ceilDiv returns ⌈p/q⌉ for q > 0.
func ceilDiv(p, q int) int { return -floorDiv(-p, q) }

// halfAt returns the grey level at (x2/2, y2/2), averaging the two or
// four pixels around a point between pixels, and whether the point lies
// in the plane.
func (p plane) halfAt(x2, y2 int) (byte, bool) {
	x, y := x2>>1, y2>>1
	ox, oy := x2&1, y2&1
	if x2 < 0 || y2 < 0 || x+ox >= p.w || y+oy >= p.h {
		return 0, false
	}
	i := y*p.stride + x
	if ox|oy == 0 {
		return p.pix[i], true
	}
	sum := int(p.pix[i]) + int(p.pix[i+ox+oy*p.stride])
	if ox&oy == 1 {
		sum += int(p.pix[i+1]) + int(p.pix[i+p.stride])
		return byte((sum + 2) / 4), true
	}
	return byte((sum + 1) / 2), true
}

// betweenLines reports whether three of the four lines through a place
// half-way between its row, column and diagonals (22.5° from them) show
// the pattern too. Any line through a finder's centre cuts its three
// concentric squares in the ratio 1:1:3:1:1, whatever the code's
// rotation, and so does any line through the centre of an affine image of
// it (a code seen at a slant): ratios of lengths along a line survive an
// affine map. A fixed radius does not, nor does one pixel in a noisy
// frame: a light-ring check that sampled single pixels 2.25 modules out
// (tried and taken back) lost codes seen at a slant or in noise. Random
// module-sized cells (and a code's own modules) that happen to show the
// pattern along the row, the column and both diagonals rarely show it
// between them too, where a finder's light ring must be light. One line
// may fail, for a noise spike. The rings' contrast is not weighed again:
// the four lines did. (x, y) must be the core's centre, not the row that
// found the place (up to 1.5 modules off): it is re-centred along the
// row through it first.
func (s *screenScratch) betweenLines(p plane, x, y, total int, dark bool) bool {
	if s.confirmLine(p, x, y, 2, 0, total, dark, true) {
		x += s.lineMid
	}
	misses := 0
	for _, d := range [4][2]int{{2, 1}, {1, 2}, {-1, 2}, {-2, 1}} {
		if !s.confirmLine(p, x, y, d[0], d[1], total, dark, false) {
			misses++
		}
	}
	return misses <= 1
}

// verified reports whether the place h of plane p, kept without the
// between-lines check (see still), shows the finder's pattern between
// its lines too: its column gives the core's centre, and betweenLines
// checks the four lines through it.
func (s *screenScratch) verified(p plane, h screenHit) bool {
	total := int(math.Round(7 * h.ms))
	x, y := int(h.c.x), int(h.c.y)
	if !s.confirmLine(p, x, y, 0, 2, total, h.dark, true) {
		return false
	}
	return s.betweenLines(p, x, y+s.lineMid, total, h.dark)
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
// smoothed pixels along every step-th row, scaled so that for Gaussian noise
// it is the deviation of the smoothed noise (a quartile, not the median,
// so that a code filling the frame with edges does not count as noise).
func noiseLevel(p plane, step int) int {
	var hist [4*255 + 1]int
	n := 0
	for y := 0; y < p.h; y += step {
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

// known reports whether a place at c, total pixels across, is one the
// screen kept already: within half a pattern's width of it and of about
// its module size, the test by which addHit merges places.
func (s *screenScratch) known(c vec, total float64) bool {
	ms := total / 7
	for _, h := range s.hits {
		if h.c.sub(c).norm() < total/2 && h.ms < 2*ms && ms < 2*h.ms {
			return true
		}
	}
	return false
}

// addHit records a confirmed place of the given size (in pixels, across
// the pattern) and reports whether it and two earlier places could be the
// three finder patterns of one code (see finderCorner).
func (s *screenScratch) addHit(c vec, total float64, dark bool, contrast int) bool {
	// A place within half a pattern's width of an earlier one, at about
	// its module size, is the same finder seen from another row (rows
	// through its core lie within 1.5 modules of its centre). Another
	// place nearby is not: a chance place among a code's modules, next
	// to a finder, must not hide it.
	ms := total / 7
	for _, h := range s.hits {
		if h.c.sub(c).norm() < total/2 && h.ms < 2*ms && ms < 2*h.ms {
			return false
		}
	}
	if len(s.hits) >= screenMaxHits {
		return true // a frame this busy goes through the passes
	}
	f := screenHit{finder{c: c, ms: ms}, dark, contrast}
	for j, a := range s.hits {
		for _, b := range s.hits[j+1:] {
			if finderTriangle(f.finder, a.finder, b.finder) {
				s.ms = (f.ms + a.ms + b.ms) / 3
				s.tri = [3]screenHit{f, a, b}
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
