package camera

// The screen rejects frames without a finder pattern before any of the
// decoder's passes runs: a fixed camera at a gate sees empty frames most
// of the time, and every pass of Decode runs on an empty frame.
//
// It reads every screenStep-th row of the grey plane (never the whole
// frame), thresholds each row at the middle of the local minimum and
// maximum (over screenWindow blocks of screenBlock pixels, with
// hysteresis against noise, so that faint and inverted codes pass), and
// looks for five runs in about the 1:1:3:1:1 ratio of a finder pattern,
// of either polarity. A row hit counts only when the column through its
// centre shows the pattern too. Every code the decoder can read has three
// finder patterns; the screen asks for screenMinHits distinct ones, so
// that it errs towards running the passes (one finder may be damaged or
// cut by glare), never towards dropping a code.

// screenFullMax is the largest frame (640×480) the screen reads at full
// scale; larger frames are read at half scale, where a module of the
// smallest code the decoder reads still spans a pixel and more.
const screenFullMax = 640 * 480

const (
	screenStep   = 2 // rows between scanned rows
	screenBlock  = 8 // pixels per block of the local range
	screenWindow = 2 // blocks each side of a pixel's block
	// screenMinRange is the local grey range below which a stretch of
	// row is flat: no transition is taken there. The faintest codes the
	// decoder reads have a range of about 20.
	screenMinRange = 10
)

// screenScratch holds the screen's buffers between frames.
type screenScratch struct {
	thr, rng []int16 // per block: threshold and range
	col      []byte
	hits     []finder
	rejected int // frames rejected, for tests
}

// finderHint reports whether the plane has at least screenMinHits places
// that look like a finder pattern along their row and their column.
func (s *screenScratch) finderHint(p plane) bool {
	nb := (p.w + screenBlock - 1) / screenBlock
	if cap(s.thr) < nb {
		s.thr, s.rng = make([]int16, nb), make([]int16, nb)
	}
	s.thr, s.rng = s.thr[:nb], s.rng[:nb]
	s.hits = s.hits[:0]
	for y := screenStep / 2; y < p.h; y += screenStep {
		row := p.pix[y*p.stride : y*p.stride+p.w]
		s.rowThresholds(row, nb)
		if s.scanRow(p, row, y) {
			return true
		}
	}
	return false
}

// rowThresholds sets, per block of row, the middle and the range of the
// grey levels within screenWindow blocks each side.
func (s *screenScratch) rowThresholds(row []byte, nb int) {
	// Block extremes first, into thr (min) and rng (max).
	for b := 0; b < nb; b++ {
		seg := row[b*screenBlock : min(len(row), (b+1)*screenBlock)]
		mn, mx := byte(255), byte(0)
		for _, v := range seg {
			mn = min(mn, v)
			mx = max(mx, v)
		}
		s.thr[b], s.rng[b] = int16(mn), int16(mx)
	}
	// Then the window's extremes; a small window, so a direct loop.
	var wmin, wmax [screenMaxBlocks]int16
	if nb > screenMaxBlocks {
		nb = screenMaxBlocks
	}
	for b := 0; b < nb; b++ {
		mn, mx := int16(255), int16(0)
		for k := max(0, b-screenWindow); k <= min(nb-1, b+screenWindow); k++ {
			mn = min(mn, s.thr[k])
			mx = max(mx, s.rng[k])
		}
		wmin[b], wmax[b] = mn, mx
	}
	for b := 0; b < nb; b++ {
		s.thr[b] = (wmin[b] + wmax[b]) / 2
		s.rng[b] = wmax[b] - wmin[b]
	}
}

// screenMaxBlocks bounds the blocks of a row (MaxPixels' side).
const screenMaxBlocks = 4096/screenBlock + 1

