package realtime

import (
	"encoding/json"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
)

// Message is one server-sent event for a client: Name is the SSE event
// name (PB_CONNECT or the subscription it answers), Data its payload.
type Message struct {
	Name string
	Data []byte
}

// Subscription is one entry of a client's subscription list, e.g.
// "posts/*?options={...}".
type Subscription struct {
	// Raw is the subscription as the client sent it; events for it are
	// named by it.
	Raw string
	// Topic is Raw without its query: "posts", "posts/*" or "posts/ID".
	Topic string
	// Query and Headers are the options' query parameters (expand,
	// fields, ...) and headers, which rules see as @request.query and
	// @request.headers.
	Query   map[string]string
	Headers map[string]string
}

// ParseSubscription splits raw into its topic and options. Options that
// do not parse are ignored, as PocketBase does.
func ParseSubscription(raw string) Subscription {
	s := Subscription{Raw: raw, Topic: raw}
	i := strings.IndexByte(raw, '?')
	if i < 0 {
		return s
	}
	s.Topic = raw[:i]
	q, err := url.ParseQuery(raw[i+1:])
	if err != nil || q.Get("options") == "" {
		return s
	}
	var opts struct {
		Query   map[string]any `json:"query"`
		Headers map[string]any `json:"headers"`
	}
	if json.Unmarshal([]byte(q.Get("options")), &opts) != nil {
		return s
	}
	s.Query, s.Headers = stringMap(opts.Query, false), stringMap(opts.Headers, true)
	return s
}

// stringMap keeps the string values of m; header names become the keys
// rules use (lower case, "-" as "_").
func stringMap(m map[string]any, header bool) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			continue
		}
		if header {
			k = strings.ReplaceAll(strings.ToLower(k), "-", "_")
		}
		out[k] = s
	}
	return out
}

// Client is one connected realtime client of this instance.
type Client struct {
	id     string
	outbox chan Message
	done   chan struct{}
	once   sync.Once
	// dropped is set when the client was disconnected for falling behind.
	dropped atomic.Bool

	mu    sync.RWMutex
	subs  []Subscription
	state any
}

// NewClient returns a client whose outbox holds up to buffer messages.
func NewClient(id string, buffer int) *Client {
	if buffer < 1 {
		buffer = 1
	}
	return &Client{id: id, outbox: make(chan Message, buffer), done: make(chan struct{})}
}

// ID returns the client id (PB_CONNECT's clientId).
func (c *Client) ID() string { return c.id }

// Outbox returns the messages waiting to be written to the client.
func (c *Client) Outbox() <-chan Message { return c.outbox }

// Done is closed once the client is closed: its connection must end.
func (c *Client) Done() <-chan struct{} { return c.done }

// Close closes the client; it is safe to call more than once.
func (c *Client) Close() { c.once.Do(func() { close(c.done) }) }

// IsClosed reports whether the client was closed.
func (c *Client) IsClosed() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// Dropped reports whether the client was closed because its outbox was
// full.
func (c *Client) Dropped() bool { return c.dropped.Load() }

// Send queues m without blocking. A client whose outbox is full is too
// slow to keep: it is closed (and so disconnected), and Send reports
// false; publishing never waits for a client.
func (c *Client) Send(m Message) bool {
	if c.IsClosed() {
		return false
	}
	select {
	case c.outbox <- m:
		return true
	default:
		c.dropped.Store(true)
		c.Close()
		return false
	}
}

// SetSubscriptions replaces the client's subscriptions.
func (c *Client) SetSubscriptions(raw []string) {
	subs := make([]Subscription, 0, len(raw))
	seen := make(map[string]bool, len(raw))
	for _, r := range raw {
		if r = strings.TrimSpace(r); r != "" && !seen[r] {
			seen[r] = true
			subs = append(subs, ParseSubscription(r))
		}
	}
	c.mu.Lock()
	c.subs = subs
	c.mu.Unlock()
}

// Subscriptions returns the client's subscriptions; the slice must not be
// changed.
func (c *Client) Subscriptions() []Subscription {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.subs
}

// Subscription returns the client's subscription named raw.
func (c *Client) Subscription(raw string) (Subscription, bool) {
	for _, s := range c.Subscriptions() {
		if s.Raw == raw {
			return s, true
		}
	}
	return Subscription{}, false
}

// State returns what the application keeps with the client (its auth).
func (c *Client) State() any {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.state
}

// SetState replaces what the application keeps with the client.
func (c *Client) SetState(v any) {
	c.mu.Lock()
	c.state = v
	c.mu.Unlock()
}

// UpdateState runs fn on the client's state under its lock and keeps the
// result, for read-modify-write changes.
func (c *Client) UpdateState(fn func(old any) any) {
	c.mu.Lock()
	c.state = fn(c.state)
	c.mu.Unlock()
}
