package signal

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"periph.io/x/conn/v3/gpio"
	"periph.io/x/conn/v3/gpio/gpiotest"
)

// timeline records every level written to its pins, with the time since it
// started, in the order the writes happened. Under testing/synctest the
// times are the bubble's fake clock: exact, and nobody sleeps.
type timeline struct {
	mu    sync.Mutex
	now   func() time.Time
	start time.Time
	ev    []event
}

type event struct {
	at     time.Duration
	pin    string
	l      gpio.Level
	failed bool
}

func (e event) String() string {
	s := fmt.Sprintf("%s %s=%s", e.at, e.pin, e.l)
	if e.failed {
		s += "(failed)"
	}
	return s
}

func newTimeline(now func() time.Time) *timeline {
	return &timeline{now: now, start: now()}
}

// pin returns a gpiotest.Pin called name whose writes are recorded.
func (tl *timeline) pin(name string) *recPin {
	return &recPin{Pin: &gpiotest.Pin{N: name, L: gpio.Low}, tl: tl}
}

// all returns every event, in order.
func (tl *timeline) all() string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	s := make([]string, len(tl.ev))
	for i, e := range tl.ev {
		s[i] = e.String()
	}
	return strings.Join(s, ", ")
}

// of returns the events of one pin, in order.
func (tl *timeline) of(name string) string {
	tl.mu.Lock()
	defer tl.mu.Unlock()
	var s []string
	for _, e := range tl.ev {
		if e.pin == name {
			s = append(s, e.String())
		}
	}
	return strings.Join(s, ", ")
}

// recPin is a gpiotest.Pin that records its writes in a timeline and can
// be told to fail (or panic on) some of them.
type recPin struct {
	*gpiotest.Pin
	tl   *timeline
	n    int
	fail func(n int, l gpio.Level) error // n counts writes from 0
}

var _ gpio.PinOut = (*recPin)(nil)

func (p *recPin) Out(l gpio.Level) error {
	p.tl.mu.Lock()
	n := p.n
	p.n++
	fail := p.fail
	p.tl.mu.Unlock()
	var err error
	if fail != nil {
		err = fail(n, l)
	}
	p.tl.mu.Lock()
	p.tl.ev = append(p.tl.ev, event{at: p.tl.now().Sub(p.tl.start), pin: p.N, l: l, failed: err != nil})
	p.tl.mu.Unlock()
	if err != nil {
		return err
	}
	return p.Pin.Out(l)
}

// fakeClock advances by exactly d on each After; for single-goroutine
// tests without synctest.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) After(d time.Duration) <-chan time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
	ch := make(chan time.Time, 1)
	ch <- c.now
	return ch
}

var errPin = errors.New("gpio: write failed")

// failWrites fails the writes whose numbers are listed.
func failWrites(ns ...int) func(int, gpio.Level) error {
	return func(n int, _ gpio.Level) error {
		for _, x := range ns {
			if x == n {
				return errPin
			}
		}
		return nil
	}
}

// failLevel fails every write of l.
func failLevel(l gpio.Level) func(int, gpio.Level) error {
	return func(_ int, got gpio.Level) error {
		if got == l {
			return errPin
		}
		return nil
	}
}
