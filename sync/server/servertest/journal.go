package servertest

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"sentinel/crypto/credential"
	"sentinel/internal/passage"
	"sentinel/sync/journal"
)

// Journal opens a journal in t.TempDir with n passages appended, and
// closes it at cleanup.
func Journal(t testing.TB, n int) *journal.Journal {
	t.Helper()
	j, err := journal.Open(filepath.Join(t.TempDir(), journal.FileName), journal.Options{PurgeEvery: -1, MaxBatch: 1024})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { j.Close() })
	Append(t, j, n)
	return j
}

// Append appends n small passages from 1024 lanes at once, so that they
// share commits.
func Append(t testing.TB, j *journal.Journal, n int) {
	t.Helper()
	at := time.Date(2026, 11, 2, 8, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	next := make(chan int)
	for range 1024 {
		wg.Go(func() {
			for i := range next {
				p := &journal.Passage{
					Time: at.Add(time.Duration(i) * time.Second), ClockTrusted: true,
					Lane: fmt.Sprintf("in-%d", i%4+1), Format: credential.FormatNative, Issuer: "ZJ",
					Holder:   credential.Holder{Kind: credential.HolderKind(1), Issuer: "ZJ", Index: uint32(i)},
					Decision: passage.Admit, PolicyVersion: 3,
				}
				if _, err := j.Append(context.Background(), p); err != nil {
					t.Error(err)
				}
			}
		})
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
}

// Stored returns the stored bytes of records from..to of j.
func Stored(t testing.TB, j *journal.Journal, from, to journal.Seq) [][]byte {
	t.Helper()
	var out [][]byte
	if err := j.Range(from, to, func(_ journal.Seq, b []byte) error { out = append(out, b); return nil }); err != nil {
		t.Fatal(err)
	}
	return out
}

// ForkedJournals returns two journals with one epoch, as a terminal's
// data and a restored copy of it: common passages appended to both, then
// n to each, which differ (each open seals under a new data key). Both
// close at cleanup.
func ForkedJournals(t testing.TB, common, n int) (a, b *journal.Journal) {
	t.Helper()
	dir := t.TempDir()
	pa, pb := filepath.Join(dir, "a.db"), filepath.Join(dir, "b.db")
	opts := journal.Options{PurgeEvery: -1, MaxBatch: 1024}
	j, err := journal.Open(pa, opts)
	if err != nil {
		t.Fatal(err)
	}
	Append(t, j, common)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	raw, err := os.ReadFile(pa)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(pb, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{pa, pb} {
		j, err := journal.Open(p, opts)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { j.Close() })
		Append(t, j, n)
		if a == nil {
			a = j
		} else {
			b = j
		}
	}
	return a, b
}
