package status

import (
	"encoding/binary"
	"fmt"
	"math/bits"

	"github.com/RoaringBitmap/roaring/v2"
)

// Members of a group or removal travel in one of two encodings; the
// Builder picks the smaller. Rice-coded gaps suit scattered indexes (11
// bits an index at the benchmark's density, against roaring's 17);
// roaring's run containers suit ranges (4 bytes a run, where Rice takes a
// bit an index).
const (
	encRice    = 0
	encRoaring = 1
)

// Roaring's portable serialization (github.com/RoaringBitmap/RoaringFormatSpec).
const (
	roaringCookieRuns   = 12347 // low 16 bits; high 16 bits: containers - 1
	roaringCookieNoRuns = 12346 // followed by the container count
	roaringNoOffsetMin  = 4     // with runs, offsets only from 4 containers
	roaringArrayMax     = 4096  // an array container holds at most this many
	roaringBitmapBytes  = 8192
)

// validateRoaring walks a portable roaring serialization and checks every
// size, order and count against the bytes before roaring reads it, so
// hostile bytes never reach roaring's deserializer. It returns the
// cardinality.
func validateRoaring(b []byte) (uint64, error) {
	bad := func(format string, args ...any) (uint64, error) {
		return 0, fmt.Errorf("roaring members: "+format+": %w", append(args, ErrMalformed)...)
	}
	if len(b) < 4 {
		return bad("%d bytes", len(b))
	}
	cookie := binary.LittleEndian.Uint32(b)
	pos := 4
	var n int
	var runFlags []byte
	switch {
	case cookie&0xffff == roaringCookieRuns:
		n = int(cookie>>16) + 1
		runFlags = b[pos:min(len(b), pos+(n+7)/8)]
		pos += (n + 7) / 8
		if len(runFlags) < (n+7)/8 {
			return bad("truncated run flags")
		}
	case cookie == roaringCookieNoRuns:
		if len(b) < 8 {
			return bad("truncated container count")
		}
		c := binary.LittleEndian.Uint32(b[4:])
		if c > 1<<16 {
			return bad("%d containers", c)
		}
		n = int(c)
		pos = 8
	default:
		return bad("cookie %#x", cookie)
	}
	isRun := func(i int) bool { return runFlags != nil && runFlags[i/8]&(1<<(i%8)) != 0 }
	header := pos
	if len(b)-pos < 4*n {
		return bad("truncated header")
	}
	pos += 4 * n
	withOffsets := runFlags == nil || n >= roaringNoOffsetMin
	offsets := pos
	if withOffsets {
		if len(b)-pos < 4*n {
			return bad("truncated offsets")
		}
		pos += 4 * n
	}
	var total uint64
	prevKey := -1
	for i := range n {
		key := int(binary.LittleEndian.Uint16(b[header+4*i:]))
		card := int(binary.LittleEndian.Uint16(b[header+4*i+2:])) + 1
		if key <= prevKey {
			return bad("container keys not increasing")
		}
		prevKey = key
		if withOffsets && int(binary.LittleEndian.Uint32(b[offsets+4*i:])) != pos {
			return bad("container %d offset", i)
		}
		switch {
		case isRun(i):
			if len(b)-pos < 2 {
				return bad("truncated run container")
			}
			runs := int(binary.LittleEndian.Uint16(b[pos:]))
			pos += 2
			if runs == 0 || len(b)-pos < 4*runs {
				return bad("run container %d: %d runs", i, runs)
			}
			sum, next := 0, 0
			for r := range runs {
				start := int(binary.LittleEndian.Uint16(b[pos+4*r:]))
				length := int(binary.LittleEndian.Uint16(b[pos+4*r+2:])) + 1
				if start < next || start+length > 1<<16 {
					return bad("run container %d: runs overlap or overflow", i)
				}
				next = start + length + 1 // runs neither overlap nor touch
				sum += length
			}
			if sum != card {
				return bad("run container %d: %d values, header says %d", i, sum, card)
			}
			pos += 4 * runs
		case card <= roaringArrayMax:
			if len(b)-pos < 2*card {
				return bad("truncated array container")
			}
			prev := -1
			for j := range card {
				v := int(binary.LittleEndian.Uint16(b[pos+2*j:]))
				if v <= prev {
					return bad("array container %d not increasing", i)
				}
				prev = v
			}
			pos += 2 * card
		default:
			if len(b)-pos < roaringBitmapBytes {
				return bad("truncated bitmap container")
			}
			ones := 0
			for j := 0; j < roaringBitmapBytes; j += 8 {
				ones += bits.OnesCount64(binary.LittleEndian.Uint64(b[pos+j:]))
			}
			if ones != card {
				return bad("bitmap container %d: %d values, header says %d", i, ones, card)
			}
			pos += roaringBitmapBytes
		}
		total += uint64(card)
	}
	if pos != len(b) {
		return bad("%d trailing bytes", len(b)-pos)
	}
	return total, nil
}

// decodeRoaring returns the count values of a roaring serialization,
// validated first; count bounds the allocation.
func decodeRoaring(b []byte, count uint64) (vals []uint32, err error) {
	card, err := validateRoaring(b)
	if err != nil {
		return nil, err
	}
	if card != count {
		return nil, fmt.Errorf("roaring members: %d values, count says %d: %w", card, count, ErrMalformed)
	}
	defer func() {
		// Validated above; a panic here would be a bug in roaring, and
		// must not take the terminal down.
		if r := recover(); r != nil {
			vals, err = nil, fmt.Errorf("roaring members: %v: %w", r, ErrMalformed)
		}
	}()
	bm := roaring.New()
	if err := bm.UnmarshalBinary(b); err != nil {
		return nil, fmt.Errorf("roaring members: %w: %w", ErrMalformed, err)
	}
	if err := bm.Validate(); err != nil {
		return nil, fmt.Errorf("roaring members: %w: %w", ErrMalformed, err)
	}
	if bm.GetCardinality() != count {
		return nil, fmt.Errorf("roaring members: cardinality %d, count says %d: %w", bm.GetCardinality(), count, ErrMalformed)
	}
	return bm.ToArray(), nil
}

// encodeMembers encodes sorted unique values in the smaller encoding.
func encodeMembers(vals []uint32) (enc uint8, k uint8, data []byte) {
	rice, rk := riceEncode(vals)
	bm := roaring.New()
	bm.AddMany(vals)
	bm.RunOptimize()
	if bm.GetSerializedSizeInBytes() < uint64(len(rice)) {
		if b, err := bm.ToBytes(); err == nil {
			return encRoaring, 0, b
		}
	}
	return encRice, uint8(rk), rice
}

// decodeMembers decodes count values in encoding enc.
func decodeMembers(enc, k uint8, data []byte, count uint64) ([]uint32, error) {
	switch enc {
	case encRice:
		return riceDecode(data, count, uint(k))
	case encRoaring:
		if k != 0 {
			return nil, fmt.Errorf("roaring members with rice parameter %d: %w", k, ErrMalformed)
		}
		return decodeRoaring(data, count)
	}
	return nil, fmt.Errorf("members encoding %d: %w", enc, ErrMalformed)
}
