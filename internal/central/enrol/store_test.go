package enrol_test

import (
	"sync"
	"testing"
	"time"

	"sentinel/internal/central/enrol"
)

// Two stores on one directory (the CLI and the server) lose no update, and
// a token redeems exactly once however many try at the same time.
func TestFileStoreShared(t *testing.T) {
	dir := t.TempDir()
	a, err := enrol.OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, err := enrol.OpenFileStore(dir)
	if err != nil {
		t.Fatal(err)
	}
	var values []string
	var wg sync.WaitGroup
	var mu sync.Mutex
	for i := range 20 {
		wg.Go(func() {
			s := a
			if i%2 == 1 {
				s = b
			}
			v, tok, err := enrol.NewToken("s", t0, time.Hour)
			if err != nil {
				t.Error(err)
				return
			}
			if err := s.AddToken(tok); err != nil {
				t.Error(err)
			}
			mu.Lock()
			values = append(values, v)
			mu.Unlock()
		})
	}
	wg.Wait()
	var redeemed sync.Map
	for _, v := range values {
		for i := range 4 {
			wg.Go(func() {
				s := a
				if i%2 == 1 {
					s = b
				}
				if _, err := s.Redeem(enrol.HashToken(v), "t-x", t0); err == nil {
					if _, dup := redeemed.LoadOrStore(v, true); dup {
						t.Errorf("token %s redeemed twice", v)
					}
				}
			})
		}
	}
	wg.Wait()
	n := 0
	redeemed.Range(func(any, any) bool { n++; return true })
	if n != 20 {
		t.Errorf("got %d tokens redeemed, want 20 (an update was lost)", n)
	}
}
