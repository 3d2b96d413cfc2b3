package boltstore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"sentinel/internal/central"
	"sentinel/internal/central/storetest"
)

// scan is what Passages gave before the indexes: every record, filtered.
func scan(t *testing.T, s *Store, f central.Filter) []central.Passage {
	t.Helper()
	var out []central.Passage
	for _, p := range storetest.All(t, s, central.Filter{}) {
		if f.Match(&p) {
			out = append(out, p)
		}
	}
	return out
}

func samePassages(t *testing.T, s *Store, step string) {
	t.Helper()
	recs := storetest.Recs(1, 300, "a")
	for _, f := range []central.Filter{
		{Site: "gate-1"}, {Site: "gate-2", From: recs[40].Time, To: recs[90].Time}, {Holder: "ZJ:3"},
		{Holder: "ZJ:4", Site: "gate-1", From: recs[10].Time}, {Holder: "ZJ:5", To: recs[100].Time}, {Site: "nowhere"},
		{Holder: "ZJ:2", Device: "t2"},
	} {
		got, want := storetest.All(t, s, f), scan(t, s, f)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: Passages(%+v) gave %d passages through the index, %d by a scan", step, f, len(got), len(want))
		}
	}
}

// TestPassageIndexes: reads by site or holder go through the indexes and
// give what a scan of every record gives, after ingest, after a purge and
// for a file written before the indexes (built when it is opened).
func TestPassageIndexes(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "central.db")
	s := open(t, path)
	recs := storetest.Recs(1, 300, "a")
	if _, err := storetest.Ingest(ctx, s, "t1", central.Epoch{1}, recs); err != nil {
		t.Fatal(err)
	}
	if _, err := storetest.Ingest(ctx, s, "t2", central.Epoch{2}, storetest.Recs(1, 50, "b")); err != nil {
		t.Fatal(err)
	}
	if n := len(storetest.All(t, s, central.Filter{Site: "gate-1"})); n != 175 {
		t.Fatalf("gate-1: %d passages, want 175", n)
	}
	samePassages(t, s, "after ingest")
	if _, err := s.PurgeBefore(ctx, recs[100].Time); err != nil {
		t.Fatal(err)
	}
	samePassages(t, s, "after a purge")
	err := s.db.View(func(tx *bolt.Tx) error {
		if n := tx.Bucket(bucketBySite).Stats().KeyN; n != 200 {
			t.Errorf("the site index holds %d keys after the purge, want 200", n)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// As an older build left the file: no indexes.
	if err := s.db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketBySite); err != nil {
			return err
		}
		return tx.DeleteBucket(bucketByHolder)
	}); err != nil {
		t.Fatal(err)
	}
	samePassages(t, s, "without the indexes")
	s.Close()
	s = open(t, path)
	defer s.Close()
	samePassages(t, s, "indexes built on open")
}
