package client_test

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"

	"sentinel/sync/client"
	"sentinel/sync/journal"
	"sentinel/sync/server"
	"sentinel/sync/server/servertest"
)

// TestRestoredCopyBehind: issue 9 finding 4. A restored copy of the
// journal that the centre holds more of looped on "acknowledge 15:
// journal: acknowledgement beyond the last record". Now it acknowledges
// what it sent and the centre compared, and its first new record makes
// a fork: the copy's new passages reach the centre under the branch, and
// the centre's own records of the epoch stay as they were.
func TestRestoredCopyBehind(t *testing.T) {
	f := newFixture(t, 1, server.Options{}, nil)
	a, b := servertest.ForkedJournals(t, 5, 10)
	if err := f.client(t, a, client.Options{Batch: 4}).Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	c := f.client(t, b, client.Options{Batch: 4, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err := c.Drain(t.Context()); err != nil {
		t.Fatalf("restored copy: %v", err)
	}
	if !strings.Contains(logs.String(), "state=diverged") {
		t.Errorf("the copy holding another record at the centre's mark is not logged as diverged:\n%s", logs.String())
	}
	br, err := b.Branch()
	if err != nil || br.From != 6 || br.Epoch == (journal.Epoch{}) {
		t.Fatalf("got branch %+v (%v), want one from 6", br, err)
	}
	if acked, err := b.Acked(); err != nil || acked != 15 {
		t.Fatalf("got acknowledged %d (%v), want 15", acked, err)
	}
	if n := f.store.Count(dev, a.Epoch()); n != 15 {
		t.Fatalf("got %d records of the epoch, want the original's 15", n)
	}
	if n := f.store.Count(dev, br.Epoch); n != 10 {
		t.Fatalf("got %d records under the branch, want the copy's 10", n)
	}
	for i, r := range f.store.Records(dev, br.Epoch) {
		if want := servertest.Stored(t, b, journal.Seq(6+i), journal.Seq(6+i))[0]; string(r.Stored) != string(want) {
			t.Fatalf("branch record %d is not the copy's", 6+i)
		}
	}
	servertest.Append(t, b, 4)
	if err := c.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := f.store.Count(dev, br.Epoch); n != 14 {
		t.Fatalf("got %d records under the branch after more passages, want 14", n)
	}
}

// TestRestoredCopyNothingNew: a copy that the centre holds more of and
// that wrote nothing of its own drains without error (it used to loop on
// an acknowledgement beyond its last record) and acknowledges its own
// last record only.
func TestRestoredCopyNothingNew(t *testing.T) {
	f := newFixture(t, 1, server.Options{}, nil)
	a, b := servertest.ForkedJournals(t, 5, 0)
	servertest.Append(t, a, 10)
	if err := f.client(t, a, client.Options{Batch: 4}).Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	if err := f.client(t, b, client.Options{Batch: 4, Logger: slog.New(slog.NewTextHandler(&logs, nil))}).Drain(t.Context()); err != nil {
		t.Fatalf("restored copy: %v", err)
	}
	if !strings.Contains(logs.String(), "state=behind") || !strings.Contains(logs.String(), "restored from an older copy") {
		t.Errorf("the copy that ends before the centre's mark is not logged as behind:\n%s", logs.String())
	}
	if acked, err := b.Acked(); err != nil || acked != 5 {
		t.Fatalf("got acknowledged %d (%v), want 5", acked, err)
	}
	if br, _ := b.Branch(); br != (journal.Branch{}) {
		t.Fatalf("got branch %+v with nothing new, want none", br)
	}
}

// TestMarkAheadSameRecord: when the centre's mark lies past the range
// sent and the journal holds the same record there (the answer's mark
// hash), the client acknowledges the mark at once instead of sending the
// rest again.
func TestMarkAheadSameRecord(t *testing.T) {
	f := newFixture(t, 40, server.Options{}, nil)
	if err := f.client(t, nil, client.Options{}).Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	before := f.posts.Load()
	if err := f.client(t, forgetful{f.j}, client.Options{Batch: 4}).Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if n := f.posts.Load() - before; n != 1 {
		t.Fatalf("a journal whose acknowledgements were lost sent %d uploads, want 1", n)
	}
	if acked, err := f.j.Acked(); err != nil || acked != 40 {
		t.Fatalf("got acknowledged %d (%v), want 40", acked, err)
	}
}
