package scanner

import (
	"context"
	"errors"
	"os"
	"sync"
	"testing"
	"time"
)

// harness is a Source under test and a way to make its device send codes.
type harness struct {
	Src Source
	// Emit makes the device send texts; the source may not have opened its
	// device yet.
	Emit func(t *testing.T, texts ...string)
}

// runSourceContract checks the behaviour every Source promises.
func runSourceContract(t *testing.T, mk func(t *testing.T) harness) {
	t.Run("codes in order", func(t *testing.T) {
		h := mk(t)
		ch := reader(t, h.Src)
		h.Emit(t, "HC1:ONE", "shc:/56762909", "HC1:THREE")
		for _, want := range []string{"HC1:ONE", "shc:/56762909", "HC1:THREE"} {
			c := expectCode(t, ch, want)
			st := h.Src.Status()
			if c.Source == "" || c.Source != st.Source {
				t.Errorf("got source %q, status source %q, want equal and set", c.Source, st.Source)
			}
			if c.At.IsZero() {
				t.Errorf("got a zero At")
			}
		}
		if st := h.Src.Status(); st.State != StatePresent || st.Codes < 3 || st.LastCode.IsZero() {
			t.Errorf("got %v with %d codes, last %v; want present, 3, set", st.State, st.Codes, st.LastCode)
		}
	})
	t.Run("cancel", func(t *testing.T) {
		h := mk(t)
		defer h.Src.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Millisecond)
		defer cancel()
		if _, err := h.Src.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("got %v, want context.DeadlineExceeded", err)
		}
		if _, err := h.Src.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("again: got %v, want context.DeadlineExceeded", err)
		}
	})
	t.Run("close", func(t *testing.T) {
		h := mk(t)
		var wg sync.WaitGroup
		stop := make(chan struct{})
		wg.Add(1)
		go func() { // Status is safe while Next and Close run
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
					_ = h.Src.Status()
					time.Sleep(100 * time.Microsecond)
				}
			}
		}()
		errc := make(chan error, 1)
		go func() {
			_, err := h.Src.Next(context.Background())
			errc <- err
		}()
		time.Sleep(5 * time.Millisecond)
		if err := h.Src.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
		select {
		case err := <-errc:
			if !errors.Is(err, ErrClosed) {
				t.Errorf("got %v, want ErrClosed", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("Next still blocked 5 s after Close")
		}
		close(stop)
		wg.Wait()
		if err := h.Src.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
		if _, err := h.Src.Next(context.Background()); !errors.Is(err, ErrClosed) {
			t.Errorf("got %v after Close, want ErrClosed", err)
		}
		if st := h.Src.Status(); st.State != StateClosed {
			t.Errorf("got state %v, want closed", st.State)
		}
	})
}

func serialHarness(t *testing.T) harness {
	p := newPTY(t)
	s := newTestSerial(t, SerialConfig{Port: p.path, Framing: FramingCRLF})
	return harness{Src: s, Emit: func(t *testing.T, texts ...string) {
		waitState(t, s, StatePresent)
		for _, x := range texts {
			p.write(t, x+"\r\n")
		}
	}}
}

func evdevHarness(t *testing.T) harness {
	e, err := NewEvdev(EvdevConfig{Path: "/dev/input/by-id/usb-Test-event-kbd", Name: "hid lane"})
	if err != nil {
		t.Fatal(err)
	}
	writers := make(chan *os.File, 1)
	e.open = func(string, bool) (eventFile, error) {
		r, w, err := os.Pipe()
		if err != nil {
			return nil, err
		}
		t.Cleanup(func() { w.Close() })
		writers <- w
		return r, nil
	}
	var w *os.File
	return harness{Src: e, Emit: func(t *testing.T, texts ...string) {
		if w == nil {
			select {
			case w = <-writers:
			case <-time.After(5 * time.Second):
				t.Fatal("device not opened within 5 s")
			}
		}
		tw := newTypist(NativeLayout)
		for _, x := range texts {
			tw.text(x)
			tw.enter()
		}
		if _, err := w.Write(tw.b); err != nil {
			t.Fatal(err)
		}
	}}
}

func TestSourceContract(t *testing.T) {
	t.Run("serial", func(t *testing.T) { runSourceContract(t, serialHarness) })
	t.Run("evdev", func(t *testing.T) { runSourceContract(t, evdevHarness) })
	t.Run("dedup", func(t *testing.T) {
		runSourceContract(t, func(t *testing.T) harness {
			h := serialHarness(t)
			h.Src = NewDedup(h.Src, DedupConfig{})
			return h
		})
	})
}

// Harness and RunSourceContract let the external test package run the
// contract against scannertest.Fake, which imports this package.
type Harness = harness

// RunSourceContract runs the Source contract.
var RunSourceContract = runSourceContract