// scanRow looks for finder-like runs along row y, confirms them along
// their column, and reports whether enough distinct places were found.
func (s *screenScratch) scanRow(p plane, row []byte, y int) bool {
	var runs, starts [5]int
	n := 0
	state := -1 // 0 light, 1 dark, -1 not yet known
	runStart := 0
	for x, v := range row {
		b := x / screenBlock
		r := s.rng[b]
		if r < screenMinRange {
			continue
		}
		t, hy := s.thr[b], r/8
		ns := state
		switch {
		case int16(v) < t-hy:
			ns = 1
		case int16(v) > t+hy:
			ns = 0
		}
		if ns == state {
			continue
		}
		if state >= 0 {
			runs = [5]int{runs[1], runs[2], runs[3], runs[4], x - runStart}
			starts = [5]int{starts[1], starts[2], starts[3], starts[4], runStart}
			if n++; n >= 5 {
				if _, ok := finderRatio(runs); ok {
					cx := starts[2] + runs[2]/2
					total := runs[0] + runs[1] + runs[2] + runs[3] + runs[4]
					if s.confirmLine(p, cx, y, 0, 1, total, state == 1) &&
						(s.rng[cx/screenBlock] < screenDiagRange || s.confirmLine(p, cx, y, 1, 1, total, state == 1) || s.confirmLine(p, cx, y, 1, -1, total, state == 1)) &&
						s.addHit(vec{float64(cx), float64(y)}, float64(total)) {
						return true
					}
				}
			}
		}
		state, runStart = ns, x
	}
	return false
}

// screenDiagRange is the local range from which a place must show the
// pattern along a diagonal too: fainter codes' diagonals, through the
// corners of modules, often lose it, and the decoder reads those.
const screenDiagRange = 48

// confirmLine checks the line through (x, y) in direction (dx, dy) for
// the 1:1:3:1:1 pattern, with the centre of the given polarity, and a
// length within a factor of 2.5 of the row's (in steps).
func (s *screenScratch) confirmLine(p plane, x, y, dx, dy, total int, dark bool) bool {
	reach := 3 * total
	if cap(s.col) < 2*reach+1 {
		s.col = make([]byte, 2*reach+1)
	}
	col := s.col[:0]
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
	mn, mx := byte(255), byte(0)
	for _, v := range col {
		mn, mx = min(mn, v), max(mx, v)
	}
	r := int(mx) - int(mn)
	if r < screenMinRange {
		return false
	}
	t, hy := (int(mn)+int(mx))/2, r/8
	class := func(v byte) int {
		switch {
		case int(v) < t-hy:
			return 1
		case int(v) > t+hy:
			return 0
		}
		return -1
	}
	want := 0
	if dark {
		want = 1
	}
	if class(col[c]) != want {
		return false
	}
	// Walk both ways from the centre through three runs each.
	walk := func(dir int) ([3]int, bool) {
		var rs [3]int
		i, st, cur := c, 0, want
		for {
			if i < 0 || i >= len(col) {
				return rs, st == 2 && rs[2] > 0
			}
			if k := class(col[i]); k >= 0 && k != cur {
				if st++; st == 3 {
					return rs, true
				}
				cur = k
			}
			rs[st]++
			i += dir
		}
	}
	up, ok1 := walk(-1)
	down, ok2 := walk(1)
	if !ok1 || !ok2 {
		return false
	}
	v := [5]int{up[2], up[1], up[0] + down[0] - 1, down[1], down[2]}
	if _, ok := finderRatio(v); !ok {
		return false
	}
	vt := v[0] + v[1] + v[2] + v[3] + v[4]
	return 4*vt >= total && 2*vt <= 5*total
}

// addHit records a confirmed place of module size ms and reports whether
// two of the places could be finder patterns of one code: module sizes
// within a factor of 2.2, at least 12 modules apart. Two, not three: one
// finder of a code the decoder reads may be too faint or too small for
// the screen.
func (s *screenScratch) addHit(c vec, total float64) bool {
	ms := total / 7
	for _, h := range s.hits {
		if h.c.sub(c).norm() < total {
			return false
		}
	}
	if len(s.hits) >= screenMaxHits {
		return true // a frame this busy goes through the passes
	}
	f := finder{c: c, ms: ms}
	for _, h := range s.hits {
		lo, hi := min(h.ms, ms), max(h.ms, ms)
		if hi <= 2.2*lo && h.c.sub(c).norm() >= 12*(h.ms+ms)/2 {
			return true
		}
	}
	s.hits = append(s.hits, f)
	return false
}

// screenMaxHits bounds the places the screen keeps per frame.
const screenMaxHits = 48
