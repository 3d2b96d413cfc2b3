package journal

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math/bits"
)

// bbolt's on-disk format (go.etcd.io/bbolt/internal/common), as far as
// checkBolt reads it. Every page starts with a 16-byte header
//
//	id uint64, flags uint16, count uint16, overflow uint32
//
// Pages 0 and 1 are meta pages: after the header
//
//	magic uint32, version uint32, page size uint32, flags uint32,
//	root bucket (root page uint64, sequence uint64), freelist page uint64,
//	high water mark uint64 (pages in use), txid uint64,
//	checksum uint64 (FNV-1a 64 of the 56 bytes before it)
//
// Branch pages hold count elements {pos uint32, ksize uint32, pgid
// uint64}, leaf pages count elements {flags uint32, pos uint32, ksize
// uint32, vsize uint32}, pos counting from the element's own offset. A
// leaf element with flag 1 is a bucket: its value starts with {root page
// uint64, sequence uint64}, and a root of 0 means the bucket's page
// follows inline in the value. A freelist page holds count page ids
// (uint64), or, when count is 0xFFFF, the number of ids followed by them.
// The fields are in the machine's byte order: little-endian on every
// platform Sentinel builds for.
const (
	boltMagic        = 0xED0CDAED
	boltVersion      = 2
	boltHeader       = 16
	boltElement      = 16
	boltMetaSum      = boltHeader + 56 // offset of the meta checksum
	boltNoFreelist   = ^uint64(0)
	boltBranch       = 0x01
	boltLeaf         = 0x02
	boltMeta         = 0x04
	boltFreelist     = 0x10
	boltBucketFlag   = 0x01
	boltBucketHeader = 16
	// boltMaxPage bounds the page size checkBolt accepts; bbolt uses the
	// OS page size (4 KiB here, 64 KiB on some arm64 kernels).
	boltMaxPage = 1 << 20
	// boltMaxDepth bounds the nesting of pages and buckets.
	boltMaxDepth = 64
)

var le = binary.LittleEndian

// boltMetaPage is a decoded meta page.
type boltMetaPage struct {
	pageSize uint64
	root     uint64
	freelist uint64
	pgid     uint64 // high water mark: pages 0..pgid-1 are in use
	txid     uint64
	err      error // why the meta is not valid
}

func decodeBoltMeta(p []byte) boltMetaPage {
	var m boltMetaPage
	if len(p) < boltMetaSum+8 {
		m.err = errors.New("meta page cut short")
		return m
	}
	m.pageSize = uint64(le.Uint32(p[24:]))
	m.root = le.Uint64(p[32:])
	m.freelist = le.Uint64(p[48:])
	m.pgid = le.Uint64(p[56:])
	m.txid = le.Uint64(p[64:])
	h := fnv.New64a()
	h.Write(p[boltHeader:boltMetaSum])
	switch {
	case le.Uint32(p[16:]) != boltMagic:
		m.err = errors.New("not a bbolt meta page (magic)")
	case le.Uint32(p[20:]) != boltVersion:
		m.err = fmt.Errorf("bbolt format version %d, want %d", le.Uint32(p[20:]), boltVersion)
	case le.Uint64(p[boltMetaSum:]) != h.Sum64():
		m.err = errors.New("meta page checksum does not match")
	}
	return m
}

