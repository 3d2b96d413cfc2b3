package journal

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/fxamacker/cbor/v2"

	"sentinel/crypto/cose"
	"sentinel/internal/atomicfile"
)

// Salvage is what could be recovered from a damaged journal file: every
// record of the file's epoch that still decodes, one per sequence number,
// and the data keys that open them. The sync client delivers it to the
// centre under the records' own (device, epoch, seq); the centre flags
// where the chain does not hold.
type Salvage struct {
	Source  string            `json:"source"` // the damaged file
	Epoch   Epoch             `json:"epoch"`
	Records []SalvagedRecord  `json:"-"` // ascending Seq
	Keys    [][]byte          `json:"-"` // stored data key entries of the epoch
	Breaks  []Break           `json:"breaks,omitempty"`
	Others  int               `json:"other_epochs,omitempty"` // records of other epochs left out
	Summary map[string]uint64 `json:"summary"`
}

// SalvagedRecord is one record recovered from a damaged file.
type SalvagedRecord struct {
	Seq    Seq
	Stored []byte // the record's stored bytes, unchanged
}

// First returns the lowest recovered Seq (0 when none).
func (s *Salvage) First() Seq {
	if len(s.Records) == 0 {
		return 0
	}
	return s.Records[0].Seq
}

// Last returns the highest recovered Seq (0 when none).
func (s *Salvage) Last() Seq {
	if len(s.Records) == 0 {
		return 0
	}
	return s.Records[len(s.Records)-1].Seq
}

// SalvageFile reads the journal file at path without bbolt and recovers
// every record and data key in it that still decodes (see Salvage). It
// needs nothing of the file's structure: a file cut short, with zeroed
// meta pages or damaged pages gives up only the records whose own bytes
// are gone. It reads the file a few MiB at a time and keeps only what it
// recovers. It fails only when the file cannot be read.
func SalvageFile(path string) (*Salvage, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("salvage journal: %w", err)
	}
	defer f.Close()
	chunk := salvageChunk
	v := newSalvager()
	// Each read runs an entry's longest length past the chunk, so that
	// an entry starting in the chunk is read whole.
	buf := make([]byte, chunk+MaxRecordSize+16)
	for base := int64(0); ; base += int64(chunk) {
		n, err := f.ReadAt(buf, base)
		if err != nil && !errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("salvage journal %s: %w", path, err)
		}
		v.scan(buf[:n], min(n, chunk), base)
		if n < len(buf) {
			break
		}
	}
	s := v.result()
	s.Source = path
	return s, nil
}

// salvageChunk is how much of a file SalvageFile scans at a time.
var salvageChunk = 4 << 20

// candidate is one decoded record found in the file.
type candidate struct {
	seq    Seq
	prev   Hash
	stored []byte
	hash   Hash
	off    int64
	fwd    int // records that chain on from it
}

// salvager collects the records and data keys found in a file's bytes.
type salvager struct {
	found map[Epoch]map[Seq][]*candidate
	keys  map[Epoch][][]byte
}

func newSalvager() *salvager {
	return &salvager{found: map[Epoch]map[Seq][]*candidate{}, keys: map[Epoch][][]byte{}}
}

// salvageBytes finds the records and data keys in the bytes of a journal
// file (see salvager.scan).
func salvageBytes(b []byte) *Salvage {
	v := newSalvager()
	v.scan(b, len(b), 0)
	return v.result()
}

