package realtime

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
)

// ErrTooManyClients is returned by Register when the instance already
// holds its maximum of clients.
var ErrTooManyClients = errors.New("realtime: too many clients")

// Event is a record change carried between instances. Receivers load the
// record themselves and decide, per client, who may see it.
type Event struct {
	// Origin is the id of the instance that published the event.
	Origin     string `json:"origin"`
	Action     string `json:"action"` // create, update or delete
	Collection string `json:"collection"`
	RecordID   string `json:"recordId"`
	// Record is the record as it was, every field included, for deletes:
	// the row is gone when other instances receive the event.
	Record json.RawMessage `json:"record,omitempty"`
}

// Broker keeps the clients connected to this instance and carries events
// to every instance's subscribers, this one included.
type Broker interface {
	// Register adds a client; over the instance's cap it returns
	// ErrTooManyClients.
	Register(c *Client) error
	// Unregister removes and closes the client id, if present.
	Unregister(id string)
	// Client returns the registered client id, or nil.
	Client(id string) *Client
	// Clients returns a snapshot of the registered clients.
	Clients() []*Client
	// Publish delivers ev to the handlers of every instance. It must not
	// wait for clients.
	Publish(ctx context.Context, ev Event) error
	// Subscribe adds a handler of published events and returns its
	// removal. Handlers must return quickly.
	Subscribe(fn func(Event)) (cancel func())
	// Close closes every client and stops delivery.
	Close() error
}

// Local is the in-process Broker: events reach only this process's
// handlers. A cluster broker embeds it for the client registry.
type Local struct {
	maxClients int

	mu       sync.RWMutex
	clients  map[string]*Client
	handlers map[int]func(Event)
	nextID   int
	closed   bool
}

// NewLocal returns an in-process broker that holds at most maxClients
// clients (0 or less: no cap).
func NewLocal(maxClients int) *Local {
	return &Local{maxClients: maxClients, clients: map[string]*Client{}, handlers: map[int]func(Event){}}
}

// Register implements Broker.
func (b *Local) Register(c *Client) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return errors.New("realtime: broker closed")
	}
	if b.maxClients > 0 && len(b.clients) >= b.maxClients {
		return ErrTooManyClients
	}
	b.clients[c.ID()] = c
	return nil
}

// Unregister implements Broker.
func (b *Local) Unregister(id string) {
	b.mu.Lock()
	c := b.clients[id]
	delete(b.clients, id)
	b.mu.Unlock()
	if c != nil {
		c.Close()
	}
}

// Client implements Broker.
func (b *Local) Client(id string) *Client {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.clients[id]
}

// Clients implements Broker.
func (b *Local) Clients() []*Client {
	b.mu.RLock()
	defer b.mu.RUnlock()
	out := make([]*Client, 0, len(b.clients))
	for _, c := range b.clients {
		out = append(out, c)
	}
	return out
}

// Len returns the number of registered clients.
func (b *Local) Len() int {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return len(b.clients)
}

// Publish implements Broker: it calls this process's handlers.
func (b *Local) Publish(_ context.Context, ev Event) error {
	b.Deliver(ev)
	return nil
}

// Deliver calls every handler with ev; a cluster broker calls it for the
// events it receives.
func (b *Local) Deliver(ev Event) {
	b.mu.RLock()
	fns := make([]func(Event), 0, len(b.handlers))
	for _, fn := range b.handlers {
		fns = append(fns, fn)
	}
	b.mu.RUnlock()
	for _, fn := range fns {
		fn(ev)
	}
}

// Subscribe implements Broker.
func (b *Local) Subscribe(fn func(Event)) func() {
	b.mu.Lock()
	defer b.mu.Unlock()
	id := b.nextID
	b.nextID++
	b.handlers[id] = fn
	return func() {
		b.mu.Lock()
		delete(b.handlers, id)
		b.mu.Unlock()
	}
}

// CloseClients closes and removes every client (server shutdown) but
// keeps the broker usable.
func (b *Local) CloseClients() {
	b.mu.Lock()
	clients := b.clients
	b.clients = map[string]*Client{}
	b.mu.Unlock()
	for _, c := range clients {
		c.Close()
	}
}

// Close implements Broker.
func (b *Local) Close() error {
	b.CloseClients()
	b.mu.Lock()
	b.closed = true
	b.handlers = map[int]func(Event){}
	b.mu.Unlock()
	return nil
}

var _ Broker = (*Local)(nil)
