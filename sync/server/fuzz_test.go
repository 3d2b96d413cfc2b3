package server_test

import (
	"bytes"
	"testing"

	"sentinel/sync/journal"
	"sentinel/sync/protocol"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

// FuzzCheck feeds Check records of outside bytes: it either refuses the
// upload or returns exactly the records, in order, each hashed along its
// own link.
func FuzzCheck(f *testing.F) {
	j := servertest.Journal(f, 3)
	recs := servertest.Stored(f, j, 1, 0)
	f.Add(recs[0], recs[1], uint64(1))
	f.Add(recs[1], recs[2], uint64(2))
	f.Add(recs[0], recs[0], uint64(1))
	f.Add([]byte{0xa0}, []byte{0xa1, 0x01, 0x01}, uint64(1))
	ep := j.Epoch()
	f.Fuzz(func(t *testing.T, a, b []byte, first uint64) {
		if first == 0 || first > 1<<40 {
			return
		}
		u := &protocol.Upload{Version: protocol.Version, Device: "d", Epoch: ep, First: journal.Seq(first), Prev: journal.Genesis(ep), Records: [][]byte{a, b}}
		batch, err := server.Check(u)
		if err != nil {
			return
		}
		for i, r := range batch.Records {
			if r.Seq != journal.Seq(first)+journal.Seq(i) || r.Rec.Seq != r.Seq || r.Rec.Epoch != ep {
				t.Fatalf("record %d: seq %d/%d epoch %v", i, r.Seq, r.Rec.Seq, r.Rec.Epoch)
			}
			if !bytes.Equal(r.Stored, u.Records[i]) || r.Hash != journal.Chain(r.Rec.Prev, r.Stored) {
				t.Fatalf("record %d: bytes or hash differ", i)
			}
		}
	})
}
