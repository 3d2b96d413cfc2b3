package journal

import (
	"bytes"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// storedRecords returns every record of a closed journal file.
func storedRecords(t testing.TB, path string) map[Seq][]byte {
	t.Helper()
	r, err := OpenReader(path, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	out := map[Seq][]byte{}
	if err := r.Range(1, 0, func(s Seq, b []byte) error { out[s] = b; return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// checkSalvage checks that s holds exactly the records of want that are
// still whole in the damaged bytes (each record's bytes are contiguous in
// the file), each under its own seq.
func checkSalvage(t *testing.T, name string, s *Salvage, damaged []byte, want map[Seq][]byte, epoch Epoch) {
	t.Helper()
	got := map[Seq][]byte{}
	for i, r := range s.Records {
		if i > 0 && r.Seq <= s.Records[i-1].Seq {
			t.Fatalf("%s: records out of order at %d", name, r.Seq)
		}
		got[r.Seq] = r.Stored
	}
	if len(s.Records) > 0 && s.Epoch != epoch {
		t.Errorf("%s: epoch %s, want %s", name, s.Epoch, epoch)
	}
	missed := 0
	for seq, b := range want {
		whole := bytes.Contains(damaged, b)
		g, ok := got[seq]
		switch {
		case whole && !ok:
			missed++
			if missed < 5 {
				t.Errorf("%s: record %d is whole in the file but was not salvaged", name, seq)
			}
		case ok && !bytes.Equal(g, b) && whole:
			t.Errorf("%s: record %d salvaged with other bytes than the journal's", name, seq)
		}
	}
	for seq, g := range got {
		if _, ok := want[seq]; !ok {
			t.Errorf("%s: salvaged record %d the journal never held", name, seq)
		}
		if !bytes.Contains(damaged, g) {
			t.Errorf("%s: salvaged record %d is not in the file", name, seq)
		}
	}
	if missed > 0 {
		t.Errorf("%s: %d whole records not salvaged", name, missed)
	}
}

func TestSalvage(t *testing.T) {
	path, epoch := bigJournal(t, 3000)
	want := storedRecords(t, path)
	whole, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := salvageBytes(whole)
	checkSalvage(t, "sound", s, whole, want, epoch)
	// SalvageFile reads in chunks: entries across a chunk's end are
	// found once, whole.
	defer func(c int) { salvageChunk = c }(salvageChunk)
	salvageChunk = 4099
	fromFile, err := SalvageFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(fromFile.Records) != len(s.Records) || len(fromFile.Keys) != len(s.Keys) || fromFile.Epoch != s.Epoch {
		t.Fatalf("read in chunks: got %d records, %d keys; want %d, %d", len(fromFile.Records), len(fromFile.Keys), len(s.Records), len(s.Keys))
	}
	for i := range s.Records {
		if fromFile.Records[i].Seq != s.Records[i].Seq || !bytes.Equal(fromFile.Records[i].Stored, s.Records[i].Stored) {
			t.Fatalf("read in chunks: record %d differs", s.Records[i].Seq)
		}
	}
	if len(s.Records) != len(want) || len(s.Breaks) != 0 || len(s.Keys) == 0 {
		t.Fatalf("sound journal: got %d records, breaks %v, %d keys; want %d, none, some", len(s.Records), s.Breaks, len(s.Keys), len(want))
	}
	for _, k := range s.Keys {
		if w, err := DecodeWrappedKey(k); err != nil || w.Epoch != epoch {
			t.Errorf("salvaged key %x: %v", k, err)
		}
	}

	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 2))
	used := usedSize(t, whole)
	for range 8 {
		off := rnd.IntN(used)
		checkSalvage(t, "cut", salvageBytes(whole[:off]), whole[:off], want, epoch)
	}
	metas := bytes.Clone(whole)
	clear(metas[:8192])
	checkSalvage(t, "metas zeroed", salvageBytes(metas), metas, want, epoch)

	// A flipped byte inside a record's sealed box: it still decodes,
	// the next record does not link to it.
	flipped := bytes.Clone(whole)
	rec := want[1500]
	at := bytes.Index(flipped, rec)
	flipped[at+len(rec)-3] ^= 0x10
	fs := salvageBytes(flipped)
	if len(fs.Records) != len(want) {
		t.Errorf("flipped byte: got %d records, want %d", len(fs.Records), len(want))
	}
	if len(fs.Breaks) != 1 || fs.Breaks[0].Seq != 1501 {
		t.Errorf("flipped byte: got breaks %+v, want one at 1501", fs.Breaks)
	}

	// A byte flipped in a record's CBOR head: that record is lost, a
	// break names it.
	lost := bytes.Clone(whole)
	at = bytes.Index(lost, want[700])
	lost[at] = 0xff
	ls := salvageBytes(lost)
	if len(ls.Records) != len(want)-1 || len(ls.Breaks) != 1 || ls.Breaks[0].Seq != 701 || !strings.Contains(ls.Breaks[0].Reason, "700 to 700") {
		t.Errorf("record head damaged: got %d records, breaks %+v; want %d and one break at 701", len(ls.Records), ls.Breaks, len(want)-1)
	}
}

func TestSalvageQueue(t *testing.T) {
	path, epoch := bigJournal(t, 30)
	dir := filepath.Dir(path)
	now := time.Date(2026, 5, 1, 8, 0, 0, 0, time.UTC)
	moved, err := moveAside(path, now)
	if err != nil {
		t.Fatal(err)
	}
	got, err := SalvageMovedAside(path, now)
	if err != nil || len(got) != 1 || got[0].Epoch != epoch || len(got[0].Records) != 30 {
		t.Fatalf("salvage moved aside: got %v (%v), want one salvage of 30 records", got, err)
	}
	q, err := Queued(dir)
	if err != nil || len(q) != 1 || q[0] != moved+SalvageSuffix {
		t.Fatalf("queued: got %v (%v), want %s", q, err, moved+SalvageSuffix)
	}
	again, err := SalvageMovedAside(path, now)
	if err != nil || len(again) != 0 {
		t.Fatalf("second salvage: got %d (%v), want none: it is queued", len(again), err)
	}
	s, err := ReadQueued(q[0])
	if err != nil || s.Epoch != epoch || len(s.Records) != 30 || len(s.Keys) == 0 {
		t.Fatalf("read queued: %v", err)
	}
	src := NewSalvageSource(s)
	var seqs []Seq
	src.Range(10, 12, func(s Seq, _ []byte) error { seqs = append(seqs, s); return nil })
	if len(seqs) != 3 || seqs[0] != 10 {
		t.Errorf("range 10 to 12: got %v", seqs)
	}
	if src.Ack(epoch, 29); src.Done() {
		t.Error("done before the last record was acknowledged")
	}
	if src.Ack(epoch, 30); !src.Done() {
		t.Error("not done after the last record was acknowledged")
	}
	if err := MarkDelivered(q[0]); err != nil {
		t.Fatal(err)
	}
	if q, _ := Queued(dir); len(q) != 0 {
		t.Errorf("queued after delivery: %v", q)
	}
	if again, _ := SalvageMovedAside(path, now); len(again) != 0 {
		t.Errorf("salvaged again after delivery: %d", len(again))
	}
}

// FuzzSalvage: salvageBytes never panics, and what it returns decodes,
// in order, in one epoch.
func FuzzSalvage(f *testing.F) {
	used := seedJournal(f)
	if s := salvageBytes(used); len(s.Records) != 40 {
		f.Fatalf("the seed journal salvages %d records, want 40", len(s.Records))
	}
	f.Add(used)
	f.Add(used[:len(used)/2])
	f.Add([]byte{0xa5, 0x01, 0x01, 0x02, 0x50})
	f.Fuzz(func(t *testing.T, b []byte) {
		s := salvageBytes(b)
		for i, r := range s.Records {
			rec, err := DecodeRecord(r.Stored)
			if err != nil || rec.Seq != r.Seq || rec.Epoch != s.Epoch || (i > 0 && r.Seq <= s.Records[i-1].Seq) {
				t.Fatalf("salvaged record %d: %v", r.Seq, err)
			}
		}
	})
}
