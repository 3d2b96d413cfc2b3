package journal

import (
	"context"
	"errors"
	"testing"
	"time"
)

// waitQueued waits until n appends are queued behind the leader.
func waitQueued(t *testing.T, j *Journal, n int) {
	t.Helper()
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(time.Millisecond) {
		j.qmu.Lock()
		q := len(j.queued)
		j.qmu.Unlock()
		if q == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d appends queued, want %d", q, n)
		}
	}
}

// An append whose context ends while it waits behind the leader leaves
// the queue: it is not recorded. The leader, once done, hands the
// leadership to the next append queued, which commits itself.
func TestAppendLeadership(t *testing.T) {
	j := openTest(t, Options{})
	entered, release := make(chan struct{}), make(chan struct{})
	j.appendHook = func() error {
		select {
		case entered <- struct{}{}:
			<-release
		default:
		}
		return nil
	}
	type result struct {
		seq Seq
		err error
	}
	leader := make(chan result, 1)
	go func() {
		s, err := j.Append(context.Background(), testPassage(0, t0))
		leader <- result{s, err}
	}()
	<-entered // the leader is inside its commit
	ctx, cancel := context.WithCancel(context.Background())
	gaveUp := make(chan result, 1)
	go func() {
		s, err := j.Append(ctx, testPassage(1, t0))
		gaveUp <- result{s, err}
	}()
	waitQueued(t, j.Journal, 1)
	next := make(chan result, 1)
	go func() {
		s, err := j.Append(context.Background(), testPassage(2, t0))
		next <- result{s, err}
	}()
	waitQueued(t, j.Journal, 2)
	cancel()
	if r := <-gaveUp; !errors.Is(r.err, context.Canceled) {
		t.Fatalf("the append whose context ended: %v %v, want context.Canceled", r.seq, r.err)
	}
	waitQueued(t, j.Journal, 1)
	close(release)
	if r := <-leader; r.err != nil || r.seq != 1 {
		t.Fatalf("leader: %v %v, want seq 1", r.seq, r.err)
	}
	if r := <-next; r.err != nil || r.seq != 2 {
		t.Fatalf("the append led after the leader: %v %v, want seq 2", r.seq, r.err)
	}
	var lanes []string
	if err := j.Range(1, 0, func(_ Seq, b []byte) error {
		rec, err := DecodeRecord(b)
		lanes = append(lanes, rec.Lane)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	// testPassage(i) is at lane in-(i%3+1): passage 1 (in-2) is not there.
	if len(lanes) != 2 || lanes[0] != "in-1" || lanes[1] != "in-3" {
		t.Fatalf("recorded lanes %v, want the leader's and the last append's (in-1, in-3)", lanes)
	}
	j.qmu.Lock()
	leading := j.leading
	j.qmu.Unlock()
	if leading {
		t.Fatal("a leader is left with nothing queued")
	}
}

// An append made the leader just as its context ends leads all the same:
// the appends queued behind it would wait for ever otherwise.
func TestAbandonWhenMadeLeader(t *testing.T) {
	j := openTest(t, Options{})
	r := &request{p: *testPassage(0, t0), done: make(chan error, 1)}
	j.qmu.Lock()
	j.queued, j.leading = []*request{r}, true
	j.leaders.Add(1)
	r.done <- errLead
	j.qmu.Unlock()
	if j.abandon(r) {
		t.Fatal("abandon let a leader go")
	}
	if err := <-r.done; err != errLead {
		t.Fatalf("the leadership was not kept for the caller: %v", err)
	}
	j.lead(r)
	if err := <-r.done; err != nil || r.seq != 1 {
		t.Fatalf("led own append: seq %d, %v", r.seq, err)
	}
}
