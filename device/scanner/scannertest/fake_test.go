package scannertest_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"sentinel/device/scanner"
	"sentinel/device/scanner/scannertest"
)

func TestFake(t *testing.T) {
	at := time.Date(2026, 3, 1, 8, 0, 0, 0, time.UTC)
	f := scannertest.NewFake("lane 1", func() time.Time { return at })
	f.Push("HC1:ONE")
	f.PushError(&scanner.LineTooLongError{Source: "lane 1", Len: 9000, Max: scanner.MaxLine})
	f.Push("HC1:ONE")

	ctx := context.Background()
	c, err := f.Next(ctx)
	if err != nil || string(c.Text) != "HC1:ONE" || c.Source != "lane 1" || !c.At.Equal(at) {
		t.Fatalf("got %+v %v, want HC1:ONE from lane 1 at %v", c, err, at)
	}
	var tl *scanner.LineTooLongError
	if _, err := f.Next(ctx); !errors.As(err, &tl) {
		t.Fatalf("got %v, want the pushed *LineTooLongError", err)
	}

	// Behind Dedup the repeated code is dropped.
	d := scanner.NewDedup(f, scanner.DedupConfig{Now: func() time.Time { return at }})
	f.Push("HC1:TWO")
	if c, err := d.Next(ctx); err != nil || string(c.Text) != "HC1:ONE" {
		t.Fatalf("got %q %v, want HC1:ONE", c.Text, err)
	}
	if c, err := d.Next(ctx); err != nil || string(c.Text) != "HC1:TWO" {
		t.Fatalf("got %q %v, want HC1:TWO", c.Text, err)
	}

	f.SetState(scanner.StateMissing, "unplugged")
	if st := f.Status(); st.State != scanner.StateMissing || st.Reason != "unplugged" || st.Codes != 3 {
		t.Errorf("got %+v, want missing, unplugged, 3 codes", st)
	}

	cctx, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := f.Next(cctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("got %v, want context.DeadlineExceeded", err)
	}
	f.Push("HC1:LATE")
	f.Close()
	if _, err := f.Next(ctx); !errors.Is(err, scanner.ErrClosed) {
		t.Errorf("got %v after Close, want ErrClosed", err)
	}
	if st := f.Status(); st.State != scanner.StateClosed {
		t.Errorf("got state %v, want closed", st.State)
	}
}

func ExampleNewFake() {
	f := scannertest.NewFake("lane 1", nil)
	f.Push("HC1:NCFOXN%TS3DH3ZSUZK+.V0ETD%65NL-AH-R6IOO")
	c, _ := f.Next(context.Background())
	fmt.Println(c.Source, len(c.Text))
	// Output: lane 1 43
}