// checkBolt checks the structure of a bbolt file of size bytes before
// bbolt maps it: bbolt trusts its file, and a file cut short faults in the
// memory map (which no recover catches) while a damaged page makes bbolt
// panic. It checks what bbolt will read: a valid meta page (the one bbolt
// chooses), a file as long as the meta's page count, the freelist, and
// every page of the tree (reachable once, within the file, of the right
// type, with its elements inside it, no page both in the tree and free).
// It returns an error that says what is wrong; it reads the file with
// ReadAt only and never panics.
func checkBolt(r io.ReaderAt, size int64) error {
	if size == 0 {
		return errors.New("the file is empty (0 bytes)")
	}
	head := make([]byte, 4096)
	n, err := r.ReadAt(head, 0)
	if n < boltMetaSum+8 {
		if err == nil || err == io.EOF {
			return fmt.Errorf("the file is %d bytes, too short for a journal", size)
		}
		return err
	}
	head = head[:n]
	// bbolt takes the page size from the first meta page that is valid:
	// page 0, else page 1 found at each possible page size.
	pageSize := uint64(0)
	if m := decodeBoltMeta(head); m.err == nil {
		pageSize = m.pageSize
	} else {
		for i := 0; i <= 14; i++ {
			pos := int64(1024) << i
			if pos >= size-1024 {
				break
			}
			buf := make([]byte, boltMetaSum+8)
			if _, err := r.ReadAt(buf, pos); err != nil {
				break
			}
			if m := decodeBoltMeta(buf); m.err == nil {
				pageSize = m.pageSize
				break
			}
		}
	}
	if pageSize == 0 {
		return fmt.Errorf("neither meta page is valid (%v)", decodeBoltMeta(head).err)
	}
	if pageSize < 512 || pageSize > boltMaxPage || bits.OnesCount64(pageSize) != 1 {
		return fmt.Errorf("page size %d is not a power of two from 512 to %d", pageSize, boltMaxPage)
	}
	if uint64(size) < 2*pageSize {
		return fmt.Errorf("the file is %d bytes, shorter than its two meta pages of %d", size, pageSize)
	}
	var metas [2]boltMetaPage
	for i := range metas {
		buf := make([]byte, boltMetaSum+8)
		if _, err := r.ReadAt(buf, int64(i)*int64(pageSize)); err != nil {
			return fmt.Errorf("read meta page %d: %w", i, err)
		}
		metas[i] = decodeBoltMeta(buf)
	}
	// bbolt uses the meta with the higher txid if it is valid, else the
	// other one.
	a, b := metas[0], metas[1]
	if b.txid > a.txid {
		a, b = b, a
	}
	m := a
	if m.err != nil {
		m = b
	}
	if m.err != nil {
		return fmt.Errorf("neither meta page is valid (%v; %v)", metas[0].err, metas[1].err)
	}
	if m.pageSize != pageSize {
		return fmt.Errorf("meta pages disagree on the page size (%d, %d)", pageSize, m.pageSize)
	}
	pages := uint64(size) / pageSize
	if m.pgid < 3 || m.pgid > pages {
		return fmt.Errorf("the file is cut short: its meta page counts %d pages of %d bytes (%d bytes), the file has %d bytes",
			m.pgid, pageSize, m.pgid*pageSize, size)
	}
	c := &boltChecker{r: r, pageSize: pageSize, hwm: m.pgid, used: make(map[uint64]bool)}
	if m.root < 2 || m.root >= m.pgid {
		return fmt.Errorf("root page %d outside the file's %d pages", m.root, m.pgid)
	}
	if err := c.tree(m.root, 0); err != nil {
		return err
	}
	if m.freelist != boltNoFreelist {
		if err := c.freelist(m.freelist); err != nil {
			return err
		}
	}
	return nil
}

type boltChecker struct {
	r        io.ReaderAt
	pageSize uint64
	hwm      uint64
	used     map[uint64]bool // pages of the tree and the freelist page
}

// page reads page id with its overflow pages and checks its header.
func (c *boltChecker) page(id uint64, want uint16) ([]byte, error) {
	if id < 2 || id >= c.hwm {
		return nil, fmt.Errorf("page %d outside the file's %d pages", id, c.hwm)
	}
	hdr := make([]byte, boltHeader)
	if _, err := c.r.ReadAt(hdr, int64(id*c.pageSize)); err != nil {
		return nil, fmt.Errorf("read page %d: %w", id, err)
	}
	if got := le.Uint64(hdr); got != id {
		return nil, fmt.Errorf("page %d says it is page %d", id, got)
	}
	flags := le.Uint16(hdr[8:])
	if flags&want == 0 || bits.OnesCount16(flags) != 1 {
		return nil, fmt.Errorf("page %d has type %#x, want %#x", id, flags, want)
	}
	overflow := uint64(le.Uint32(hdr[12:]))
	if overflow >= c.hwm-id {
		return nil, fmt.Errorf("page %d runs %d pages past the file's %d pages", id, overflow, c.hwm)
	}
	for p := id; p <= id+overflow; p++ {
		if c.used[p] {
			return nil, fmt.Errorf("page %d is used twice", p)
		}
		c.used[p] = true
	}
	buf := make([]byte, (overflow+1)*c.pageSize)
	if _, err := c.r.ReadAt(buf, int64(id*c.pageSize)); err != nil {
		return nil, fmt.Errorf("read page %d: %w", id, err)
	}
	return buf, nil
}

// tree checks the branch or leaf page id and everything below it.
func (c *boltChecker) tree(id uint64, depth int) error {
	if depth > boltMaxDepth {
		return fmt.Errorf("page %d: the tree is deeper than %d", id, boltMaxDepth)
	}
	p, err := c.page(id, boltBranch|boltLeaf)
	if err != nil {
		return err
	}
	return c.nodes(p, id, depth)
}

