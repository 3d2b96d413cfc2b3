package storetest

import (
	"context"
	"crypto/sha256"
	"slices"
	"sync"

	"sentinel/internal/central"
	"sentinel/internal/central/syncstore"
	"sentinel/sync/journal"
	"sentinel/sync/server"
)

// Ingest stores recs of device's epoch in s on the sync server's ingest
// path: syncstore.Admit (server.Admit) decides, inside s.IngestLinked,
// what to store against the stored mark and its chain hash. It returns
// the mark after the ingest (the stored mark with a refusal, such as a
// *server.GapError). Each record's link to the one before is its Hash's
// predecessor when the record comes from Recs or Journal, and the
// previous record's Hash otherwise (zero before the first).
func Ingest(ctx context.Context, s central.Store, device string, epoch central.Epoch, recs []central.Record) (uint64, error) {
	l, err := ingestKeys(ctx, s, device, epoch, recs, nil, nil)
	return l.Seq, err
}

// ingestKeys is Ingest with data key entries; seen, when not nil, gets
// the mark that the decision ran on.
func ingestKeys(ctx context.Context, s central.Store, device string, epoch central.Epoch, recs []central.Record, keys [][]byte, seen *central.Link) (central.Link, error) {
	var kept []server.Record
	admit := syncstore.Admit(Checked(recs), recs, &kept)
	if seen != nil {
		inner := admit
		admit = func(m central.Link) ([]central.Record, central.EngineStep, error) {
			*seen = m
			return inner(m)
		}
	}
	return s.IngestLinked(ctx, device, epoch, recs, keys, admit)
}

// Checked returns recs as the sync server's handler hands them to its
// store (server.Check): each with its chain hash and the hash it links to.
func Checked(recs []central.Record) []server.Record {
	out := make([]server.Record, len(recs))
	for i := range recs {
		r := &recs[i]
		var prev [32]byte
		if i > 0 {
			prev = recs[i-1].Hash
		} else if p, ok := prevs.Load(r.Hash); ok && r.Hash != ([32]byte{}) {
			prev = p.([32]byte)
		}
		out[i] = server.Record{
			Seq: journal.Seq(r.Seq), Stored: r.Stored, Hash: journal.Hash(r.Hash), Break: r.Break, Salvaged: r.Salvaged,
			Rec: &journal.Record{Seq: journal.Seq(r.Seq), Time: r.Time, Reasons: r.Reasons, Prev: journal.Hash(prev)},
		}
	}
	return out
}

// prevs maps each chain hash that Journal computed to the hash before it,
// so that Checked links the first record of a batch to its predecessor.
var prevs sync.Map

// Journal returns the concatenation of parts, one journal from seq 1,
// with each record's Hash chained from the one before as a terminal's
// journal chains them (SHA-256 of the previous hash and the stored bytes).
func Journal(parts ...[]central.Record) []central.Record {
	out := slices.Concat(parts...)
	var prev [32]byte
	for i := range out {
		h := sha256.New()
		h.Write(prev[:])
		h.Write(out[i].Stored)
		var sum [32]byte
		copy(sum[:], h.Sum(nil))
		prevs.Store(sum, prev)
		out[i].Hash, prev = sum, sum
	}
	return out
}
