package server_test

import (
	"testing"

	"sentinel/sync/journal"
	"sentinel/sync/protocol"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

// TestEpochOwnedRefused: issue 9 finding 6. A terminal uploading another
// terminal's epoch under its own certificate was stored as its own
// passages (200); now it is refused with 403 "epoch-owner" and nothing of
// it is stored, whichever range it sends.
func TestEpochOwnedRefused(t *testing.T) {
	f := newFixture(t, 20, server.Options{})
	if status, r := f.post(t, dev, f.upload(t, 1, 10)); status != 200 || r.HighWater != 10 {
		t.Fatalf("owner: got %d %+v, want 200 up to 10", status, r)
	}
	for _, rng := range [][2]journal.Seq{{1, 10}, {11, 20}, {15, 20}} {
		u := f.upload(t, rng[0], rng[1])
		u.Device = "gate-2"
		status, r := f.post(t, "gate-2", u)
		if status != 403 || r == nil || r.Code != protocol.CodeEpochOwner || r.Message == "" {
			t.Fatalf("gate-2 uploading gate-1's epoch %d..%d: got %d %+v, want 403 %s", rng[0], rng[1], status, r, protocol.CodeEpochOwner)
		}
	}
	if n := f.store.Count("gate-2", f.j.Epoch()); n != 0 {
		t.Fatalf("got %d records stored for gate-2, want none", n)
	}
	if status, r := f.post(t, dev, f.upload(t, 11, 20)); status != 200 || r.HighWater != 20 {
		t.Fatalf("owner goes on: got %d %+v, want 200 up to 20", status, r)
	}
}

// TestForkAnswer: an upload from a restored copy of the journal gets 409
// "fork" with the first differing seq, the centre's mark and the hash of
// its record, and a branch; the copy's records then go under the branch.
func TestForkAnswer(t *testing.T) {
	f := newFixture(t, 1, server.Options{})
	a, b := servertest.ForkedJournals(t, 5, 10)
	upload := func(j *journal.Journal, first, last journal.Seq, branch journal.Epoch) *protocol.Upload {
		recs := servertest.Stored(t, j, first, last)
		r, err := journal.DecodeRecord(recs[0])
		if err != nil {
			t.Fatal(err)
		}
		return &protocol.Upload{Device: dev, Epoch: j.Epoch(), First: first, Prev: r.Prev, Records: recs, Branch: branch}
	}
	if status, r := f.post(t, dev, upload(a, 1, 15, journal.Epoch{})); status != 200 || r.HighWater != 15 {
		t.Fatalf("original: got %d %+v", status, r)
	}
	last, _ := journal.DecodeRecord(servertest.Stored(t, a, 15, 15)[0])
	markHash := journal.Chain(last.Prev, servertest.Stored(t, a, 15, 15)[0])
	status, r := f.post(t, dev, upload(b, 1, 12, journal.Epoch{}))
	if status != 409 || r == nil || r.Code != protocol.CodeFork || r.Fork != 6 || r.HighWater != 15 || r.MarkHash != markHash ||
		r.Branch == (journal.Epoch{}) || r.Gap || r.Message == "" {
		t.Fatalf("restored copy: got %d %+v, want 409 fork at 6, mark 15 with its hash, a branch", status, r)
	}
	if status, r2 := f.post(t, dev, upload(b, 6, 15, r.Branch)); status != 200 || r2.HighWater != 15 {
		t.Fatalf("branch upload: got %d %+v, want 200 up to 15", status, r2)
	}
	if n := f.store.Count(dev, r.Branch); n != 10 {
		t.Fatalf("got %d records under the branch, want 10", n)
	}
	unknown := r.Branch
	unknown[1] ^= 1
	if status, r3 := f.post(t, dev, upload(b, 6, 15, unknown)); status != 409 || r3 == nil || r3.Code != protocol.CodeBranch {
		t.Fatalf("unknown branch: got %d %+v, want 409 %s", status, r3, protocol.CodeBranch)
	}
}
