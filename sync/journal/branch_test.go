package journal

import (
	"errors"
	"testing"
	"time"
)

// TestBranch: a journal's branch is kept durably, acknowledges the
// records before the fork, is refused past the last record or onto the
// journal's own epoch, is replaced by a later fork and removed by the
// zero Branch; Verify reports it.
func TestBranch(t *testing.T) {
	j := openTest(t, Options{})
	for range 6 {
		mustAppend(t, j.Journal, testPassage(0, time.Date(2026, 12, 7, 8, 0, 0, 0, time.UTC)))
	}
	if b, err := j.Branch(); err != nil || b != (Branch{}) {
		t.Fatalf("a new journal's branch: got %+v (%v), want none", b, err)
	}
	for _, bad := range []Branch{{From: 7, Epoch: Epoch{1}}, {From: 0, Epoch: Epoch{1}}, {From: 3, Epoch: j.Epoch()}, {From: 3}} {
		if err := j.SetBranch(bad); err == nil {
			t.Fatalf("SetBranch(%+v): got no error", bad)
		}
	}
	if err := j.SetBranch(Branch{From: 7, Epoch: Epoch{1}}); !errors.Is(err, ErrAckAhead) {
		t.Fatalf("a branch past the last record: got %v, want ErrAckAhead", err)
	}
	want := Branch{From: 4, Epoch: Epoch{0xb1}}
	if err := j.SetBranch(want); err != nil {
		t.Fatal(err)
	}
	if acked, err := j.Acked(); err != nil || acked != 3 {
		t.Fatalf("got acknowledged %d (%v), want the 3 records before the fork", acked, err)
	}
	j.Close()
	r, err := Open(j.path, Options{PurgeEvery: -1, CentreKey: j.centre.PublicKey()})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if b, err := r.Branch(); err != nil || b != want {
		t.Fatalf("after reopening: got %+v (%v), want %+v", b, err, want)
	}
	if res, err := r.Verify(); err != nil || res.Branch == nil || *res.Branch != want {
		t.Fatalf("Verify: got %+v (%v), want the branch", res.Branch, err)
	}
	later := Branch{From: 5, Epoch: Epoch{0xb2}}
	if err := r.SetBranch(later); err != nil {
		t.Fatal(err)
	}
	if b, _ := r.Branch(); b != later {
		t.Fatalf("a later fork: got %+v, want %+v", b, later)
	}
	if err := r.SetBranch(Branch{}); err != nil {
		t.Fatal(err)
	}
	if b, _ := r.Branch(); b != (Branch{}) {
		t.Fatalf("after removing: got %+v, want none", b)
	}
	if acked, _ := r.Acked(); acked != 4 {
		t.Fatalf("got acknowledged %d, want 4 (never moved back)", acked)
	}
}
