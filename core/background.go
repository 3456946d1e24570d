package core

import (
	"context"
	"fmt"
	"sync"
)

// maxBackgroundWork bounds how many background tasks run at once; more
// wait their turn off the request path. Their work (a bcrypt hash, a
// lookup, a mail job) is short, so a small number keeps a flood of
// requests from taking every CPU.
const maxBackgroundWork = 4

// backgroundWork runs the slow part of requests whose answer must not
// depend on it (the auth email flows, whose timing would tell whether an
// address has an account) after the response, and lets Shutdown wait for
// it before the databases close.
type backgroundWork struct {
	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
	slots  chan struct{}
}

func newBackgroundWork() *backgroundWork {
	return &backgroundWork{slots: make(chan struct{}, maxBackgroundWork)}
}

// runInBackground runs fn in its own goroutine once the transaction ctx
// carries (if any) has committed, on a context that keeps ctx's values
// but not its transaction, cancellation or deadline. A failure or panic
// is logged under name. Once Shutdown has begun, fn is not run.
func (a *App) runInBackground(ctx context.Context, name string, fn func(ctx context.Context) error) {
	a.AfterCommit(ctx, func(ctx context.Context) { a.startBackground(ctx, name, fn) })
}

func (a *App) startBackground(ctx context.Context, name string, fn func(ctx context.Context) error) {
	b := a.background
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		a.logger.Warn("background work dropped: shutting down", "work", name)
		return
	}
	b.wg.Add(1)
	b.mu.Unlock()
	ctx = withoutTx(context.WithoutCancel(ctx))
	go func() {
		defer b.wg.Done()
		b.slots <- struct{}{}
		defer func() { <-b.slots }()
		defer func() {
			if p := recover(); p != nil {
				a.logger.Error("background work panicked", "work", name, "panic", fmt.Sprint(p))
			}
		}()
		if err := fn(ctx); err != nil {
			a.logger.Error("background work failed", "work", name, "error", err.Error())
		}
	}()
}

// close refuses new work and waits for the work in flight, or for ctx.
func (b *backgroundWork) close(ctx context.Context) {
	b.mu.Lock()
	b.closed = true
	b.mu.Unlock()
	done := make(chan struct{})
	go func() {
		b.wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
}
