package journal

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// buildCrashChild builds internal/crashchild (without the race detector,
// so that it starts quickly) and returns its path.
func buildCrashChild(t *testing.T) string {
	t.Helper()
	goTool, err := exec.LookPath("go")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the crash test builds its child with the go tool, which is not on PATH: %v", err)
		}
		t.Skipf("SKIPPING the crash test: the go tool is not on PATH to build its child (%v)", err)
	}
	bin := filepath.Join(t.TempDir(), "crashchild")
	cmd := exec.Command(goTool, "build", "-o", bin, "./internal/crashchild")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build the crash child: %v\n%s", err, out)
	}
	return bin
}

// TestCrash kills a journalling child with SIGKILL at random moments and
// checks after every restart that every passage whose gate opened is in
// the journal and that the hash chain verifies. CRASH_ROUNDS sets the
// number of rounds (default 200, 50 with -short).
func TestCrash(t *testing.T) {
	crashRounds(t, 0)
}

// TestCrashCheckpoint is TestCrash with a checkpoint every two records, so
// that the kills land during checkpoints (the bbolt commit, the log's
// reset) and during log appends right after them; it counts in which
// state each kill left the files.
func TestCrashCheckpoint(t *testing.T) {
	crashRounds(t, 2)
}

func crashRounds(t *testing.T, checkpointEvery int) {
	rounds := 200
	if testing.Short() {
		rounds = 50
	}
	if s := os.Getenv("CRASH_ROUNDS"); s != "" {
		var err error
		if rounds, err = strconv.Atoi(s); err != nil {
			t.Fatalf("CRASH_ROUNDS=%q: %v", s, err)
		}
	}
	child := buildCrashChild(t)
	args := []string{filepath.Join(t.TempDir(), FileName)}
	if checkpointEvery > 0 {
		args = append(args, strconv.Itoa(checkpointEvery))
	}
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d, %d rounds", seed, rounds)
	rnd := rand.New(rand.NewPCG(seed, 0))
	path := args[0]

	var (
		epoch     Epoch
		opened    = map[Seq]uint64{} // seq → passage, for every gate that opened
		killedAt  = map[string]int{}
		maxSeq    Seq
		startedAt = time.Now()
	)
	for round := range rounds {
		cmd := exec.Command(child, args...)
		var stderr strings.Builder
		cmd.Stderr = &stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		ready := make(chan struct{})
		lines := make(chan []string, 1)
		go func() {
			var got []string
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				if sc.Text() == "READY" {
					close(ready)
					continue
				}
				got = append(got, sc.Text())
			}
			lines <- got
		}()
		// Kill anywhere: one round in eight during start-up and Open, the
		// others amid the appends.
		if rnd.IntN(8) == 0 {
			time.Sleep(time.Duration(rnd.Int64N(int64(5 * time.Millisecond))))
		} else {
			select {
			case <-ready:
			case <-time.After(10 * time.Second):
				t.Fatalf("round %d: the child did not open the journal: %s", round, stderr.String())
			}
			time.Sleep(time.Duration(rnd.Int64N(int64(30 * time.Millisecond))))
		}
		cmd.Process.Kill()
		got := <-lines
		cmd.Wait()
		if strings.Contains(stderr.String(), "crashchild:") {
			t.Fatalf("round %d: child failed: %s", round, stderr.String())
		}
		select {
		case <-ready:
			if len(got) == 0 {
				killedAt["after open, before a gate opened"]++
			} else {
				killedAt["amid appends"]++
			}
		default:
			killedAt["before the journal opened"]++
		}
		thisRound := map[Seq]uint64{}
		for _, l := range got {
			var s Seq
			var i uint64
			if _, err := fmt.Sscanf(l, "OPEN %d %d", &s, &i); err != nil {
				continue // a line cut by the kill cannot be a whole OPEN: the gate never opened
			}
			if prev, dup := opened[s]; dup {
				t.Fatalf("round %d: seq %d opened the gate for passage %d and earlier for %d: a durable record was lost", round, s, i, prev)
			}
			opened[s], thisRound[s] = i, i
		}

		// The child's own Open at the next round checks the chain too and
		// fails on any alarm; here the supervisor's reader checks it.
		r, err := OpenReader(path, 5*time.Second)
		if errors.Is(err, fs.ErrNotExist) && len(opened) == 0 {
			// Killed before the journal was created (it is created under
			// a temporary name and renamed into place).
			killedAt["before the file existed"]++
			continue
		}
		if err != nil {
			t.Fatalf("round %d: reopen: %v", round, err)
		}
		res := mustVerify(t, r)
		if checkpointEvery > 0 {
			// Where the kill left the logs: records only there (killed
			// amid appends or during the checkpoint's bbolt commit), or
			// records there that bbolt holds too (killed between the
			// checkpoint's commit and the log's reset); and whether
			// records bbolt lacks were in both logs (killed after the
			// appends moved to the other log, before the checkpointer
			// emptied the first).
			cs, err := readLogs(path)
			if err != nil {
				t.Fatalf("round %d: read the logs: %v", round, err)
			}
			inLog, logsPending := 0, 0
			for _, c := range cs {
				n := 0
				for _, f := range c.frames {
					if f.kind != frameRecord {
						continue
					}
					inLog++
					if d, err := DecodeRecord(f.data); err == nil && len(r.recs) > 0 && d.Seq >= r.recs[0].seq {
						n++
					}
				}
				if n > 0 {
					logsPending++
				}
			}
			switch {
			case logsPending == 2:
				killedAt["records bbolt lacks in both logs (after a switch)"]++
			case inLog > len(r.recs):
				killedAt["log holds records bbolt has (checkpoint not finished)"]++
			case len(r.recs) > 0:
				killedAt["records only in the log"]++
			}
		}
		if epoch == (Epoch{}) {
			epoch = res.Epoch
		} else if res.Epoch != epoch {
			t.Fatalf("round %d: epoch changed from %s to %s", round, epoch, res.Epoch)
		}
		if res.Last < maxSeq {
			t.Fatalf("round %d: last record %d, but the gate opened for %d", round, res.Last, maxSeq)
		}
		checkOpened(t, r, thisRound)
		for s := range thisRound {
			maxSeq = max(maxSeq, s)
		}
		r.Close()
	}
	j, err := Open(path, Options{PurgeEvery: -1, CheckpointEvery: checkpointEvery})
	if err != nil {
		t.Fatal(err)
	}
	defer checkFile(t, path)
	defer j.Close()
	checkOpened(t, j, opened)
	res := mustVerify(t, j)
	t.Logf("%d rounds in %v: %d records, %d gates opened; killed %v", rounds, time.Since(startedAt).Round(time.Millisecond), res.Records, len(opened), killedAt)
	if len(opened) == 0 {
		t.Fatal("no gate ever opened: the child never got to append")
	}
}

// checkOpened checks that every passage whose gate opened is in the
// journal under the seq Append returned.
func checkOpened(t *testing.T, j interface {
	Range(from, to Seq, fn func(Seq, []byte) error) error
}, opened map[Seq]uint64) {
	t.Helper()
	var lo, hi Seq
	for s := range opened {
		if lo == 0 || s < lo {
			lo = s
		}
		hi = max(hi, s)
	}
	if lo == 0 {
		return
	}
	found := 0
	err := j.Range(lo, hi, func(s Seq, b []byte) error {
		i, ok := opened[s]
		if !ok {
			return nil // journaled, but killed before the gate opened: allowed
		}
		r, err := DecodeRecord(b)
		if err != nil {
			return err
		}
		if r.PolicyVersion != i {
			return fmt.Errorf("record %d holds passage %d, the gate opened for %d", s, r.PolicyVersion, i)
		}
		found++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if found != len(opened) {
		t.Fatalf("%d passages opened the gate, %d of them are in the journal", len(opened), found)
	}
}
