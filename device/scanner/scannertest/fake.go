// Package scannertest provides a fake scanner for the tests of code that
// consumes scanner.Source, such as the gate's pipeline.
package scannertest

import (
	"context"
	"sync"
	"time"

	"sentinel/device/scanner"
)

// Fake is an in-memory scanner.Source: codes pushed with Push come out of
// Next in order. It is safe for concurrent use.
type Fake struct {
	name string
	now  func() time.Time

	items chan item
	done  chan struct{}
	once  sync.Once

	mu     sync.Mutex
	status scanner.Status
}

type item struct {
	text string
	err  error
}

var _ scanner.Source = (*Fake)(nil)

// NewFake returns a present Fake named name whose codes are stamped with
// now (time.Now if nil). It holds up to 64 codes not yet read.
func NewFake(name string, now func() time.Time) *Fake {
	if now == nil {
		now = time.Now
	}
	return &Fake{
		name:   name,
		now:    now,
		items:  make(chan item, 64),
		done:   make(chan struct{}),
		status: scanner.Status{Source: name, Kind: "fake", State: scanner.StatePresent, Since: now()},
	}
}

// Push queues a code; it blocks while 64 codes are unread.
func (f *Fake) Push(text string) { f.items <- item{text: text} }

// PushError queues an error for Next to return, such as a
// *scanner.LineTooLongError.
func (f *Fake) PushError(err error) { f.items <- item{err: err} }

// SetState sets the state and reason that Status reports, as when a
// scanner is unplugged.
func (f *Fake) SetState(st scanner.State, reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.status.State != st {
		f.status.Since = f.now()
	}
	f.status.State = st
	f.status.Reason = reason
}

// Next returns the next pushed code or error.
func (f *Fake) Next(ctx context.Context) (scanner.Code, error) {
	select {
	case <-f.done:
		return scanner.Code{}, scanner.ErrClosed
	default:
	}
	select {
	case <-ctx.Done():
		return scanner.Code{}, ctx.Err()
	case <-f.done:
		return scanner.Code{}, scanner.ErrClosed
	case it := <-f.items:
		if it.err != nil {
			return scanner.Code{}, it.err
		}
		at := f.now()
		f.mu.Lock()
		f.status.Codes++
		f.status.LastCode = at
		f.mu.Unlock()
		return scanner.Code{Text: []byte(it.text), Source: f.name, At: at}, nil
	}
}

// Status returns the state set with SetState.
func (f *Fake) Status() scanner.Status {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.status
}

// Close makes Next return scanner.ErrClosed.
func (f *Fake) Close() error {
	f.once.Do(func() {
		close(f.done)
		f.SetState(scanner.StateClosed, "")
	})
	return nil
}