// scan finds the records and data keys that start in b[:limit]; b may run
// on past limit so that they are read whole, and base is b's offset in
// the file. bbolt keeps a value's bytes whole in one place (a leaf page
// and its overflow pages are contiguous), and both kinds of entry begin
// with a fixed CBOR prefix:
//
//	record:   map, 1: version (1..23), 2: 16-byte epoch     A? 01 vv 02 50
//	data key: map, 1: 8-byte id, 2: 16-byte epoch           A? 01 48 <8> 02 50
//
// so the bytes are searched for "02 50" and each place that fits is
// decoded strictly (DecodeRecord, DecodeWrappedKey); what does not decode
// is not a record. Copies of the same record (bbolt writes a page anew at
// each change and the old page lingers until reused) collapse into one.
func (v *salvager) scan(b []byte, limit int, base int64) {
	search := b[:min(len(b), limit+13)] // "02 50" lies 3 or 11 bytes into an entry
	for i := 0; ; {
		k := bytes.Index(search[i:], []byte{0x02, 0x50})
		if k < 0 {
			return
		}
		at := i + k
		i = at + 1
		if at >= 3 && at-3 < limit && b[at-2] == 0x01 && b[at-1] >= 1 && b[at-1] <= 0x17 && isSmallMap(b[at-3]) {
			if raw := cborItem(b[at-3:]); raw != nil {
				if r, err := DecodeRecord(raw); err == nil {
					bySeq := v.found[r.Epoch]
					if bySeq == nil {
						bySeq = map[Seq][]*candidate{}
						v.found[r.Epoch] = bySeq
					}
					if !slices.ContainsFunc(bySeq[r.Seq], func(c *candidate) bool { return bytes.Equal(c.stored, raw) }) {
						bySeq[r.Seq] = append(bySeq[r.Seq], &candidate{seq: r.Seq, prev: r.Prev, stored: bytes.Clone(raw),
							hash: Chain(r.Prev, raw), off: base + int64(at-3)})
					}
				}
			}
		}
		if at >= 11 && at-11 < limit && b[at-10] == 0x01 && b[at-9] == 0x48 && isSmallMap(b[at-11]) {
			if raw := cborItem(b[at-11:]); raw != nil {
				if k, err := DecodeWrappedKey(raw); err == nil {
					if !slices.ContainsFunc(v.keys[k.Epoch], func(x []byte) bool { return bytes.Equal(x, raw) }) {
						v.keys[k.Epoch] = append(v.keys[k.Epoch], bytes.Clone(raw))
					}
				}
			}
		}
	}
}

// result picks the file's epoch and chooses one record per seq. When two
// different records claim a seq (a page of a transaction that a crash cut
// off, or a damaged record that still decodes), the one the chain
// supports wins: the one the records after it link to.
func (v *salvager) result() *Salvage {
	s := &Salvage{Summary: map[string]uint64{}}
	// The file's epoch is the one most records carry: a journal file
	// holds one epoch, anything else is debris.
	best := -1
	for e, bySeq := range v.found {
		if n := len(bySeq); n > best || (n == best && bytes.Compare(e[:], s.Epoch[:]) < 0) {
			best, s.Epoch = n, e
		}
	}
	for e, bySeq := range v.found {
		if e != s.Epoch {
			s.Others += len(bySeq)
		}
	}
	s.Keys = v.keys[s.Epoch]
	s.Records, s.Breaks = chooseChain(s.Epoch, v.found[s.Epoch])
	s.Summary["records"] = uint64(len(s.Records))
	s.Summary["first"] = uint64(s.First())
	s.Summary["last"] = uint64(s.Last())
	s.Summary["keys"] = uint64(len(s.Keys))
	s.Summary["breaks"] = uint64(len(s.Breaks))
	return s
}

// chooseChain picks one candidate per seq, preferring at each seq the one
// that links to the record chosen before it and that the longest run of
// later records links to; it returns the records and where the chain does
// not hold (records missing, a record that does not link).
func chooseChain(epoch Epoch, bySeq map[Seq][]*candidate) ([]SalvagedRecord, []Break) {
	seqs := make([]Seq, 0, len(bySeq))
	for s := range bySeq {
		seqs = append(seqs, s)
	}
	slices.Sort(seqs)
	for i := len(seqs) - 1; i >= 0; i-- {
		for _, c := range bySeq[seqs[i]] {
			c.fwd = 1
			for _, d := range bySeq[seqs[i]+1] {
				if d.prev == c.hash {
					c.fwd = max(c.fwd, 1+d.fwd)
				}
			}
		}
	}
	var (
		out    []SalvagedRecord
		breaks []Break
		prev   *candidate
	)
	for _, s := range seqs {
		cands := bySeq[s]
		links := func(c *candidate) bool {
			if s == 1 {
				return c.prev == Genesis(epoch)
			}
			return prev != nil && prev.seq == s-1 && c.prev == prev.hash
		}
		slices.SortStableFunc(cands, func(a, b *candidate) int {
			if la, lb := links(a), links(b); la != lb {
				if la {
					return -1
				}
				return 1
			}
			if a.fwd != b.fwd {
				return cmp.Compare(b.fwd, a.fwd)
			}
			return cmp.Compare(a.off, b.off)
		})
		c := cands[0]
		switch {
		case s == 1 && !links(c):
			breaks = append(breaks, Break{Seq: s, Reason: "the first record does not link to the epoch's genesis"})
		case prev != nil && prev.seq != s-1:
			breaks = append(breaks, Break{Seq: s, Reason: fmt.Sprintf("records %d to %d not found in the file", prev.seq+1, s-1)})
		case prev == nil && s > 1:
			// The first record found: those before it were purged
			// (acknowledged) or lost; the centre knows which.
		case !links(c):
			breaks = append(breaks, Break{Seq: s, Reason: fmt.Sprintf("does not link to record %d", s-1)})
		}
		out = append(out, SalvagedRecord{Seq: s, Stored: c.stored})
		prev = c
	}
	return out, breaks
}

