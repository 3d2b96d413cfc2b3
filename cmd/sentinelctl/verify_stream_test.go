package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"runtime"
	"strings"
	"testing"
	"time"
)

// TestVerifyStreamsStdin: each line of standard input gets its verdict
// before the next line is written, so `verify -` works as a filter on an
// endless stream.
func TestVerifyStreamsStdin(t *testing.T) {
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- run(context.Background(), []string{"verify", "--json", "-"}, inR, outW, io.Discard)
		outW.Close()
	}()
	lines := bufio.NewReader(outR)
	for i := 1; i <= 3; i++ {
		if _, err := fmt.Fprintf(inW, "not a code %d\n", i); err != nil {
			t.Fatal(err)
		}
		got := make(chan string, 1)
		go func() {
			l, _ := lines.ReadString('\n')
			got <- l
		}()
		select {
		case l := <-got:
			var v verdict
			if err := json.Unmarshal([]byte(l), &v); err != nil || v.Input != fmt.Sprintf("stdin:%d", i) {
				t.Fatalf("line %d: got %q (%v), want its verdict", i, l, err)
			}
		case <-time.After(20 * time.Second): // a hang, not a speed limit
			t.Fatalf("no verdict for line %d while standard input stays open", i)
		}
	}
	inW.Close()
	if code := <-done; code != exitRefused {
		t.Errorf("got exit %d, want %d", code, exitRefused)
	}
}

// lineSource yields n lines of a refused payload without holding them,
// and records the largest heap seen while they are read.
type lineSource struct {
	line    []byte
	n, sent int
	pending []byte
	maxHeap uint64
}

func (s *lineSource) Read(p []byte) (int, error) {
	if len(s.pending) == 0 {
		if s.sent == s.n {
			return 0, io.EOF
		}
		if s.sent%20000 == 0 {
			var ms runtime.MemStats
			runtime.ReadMemStats(&ms)
			s.maxHeap = max(s.maxHeap, ms.HeapAlloc)
		}
		s.sent++
		s.pending = s.line
	}
	n := copy(p, s.pending)
	s.pending = s.pending[n:]
	return n, nil
}

// TestVerifyStdinMemory: 200,000 lines (about 80 MB) go through `verify -`
// with the heap staying far below the input's size.
func TestVerifyStdinMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("streams 80 MB")
	}
	src := &lineSource{line: []byte("HCN1:" + strings.Repeat("Z", 395) + "\n"), n: 200000}
	counter := &countingWriter{}
	code := run(context.Background(), []string{"verify", "--json", "-"}, src, counter, io.Discard)
	if code != exitRefused {
		t.Fatalf("got exit %d, want %d", code, exitRefused)
	}
	if counter.lines != src.n {
		t.Errorf("got %d verdicts, want %d", counter.lines, src.n)
	}
	const bound = 32 << 20
	if src.maxHeap > bound {
		t.Errorf("the heap reached %d MB while reading %d MB of input, want under %d MB", src.maxHeap>>20, src.n*len(src.line)>>20, bound>>20)
	}
}

// countingWriter counts the lines of JSON verdicts.
type countingWriter struct{ lines int }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.lines += bytes.Count(p, []byte("\n"))
	return len(p), nil
}
