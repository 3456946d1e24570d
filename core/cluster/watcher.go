package cluster

import (
	"sync"

	"github.com/casbin/casbin/v2/persist"
)

// Watcher is a Casbin persist.Watcher on whatever carries messages
// between instances (a Bus topic): Update, which Casbin calls after each
// policy change it saves, runs notify; Changed, which the receiving side
// calls for a change made elsewhere, runs the callback Casbin set (a
// policy reload).
//
// It is a few lines on the Bus rather than casbin/redis-watcher: the Bus
// already holds the subscription, reloads after an outage and can wait
// until the other instances have reloaded, which that watcher (its own
// client and subscription, fire-and-forget) cannot.
type Watcher struct {
	notify func()

	mu sync.Mutex
	cb func(string)
}

// NewWatcher returns a watcher that calls notify on each local change.
// notify must not fail the change: Casbin has saved it already.
func NewWatcher(notify func()) *Watcher { return &Watcher{notify: notify} }

// SetUpdateCallback implements persist.Watcher.
func (w *Watcher) SetUpdateCallback(fn func(string)) error {
	w.mu.Lock()
	w.cb = fn
	w.mu.Unlock()
	return nil
}

// Update implements persist.Watcher: it tells the other instances. It
// never fails, as Casbin would report the already saved change as failed.
func (w *Watcher) Update() error {
	if w.notify != nil {
		w.notify()
	}
	return nil
}

// Close implements persist.Watcher.
func (w *Watcher) Close() {}

// Changed runs the update callback, for a change made on another
// instance.
func (w *Watcher) Changed() {
	w.mu.Lock()
	cb := w.cb
	w.mu.Unlock()
	if cb != nil {
		cb("")
	}
}

var _ persist.Watcher = (*Watcher)(nil)
