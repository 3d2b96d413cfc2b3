package client

import (
	"context"
	"sync"
)

// loop owns one background goroutine: the upload loop of a Client or the
// download loop of a Downloader.
type loop struct {
	mu     sync.Mutex
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// start runs fn in a goroutine until ctx ends or stop; a second start
// while running does nothing.
func (l *loop) start(ctx context.Context, fn func(context.Context)) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.cancel != nil {
		return
	}
	ctx, l.cancel = context.WithCancel(ctx)
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		fn(ctx)
	}()
}

// stop cancels the goroutine and waits for it.
func (l *loop) stop() {
	l.mu.Lock()
	cancel := l.cancel
	l.mu.Unlock()
	if cancel != nil {
		cancel()
	}
	l.wg.Wait()
}