// nodes checks the elements of a branch or leaf page p (a page read from
// the file, or an inline bucket's page) and what they refer to.
func (c *boltChecker) nodes(p []byte, id uint64, depth int) error {
	flags, count := le.Uint16(p[8:]), int(le.Uint16(p[10:]))
	if boltHeader+count*boltElement > len(p) {
		return fmt.Errorf("page %d: %d elements do not fit", id, count)
	}
	// bbolt never writes an empty key, and keeps a page's keys in
	// ascending order; it relies on both.
	var prev []byte
	key := func(i int, k []byte) error {
		if len(k) == 0 {
			return fmt.Errorf("page %d: element %d has an empty key", id, i)
		}
		if i > 0 && bytes.Compare(prev, k) >= 0 {
			return fmt.Errorf("page %d: element %d is out of order", id, i)
		}
		prev = k
		return nil
	}
	if flags == boltBranch {
		if count == 0 {
			return fmt.Errorf("page %d: branch page without elements", id)
		}
		for i := range count {
			off := boltHeader + i*boltElement
			pos, ksize := uint64(le.Uint32(p[off:])), uint64(le.Uint32(p[off+4:]))
			if uint64(off)+pos+ksize > uint64(len(p)) {
				return fmt.Errorf("page %d: element %d lies outside the page", id, i)
			}
			if err := key(i, p[uint64(off)+pos:uint64(off)+pos+ksize]); err != nil {
				return err
			}
			if err := c.tree(le.Uint64(p[off+8:]), depth+1); err != nil {
				return err
			}
		}
		return nil
	}
	if flags != boltLeaf {
		return fmt.Errorf("page %d has type %#x, want a branch or leaf", id, flags)
	}
	for i := range count {
		off := boltHeader + i*boltElement
		eflags := le.Uint32(p[off:])
		pos, ksize, vsize := uint64(le.Uint32(p[off+4:])), uint64(le.Uint32(p[off+8:])), uint64(le.Uint32(p[off+12:]))
		start := uint64(off) + pos
		if start+ksize+vsize > uint64(len(p)) {
			return fmt.Errorf("page %d: element %d lies outside the page", id, i)
		}
		if err := key(i, p[start:start+ksize]); err != nil {
			return err
		}
		if eflags&boltBucketFlag == 0 {
			continue
		}
		v := p[start+ksize : start+ksize+vsize]
		if len(v) < boltBucketHeader {
			return fmt.Errorf("page %d: bucket %d has a value of %d bytes", id, i, len(v))
		}
		if root := le.Uint64(v); root != 0 {
			if err := c.tree(root, depth+1); err != nil {
				return err
			}
			continue
		}
		inline := v[boltBucketHeader:]
		if len(inline) < boltHeader || le.Uint16(inline[8:]) != boltLeaf {
			return fmt.Errorf("page %d: inline bucket %d is not a leaf page", id, i)
		}
		if depth+1 > boltMaxDepth {
			return fmt.Errorf("page %d: buckets nested deeper than %d", id, boltMaxDepth)
		}
		if err := c.nodes(inline, id, depth+1); err != nil {
			return err
		}
	}
	return nil
}

// freelist checks the freelist page: within the file, and listing pages
// that exist, once, and that the tree does not use.
func (c *boltChecker) freelist(id uint64) error {
	p, err := c.page(id, boltFreelist)
	if err != nil {
		return fmt.Errorf("freelist: %w", err)
	}
	idx, count := 0, uint64(le.Uint16(p[10:]))
	if count == 0xFFFF {
		if len(p) < boltHeader+8 {
			return errors.New("freelist: page cut short")
		}
		idx, count = 1, le.Uint64(p[boltHeader:])
	}
	if count > uint64(len(p)-boltHeader)/8-uint64(idx) {
		return fmt.Errorf("freelist: %d page ids do not fit in its page", count)
	}
	seen := make(map[uint64]bool, count)
	for i := range count {
		free := le.Uint64(p[boltHeader+8*(uint64(idx)+i):])
		switch {
		case free < 2 || free >= c.hwm:
			return fmt.Errorf("freelist: page %d outside the file's %d pages", free, c.hwm)
		case seen[free]:
			return fmt.Errorf("freelist: page %d listed twice", free)
		case c.used[free]:
			return fmt.Errorf("freelist: page %d is free and in use", free)
		}
		seen[free] = true
	}
	return nil
}
