package hook

import (
	"crypto/rand"
	"encoding/hex"
	"slices"
	"sync"
)

// Handler is one link of a hook chain.
type Handler[T Resolver] struct {
	// ID identifies the handler for Unbind. An empty ID is replaced by a
	// random one when the handler is bound.
	ID string

	// Priority orders handlers: lower runs first; equal priorities keep the
	// order in which they were bound.
	Priority int

	// Func is the handler itself. It must call e.Next() to continue the
	// chain; returning without doing so skips the rest, final action included.
	Func func(e T) error
}

// Hook is an ordered, concurrency-safe list of handlers for events of type T.
// The zero value is ready to use.
type Hook[T Resolver] struct {
	mu       sync.RWMutex
	handlers []*Handler[T] // sorted by Priority, ties in bind order
}

// Bind adds handler to the chain and returns its ID. Binding an ID that is
// already bound replaces the old handler; the new one is placed by its own
// priority, after the handlers of equal priority.
func (h *Hook[T]) Bind(handler *Handler[T]) string {
	hc := *handler
	if hc.ID == "" {
		hc.ID = randomID()
	}

	h.mu.Lock()
	defer h.mu.Unlock()

	if i := h.indexOf(hc.ID); i >= 0 {
		h.handlers = slices.Delete(h.handlers, i, i+1)
	}

	pos := len(h.handlers)
	for i, existing := range h.handlers {
		if hc.Priority < existing.Priority {
			pos = i
			break
		}
	}
	h.handlers = slices.Insert(h.handlers, pos, &hc)

	return hc.ID
}

// BindFunc adds fn with priority 0 and returns its generated ID.
func (h *Hook[T]) BindFunc(fn func(e T) error) string {
	return h.Bind(&Handler[T]{Func: fn})
}

// Unbind removes the handlers with the given IDs. Unknown IDs are ignored.
func (h *Hook[T]) Unbind(ids ...string) {
	h.mu.Lock()
	defer h.mu.Unlock()

	for _, id := range ids {
		if i := h.indexOf(id); i >= 0 {
			h.handlers = slices.Delete(h.handlers, i, i+1)
		}
	}
}

// UnbindAll removes every handler.
func (h *Hook[T]) UnbindAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handlers = nil
}

// Length reports how many handlers are bound.
func (h *Hook[T]) Length() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.handlers)
}

// Trigger runs the bound handlers in order with event, followed by final
// (core's default action), which may be nil. The handlers bound at the moment
// of the call are used even if others are bound or unbound while it runs.
//
// Calling e.Next() past the end of the chain is a no-op. Trigger restores the
// event's previous continuation when it returns, so a handler may pass its
// event to another hook and still continue its own chain afterwards.
func (h *Hook[T]) Trigger(event T, final func(e T) error) error {
	h.mu.RLock()
	chain := make([]func(T) error, 0, len(h.handlers)+1)
	for _, handler := range h.handlers {
		chain = append(chain, handler.Func)
	}
	h.mu.RUnlock()

	if final != nil {
		chain = append(chain, final)
	}

	prev := event.nextFunc()
	defer event.setNext(prev)

	var run func(i int) error
	run = func(i int) error {
		if i >= len(chain) {
			return nil
		}
		event.setNext(func() error { return run(i + 1) })
		return chain[i](event)
	}

	return run(0)
}

func (h *Hook[T]) indexOf(id string) int {
	for i, handler := range h.handlers {
		if handler.ID == id {
			return i
		}
	}
	return -1
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