// isSmallMap reports whether b is the head of a CBOR map of 0 to 23 pairs.
func isSmallMap(b byte) bool { return b >= 0xa0 && b <= 0xb7 }

// cborItem returns the first CBOR data item of b if it is well-formed and
// at most MaxRecordSize bytes, else nil.
func cborItem(b []byte) []byte {
	b = b[:min(len(b), MaxRecordSize)]
	var raw cbor.RawMessage
	rest, err := decMode.UnmarshalFirst(b, &raw)
	if err != nil {
		return nil
	}
	return b[:len(b)-len(rest)]
}

// Names of salvage files in the data directory. A salvage of FILE is
// queued as DIR/base(FILE).salvage; once the centre holds it all, it is
// renamed to DIR/base(FILE).salvage.delivered.
const (
	SalvageSuffix   = ".salvage"
	DeliveredSuffix = ".delivered"
	movedInfix      = ".corrupt-"
)

// wireSalvage is the CBOR form of a queued salvage.
type wireSalvage struct {
	Version uint64          `cbor:"1,keyasint"`
	Source  string          `cbor:"2,keyasint"`
	Epoch   []byte          `cbor:"3,keyasint"`
	Made    int64           `cbor:"4,keyasint"` // Unix ms
	Records []wireSalvaged  `cbor:"5,keyasint"`
	Keys    [][]byte        `cbor:"6,keyasint"`
	Breaks  []wireSalvBreak `cbor:"7,keyasint,omitempty"`
}

type wireSalvaged struct {
	Seq    uint64 `cbor:"1,keyasint"`
	Stored []byte `cbor:"2,keyasint"`
}

type wireSalvBreak struct {
	Seq    uint64 `cbor:"1,keyasint"`
	Reason string `cbor:"2,keyasint"`
}

// salvageDec reads queued salvage files, which this package wrote.
var salvageDec = func() cbor.DecMode {
	dm, err := cbor.DecOptions{
		MaxArrayElements: 1 << 26,
		MaxMapPairs:      32,
		MaxNestedLevels:  8,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
	}.DecMode()
	if err != nil {
		panic(err)
	}
	return dm
}()

// Queue writes s into the data directory dir for the sync client to
// deliver (DIR/base(Source).salvage), merging it with a salvage of the
// same name queued before; it returns the file's path. The file is
// written whole or not at all.
func (s *Salvage) Queue(dir string, now time.Time) (string, error) {
	path := filepath.Join(dir, filepath.Base(s.Source)+SalvageSuffix)
	if old, err := ReadQueued(path); err == nil && old.Epoch == s.Epoch {
		s.merge(old)
	}
	w := wireSalvage{Version: 1, Source: s.Source, Epoch: s.Epoch[:], Made: now.UnixMilli(), Keys: s.Keys}
	for _, r := range s.Records {
		w.Records = append(w.Records, wireSalvaged{uint64(r.Seq), r.Stored})
	}
	for _, b := range s.Breaks {
		w.Breaks = append(w.Breaks, wireSalvBreak{uint64(b.Seq), b.Reason})
	}
	b, err := cose.EncMode().Marshal(&w)
	if err != nil {
		return "", fmt.Errorf("queue salvage: %w", err)
	}
	if err := atomicfile.WriteFile(path, b, 0o600); err != nil {
		return "", fmt.Errorf("queue salvage: %w", err)
	}
	return path, nil
}

// merge adds the records and keys of old that s lacks.
func (s *Salvage) merge(old *Salvage) {
	have := make(map[Seq]bool, len(s.Records))
	for _, r := range s.Records {
		have[r.Seq] = true
	}
	for _, r := range old.Records {
		if !have[r.Seq] {
			s.Records = append(s.Records, r)
		}
	}
	slices.SortFunc(s.Records, func(a, b SalvagedRecord) int { return cmp.Compare(a.Seq, b.Seq) })
	for _, k := range old.Keys {
		if !slices.ContainsFunc(s.Keys, func(x []byte) bool { return bytes.Equal(x, k) }) {
			s.Keys = append(s.Keys, k)
		}
	}
}

