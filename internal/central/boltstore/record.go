package boltstore

import (
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	"sentinel/internal/central"
)

// recordVersion is the first byte of every stored value this package
// writes; version 1 values (without the chain break) still decode.
const recordVersion = 2

// errCorrupt is wrapped when a stored value cannot be decoded.
var errCorrupt = errors.New("boltstore: corrupt record")

// appendRecord encodes r: version, time (Unix nanoseconds, 8 bytes), then
// site, holder, decision, the number of reasons, each reason, the stored
// bytes and (since version 2) the chain break, each length-prefixed with a
// uvarint.
func appendRecord(b []byte, r *central.Record) []byte {
	b = append(b, recordVersion)
	b = binary.BigEndian.AppendUint64(b, uint64(r.Time.UnixNano()))
	for _, s := range []string{r.Site, r.Holder, r.Decision} {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Reasons)))
	for _, s := range r.Reasons {
		b = binary.AppendUvarint(b, uint64(len(s)))
		b = append(b, s...)
	}
	b = binary.AppendUvarint(b, uint64(len(r.Stored)))
	b = append(b, r.Stored...)
	b = binary.AppendUvarint(b, uint64(len(r.Break)))
	return append(b, r.Break...)
}

// decodeRecord decodes a value written by appendRecord. The result does
// not alias b, which bbolt owns.
func decodeRecord(seq uint64, b []byte) (central.Record, error) {
	r := central.Record{Seq: seq}
	version := byte(0)
	if len(b) > 0 {
		version = b[0]
	}
	if len(b) < 9 || version < 1 || version > recordVersion {
		return r, fmt.Errorf("%w: seq %d: bad header", errCorrupt, seq)
	}
	r.Time = time.Unix(0, int64(binary.BigEndian.Uint64(b[1:9]))).UTC()
	b = b[9:]
	next := func() ([]byte, bool) {
		n, k := binary.Uvarint(b)
		if k <= 0 || n > uint64(len(b)-k) {
			return nil, false
		}
		v := b[k : k+int(n)]
		b = b[k+int(n):]
		return v, true
	}
	var ok bool
	var v []byte
	for _, dst := range []*string{&r.Site, &r.Holder, &r.Decision} {
		if v, ok = next(); !ok {
			return r, fmt.Errorf("%w: seq %d: truncated", errCorrupt, seq)
		}
		*dst = string(v)
	}
	n, k := binary.Uvarint(b)
	if k <= 0 || n > uint64(len(b)) {
		return r, fmt.Errorf("%w: seq %d: bad reason count", errCorrupt, seq)
	}
	b = b[k:]
	for range n {
		if v, ok = next(); !ok {
			return r, fmt.Errorf("%w: seq %d: truncated reason", errCorrupt, seq)
		}
		r.Reasons = append(r.Reasons, string(v))
	}
	if v, ok = next(); !ok || (version == 1 && len(b) != 0) {
		return r, fmt.Errorf("%w: seq %d: bad stored bytes", errCorrupt, seq)
	}
	r.Stored = append([]byte(nil), v...)
	if version >= 2 {
		if v, ok = next(); !ok || len(b) != 0 {
			return r, fmt.Errorf("%w: seq %d: bad chain break", errCorrupt, seq)
		}
		r.Break = string(v)
	}
	return r, nil
}
