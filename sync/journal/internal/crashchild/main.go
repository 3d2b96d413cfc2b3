// Command crashchild is the journal crash test's stand-in for sentineld:
// it opens the journal named by its argument, appends a stream of passages
// from four lanes at once and prints "OPEN seq n" once Append has returned
// for passage n, i.e. when the gate would open. It prints "READY" after
// the journal opened. The test kills it with SIGKILL at random moments.
// CHECKPOINT_EVERY, when given, is Options.CheckpointEvery: a small one
// makes most kills land during a checkpoint or soon after one.
//
// Usage:
//
//	crashchild JOURNAL [CHECKPOINT_EVERY]
package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"periph.io/x/conn/v3/physic"

	"sentinel/crypto/credential"
	"sentinel/internal/passage"
	"sentinel/sync/journal"
)

func main() {
	if len(os.Args) < 2 || len(os.Args) > 3 {
		fmt.Fprintln(os.Stderr, "usage: crashchild JOURNAL [CHECKPOINT_EVERY]")
		os.Exit(2)
	}
	opts := journal.Options{PurgeEvery: -1}
	if len(os.Args) == 3 {
		n, err := strconv.Atoi(os.Args[2])
		if err != nil {
			fmt.Fprintln(os.Stderr, "crashchild: CHECKPOINT_EVERY:", err)
			os.Exit(2)
		}
		opts.CheckpointEvery = n
	}
	j, err := journal.Open(os.Args[1], opts)
	if err != nil {
		fail(err)
	}
	if a := j.Alarms(); len(a) != 0 {
		fail(fmt.Errorf("alarm at open: %s", a[0].Message))
	}
	var (
		n  atomic.Uint64
		mu sync.Mutex
		wg sync.WaitGroup
	)
	base := uint64(time.Now().UnixNano())
	os.Stdout.WriteString("READY\n")
	for lane := range 4 {
		wg.Go(func() {
			for {
				i := base + n.Add(1)
				p := &journal.Passage{
					Time: time.Now(), ClockTrusted: true, Lane: fmt.Sprintf("in-%d", lane+1),
					Format: credential.FormatNative, Issuer: "ZJ", KeyID: []byte{1, 2, 3, 4},
					Holder:     credential.Holder{Issuer: "ZJ", Index: uint32(i)},
					CodeColour: credential.ColourGreen, StatusColour: "green",
					Temperature: passage.Temperature{State: passage.TempOK, Value: physic.ZeroCelsius + 36600*physic.MilliKelvin,
						Ambient: physic.ZeroCelsius + 21*physic.Kelvin, Confidence: 0.9},
					Decision: passage.Admit, PolicyVersion: i, // the test checks it
					Bundles: map[string]uint64{"trust": 1, "status-base": 2},
				}
				s, err := j.Append(context.Background(), p)
				if err != nil {
					fail(err)
				}
				mu.Lock()
				fmt.Fprintf(os.Stdout, "OPEN %d %d\n", s, i) // one write(2): the gate opens
				mu.Unlock()
			}
		})
	}
	wg.Wait()
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "crashchild:", err)
	os.Exit(1)
}