// ReadQueued reads a salvage file written by Queue.
func ReadQueued(path string) (*Salvage, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var w wireSalvage
	if err := salvageDec.Unmarshal(b, &w); err != nil {
		return nil, fmt.Errorf("salvage file %s: %w: %v", path, ErrMalformed, err)
	}
	if w.Version != 1 || len(w.Epoch) != len(Epoch{}) {
		return nil, fmt.Errorf("salvage file %s: %w: version %d", path, ErrMalformed, w.Version)
	}
	s := &Salvage{Source: w.Source, Keys: w.Keys, Summary: map[string]uint64{}}
	copy(s.Epoch[:], w.Epoch)
	for i, r := range w.Records {
		if r.Seq == 0 || (i > 0 && r.Seq <= w.Records[i-1].Seq) {
			return nil, fmt.Errorf("salvage file %s: %w: records out of order", path, ErrMalformed)
		}
		s.Records = append(s.Records, SalvagedRecord{Seq(r.Seq), r.Stored})
	}
	for _, b := range w.Breaks {
		s.Breaks = append(s.Breaks, Break{Seq(b.Seq), b.Reason})
	}
	s.Summary["records"] = uint64(len(s.Records))
	s.Summary["first"] = uint64(s.First())
	s.Summary["last"] = uint64(s.Last())
	s.Summary["keys"] = uint64(len(s.Keys))
	s.Summary["breaks"] = uint64(len(s.Breaks))
	return s, nil
}

// Queued returns the salvage files in dir still to be delivered.
func Queued(dir string) ([]string, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), SalvageSuffix) {
			out = append(out, filepath.Join(dir, e.Name()))
		}
	}
	return out, nil
}

// MarkDelivered renames a delivered salvage file out of the queue.
func MarkDelivered(path string) error {
	if err := os.Rename(path, path+DeliveredSuffix); err != nil {
		return err
	}
	return atomicfile.SyncDir(filepath.Dir(path))
}

// SalvageMovedAside salvages every journal file that was moved aside in
// the data directory of the journal at path (path.corrupt-TIME, see Open)
// and is neither queued nor delivered yet, and queues each for the centre.
// It returns what it queued; a file it cannot salvage is reported in the
// error and the others are still queued.
func SalvageMovedAside(path string, now time.Time) ([]*Salvage, error) {
	dir, base := filepath.Dir(path), filepath.Base(path)
	ents, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	var (
		out  []*Salvage
		errs []error
	)
	for _, e := range ents {
		name := e.Name()
		if !e.Type().IsRegular() || !strings.HasPrefix(name, base+movedInfix) ||
			strings.HasSuffix(name, SalvageSuffix) || strings.HasSuffix(name, DeliveredSuffix) || strings.HasSuffix(name, ".tmp") {
			continue
		}
		q := filepath.Join(dir, name+SalvageSuffix)
		if exists(q) || exists(q+DeliveredSuffix) {
			continue
		}
		s, err := SalvageFile(filepath.Join(dir, name))
		if err == nil {
			_, err = s.Queue(dir, now)
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		out = append(out, s)
	}
	return out, errors.Join(errs...)
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return !errors.Is(err, fs.ErrNotExist)
}

// SalvageSource is a salvage as the sync client reads it: it implements
// the client's Source, with gaps where records were lost (the client
// sends each run and flags the upload as salvaged).
type SalvageSource struct {
	s     *Salvage
	acked Seq
}

// NewSalvageSource returns a source over s for the sync client.
func NewSalvageSource(s *Salvage) *SalvageSource { return &SalvageSource{s: s} }

// Epoch returns the salvaged epoch.
func (q *SalvageSource) Epoch() Epoch { return q.s.Epoch }

// Acked returns what the centre acknowledged in this run (0 at first: a
// salvage is sent whole, and the centre keeps only what it lacks).
func (q *SalvageSource) Acked() (Seq, error) { return q.acked, nil }

// Ack records the centre's acknowledgement.
func (q *SalvageSource) Ack(epoch Epoch, seq Seq) error {
	if epoch != q.s.Epoch {
		return ErrEpoch
	}
	q.acked = max(q.acked, seq)
	return nil
}

// Done reports whether the centre acknowledged every salvaged record.
func (q *SalvageSource) Done() bool { return q.acked >= q.s.Last() }

// Keys returns the salvaged data key entries.
func (q *SalvageSource) Keys() ([][]byte, error) { return q.s.Keys, nil }

// Range calls fn with every salvaged record from from to to (to 0: the
// last), in order; the seqs may have gaps.
func (q *SalvageSource) Range(from, to Seq, fn func(Seq, []byte) error) error {
	i, _ := slices.BinarySearchFunc(q.s.Records, from, func(r SalvagedRecord, s Seq) int { return cmp.Compare(r.Seq, s) })
	for ; i < len(q.s.Records); i++ {
		r := q.s.Records[i]
		if to != 0 && r.Seq > to {
			break
		}
		if err := fn(r.Seq, r.Stored); err != nil {
			return err
		}
	}
	return nil
}
