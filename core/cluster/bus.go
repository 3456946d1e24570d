package cluster

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"
)

// ErrNotConnected is returned by Notify while the Bus has no working
// subscription: Redis is down or not reached yet. Other instances then
// catch up when they resubscribe.
var ErrNotConnected = errors.New("cluster: not connected to Redis")

// AckError is returned by Notify when some peers did not acknowledge a
// message in time.
type AckError struct {
	Missing []string
}

func (e *AckError) Error() string {
	return fmt.Sprintf("cluster: no acknowledgement from %d instance(s): %v", len(e.Missing), e.Missing)
}

const (
	ackTopic       = "ack"
	topicQueueSize = 1024
	outQueueSize   = 4096
	publishTimeout = 2 * time.Second
)

// Bus carries messages between the instances of a cluster on Redis
// pub/sub: one channel per topic under the prefix, all read through one
// connection. An instance never receives its own messages.
//
// Publish is fire-and-forget, for events that may be lost in an outage
// (realtime). Notify publishes at once and waits until the given peers have
// handled the message, for changes that every instance must apply before
// the writer answers (schema, settings, policies). Handlers of one topic
// run in order on their own goroutine.
//
// When the subscription breaks, the Bus resubscribes with backoff and
// calls the OnSubscribed functions again: messages sent meanwhile are
// lost, so they reload whatever the messages would have told them.
type Bus struct {
	rdb    *redis.Client
	prefix string
	self   string
	log    *slog.Logger

	// PingInterval is how long the subscription may stay silent before a
	// PING checks it; a second silent interval drops the connection.
	PingInterval time.Duration

	topics       map[string]*topic // by channel; fixed once started
	onSubscribed []func()

	mu      sync.Mutex
	ps      *redis.PubSub
	waiters map[string]*waiter
	started bool
	closed  bool

	connected    atomic.Bool
	everUp       atomic.Bool
	pubFailing   atomic.Bool
	dropsLogged  atomic.Bool
	ready        chan struct{}
	readyOnce    sync.Once
	subscribedFn chan struct{} // wakes the OnSubscribed runner

	out  chan outgoing
	done chan struct{}
	wg   sync.WaitGroup
}

type topic struct {
	name    string
	channel string
	fn      func(data []byte) (reply []byte)
	queue   chan envelope
}

// envelope is what goes on a channel.
type envelope struct {
	From string          `json:"from"`
	ID   string          `json:"id,omitempty"` // set when the sender waits for acknowledgements
	To   string          `json:"to,omitempty"` // acknowledgements only
	Data json.RawMessage `json:"data,omitempty"`
}

type outgoing struct {
	channel string
	payload []byte
}

type waiter struct {
	pending map[string]bool
	replies map[string][]byte
	done    chan struct{}
}

// NewBus returns a Bus of the instance self on rdb, its channels named
// "<prefix>:<topic>". Register handlers, then Start it.
func NewBus(rdb *redis.Client, prefix, self string, log *slog.Logger) *Bus {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	b := &Bus{
		rdb: rdb, prefix: prefix, self: self, log: log,
		PingInterval: 5 * time.Second,
		topics:       map[string]*topic{},
		waiters:      map[string]*waiter{},
		ready:        make(chan struct{}),
		subscribedFn: make(chan struct{}, 1),
		out:          make(chan outgoing, outQueueSize),
		done:         make(chan struct{}),
	}
	b.topics[b.channel(ackTopic)] = &topic{name: ackTopic, channel: b.channel(ackTopic)}
	return b
}

// Self returns the id of this instance.
func (b *Bus) Self() string { return b.self }

func (b *Bus) channel(name string) string { return b.prefix + ":" + name }

// Handle makes fn receive the messages other instances send on topic name.
// It must be called before Start. Messages are JSON documents.
func (b *Bus) Handle(name string, fn func(data []byte)) error {
	return b.HandleRequest(name, func(data []byte) []byte { fn(data); return nil })
}

// HandleRequest is Handle for a topic whose senders want answers: fn's
// reply, a JSON document or nil, goes back to a sender that waits (see
// Request).
func (b *Bus) HandleRequest(name string, fn func(data []byte) (reply []byte)) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started {
		return fmt.Errorf("cluster: handle %q: bus already started", name)
	}
	if name == ackTopic || b.topics[b.channel(name)] != nil {
		return fmt.Errorf("cluster: topic %q already handled", name)
	}
	b.topics[b.channel(name)] = &topic{name: name, channel: b.channel(name), fn: fn, queue: make(chan envelope, topicQueueSize)}
	return nil
}

// OnSubscribed adds fn to what runs each time the subscription is made,
// the first time included: there it closes the gap between loading state
// and subscribing, and after an outage it catches up on lost messages. It
// must be called before Start; the functions run on their own goroutine.
func (b *Bus) OnSubscribed(fn func()) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.onSubscribed = append(b.onSubscribed, fn)
}

// Start subscribes and starts delivering. It does not wait for Redis; see
// WaitReady.
func (b *Bus) Start() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.started || b.closed {
		return
	}
	b.started = true
	for _, t := range b.topics {
		if t.fn != nil {
			b.wg.Add(1)
			go b.work(t)
		}
	}
	b.wg.Add(3)
	go b.run()
	go b.publisher()
	go b.subscribedRunner()
}

// WaitReady waits until the first subscription is made or ctx ends.
func (b *Bus) WaitReady(ctx context.Context) error {
	select {
	case <-b.ready:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Connected reports whether the subscription works right now.
func (b *Bus) Connected() bool { return b.connected.Load() }

// Close stops delivery and unsubscribes; messages not yet sent are
// dropped.
func (b *Bus) Close() {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return
	}
	b.closed = true
	ps := b.ps
	b.mu.Unlock()
	close(b.done)
	if ps != nil {
		_ = ps.Close()
	}
	b.wg.Wait()
	b.connected.Store(false)
}

func (b *Bus) isClosed() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.closed
}

// Publish sends data, a JSON document, to the other instances' handlers
// of topic name without waiting: a bounded queue feeds one sender. While Redis is
// unreachable messages are dropped (and the drop logged once).
func (b *Bus) Publish(name string, data []byte) {
	if !b.connected.Load() {
		b.dropped(name, "not connected to Redis")
		return
	}
	payload, err := json.Marshal(envelope{From: b.self, Data: data})
	if err != nil {
		b.log.Error("cluster: encode a message", "topic", name, "error", err)
		return
	}
	select {
	case b.out <- outgoing{channel: b.channel(name), payload: payload}:
	default:
		b.dropped(name, "send queue full")
	}
}

func (b *Bus) dropped(name, why string) {
	if !b.dropsLogged.Swap(true) {
		b.log.Warn("cluster: dropping messages to the other instances", "topic", name, "reason", why)
	}
}

// Notify sends data, a JSON document, to the other instances' handlers of
// topic name and waits, within timeout, until every instance in peers has
// handled it. Without peers it returns once Redis has the message. It returns
// ErrNotConnected while Redis is unreachable and an *AckError when peers
// are missing.
func (b *Bus) Notify(ctx context.Context, name string, data []byte, peers []string, timeout time.Duration) error {
	_, err := b.Request(ctx, name, data, peers, timeout)
	return err
}

// Request is Notify that also returns the replies of the peers' handlers,
// by instance id (nil for a handler that replied nothing). With an
// *AckError it returns the replies that came in time.
func (b *Bus) Request(ctx context.Context, name string, data []byte, peers []string, timeout time.Duration) (map[string][]byte, error) {
	if !b.connected.Load() {
		return nil, ErrNotConnected
	}
	env := envelope{From: b.self, Data: data}
	var w *waiter
	peers = slices.DeleteFunc(slices.Clone(peers), func(p string) bool { return p == b.self })
	if len(peers) > 0 {
		env.ID = randomID()
		w = &waiter{pending: make(map[string]bool, len(peers)), replies: map[string][]byte{}, done: make(chan struct{})}
		for _, p := range peers {
			w.pending[p] = true
		}
		b.mu.Lock()
		b.waiters[env.ID] = w
		b.mu.Unlock()
		defer func() {
			b.mu.Lock()
			delete(b.waiters, env.ID)
			b.mu.Unlock()
		}()
	}
	payload, err := json.Marshal(env)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := b.rdb.Publish(ctx, b.channel(name), payload).Err(); err != nil {
		return nil, err
	}
	if w == nil {
		return map[string][]byte{}, nil
	}
	var timedOut bool
	select {
	case <-w.done:
	case <-ctx.Done():
		timedOut = true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	replies := maps.Clone(w.replies)
	if !timedOut {
		return replies, nil
	}
	return replies, &AckError{Missing: slices.Sorted(maps.Keys(w.pending))}
}

// run keeps a subscription to every topic's channel, making a new one
// with backoff whenever it breaks.
func (b *Bus) run() {
	defer b.wg.Done()
	channels := make([]string, 0, len(b.topics))
	for ch := range b.topics {
		channels = append(channels, ch)
	}
	backoff := 100 * time.Millisecond
	for {
		ps := b.rdb.Subscribe(context.Background(), channels...)
		b.mu.Lock()
		if b.closed {
			b.mu.Unlock()
			_ = ps.Close()
			return
		}
		b.ps = ps
		b.mu.Unlock()

		wasUp, err := b.receive(ps, len(channels))
		_ = ps.Close()
		if b.isClosed() {
			return
		}
		if b.connected.Swap(false) {
			b.log.Warn("cluster: lost the Redis subscription, retrying", "error", err)
		}
		if wasUp {
			backoff = 100 * time.Millisecond
		}
		select {
		case <-b.done:
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 2*time.Second)
	}
}

// receive reads ps until its connection fails or stays silent for two
// ping intervals; it reports whether the subscription was made.
func (b *Bus) receive(ps *redis.PubSub, want int) (bool, error) {
	ctx := context.Background()
	confirmed, pinged := 0, false
	for {
		msg, err := ps.ReceiveTimeout(ctx, b.PingInterval)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() && !pinged {
				pinged = true
				if err := ps.Ping(ctx); err != nil {
					return confirmed >= want, err
				}
				continue
			}
			return confirmed >= want, err
		}
		pinged = false
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				if confirmed++; confirmed == want {
					b.subscribed()
				}
			}
		case *redis.Message:
			b.route(m)
		}
	}
}

// subscribed marks the subscription up and wakes the OnSubscribed runner.
func (b *Bus) subscribed() {
	b.connected.Store(true)
	b.dropsLogged.Store(false)
	if b.everUp.Swap(true) {
		b.log.Info("cluster: Redis subscription restored; reloading shared state")
	}
	select {
	case b.subscribedFn <- struct{}{}:
	default: // a run is already pending
	}
}

func (b *Bus) subscribedRunner() {
	defer b.wg.Done()
	for {
		select {
		case <-b.done:
			return
		case <-b.subscribedFn:
		}
		b.mu.Lock()
		fns := slices.Clone(b.onSubscribed)
		b.mu.Unlock()
		for _, fn := range fns {
			fn()
		}
		b.readyOnce.Do(func() { close(b.ready) })
	}
}

// route hands a message to its topic's worker, or an acknowledgement to
// its waiter.
func (b *Bus) route(m *redis.Message) {
	t := b.topics[m.Channel]
	if t == nil {
		return
	}
	var env envelope
	if err := json.Unmarshal([]byte(m.Payload), &env); err != nil || env.From == b.self {
		return
	}
	if t.name == ackTopic {
		if env.To == b.self {
			b.ack(env.ID, env.From, env.Data)
		}
		return
	}
	select {
	case t.queue <- env:
	default:
		b.log.Warn("cluster: handler queue full, message dropped", "topic", t.name)
	}
}

func (b *Bus) ack(id, from string, reply []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	w := b.waiters[id]
	if w == nil || !w.pending[from] {
		return
	}
	delete(w.pending, from)
	w.replies[from] = reply
	if len(w.pending) == 0 {
		close(w.done)
	}
}

// work runs t's handler for each of its messages, in order, and
// acknowledges those whose sender waits.
func (b *Bus) work(t *topic) {
	defer b.wg.Done()
	for {
		select {
		case <-b.done:
			return
		case env := <-t.queue:
			reply := t.fn(env.Data)
			if env.ID != "" {
				b.sendAck(env, reply)
			}
		}
	}
}

func (b *Bus) sendAck(env envelope, reply []byte) {
	payload, err := json.Marshal(envelope{From: b.self, To: env.From, ID: env.ID, Data: reply})
	if err != nil {
		b.log.Error("cluster: encode a reply", "error", err)
		payload, _ = json.Marshal(envelope{From: b.self, To: env.From, ID: env.ID})
	}
	ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
	defer cancel()
	if err := b.rdb.Publish(ctx, b.channel(ackTopic), payload).Err(); err != nil {
		b.log.Warn("cluster: acknowledge a message", "error", err)
	}
}

// publisher sends what Publish queued, one message at a time, so that the
// other instances receive this instance's messages in order.
func (b *Bus) publisher() {
	defer b.wg.Done()
	for {
		select {
		case <-b.done:
			return
		case m := <-b.out:
			ctx, cancel := context.WithTimeout(context.Background(), publishTimeout)
			err := b.rdb.Publish(ctx, m.channel, m.payload).Err()
			cancel()
			switch {
			case err != nil && !b.pubFailing.Swap(true):
				b.log.Warn("cluster: publish failed; messages to the other instances are lost until Redis answers", "error", err)
			case err == nil && b.pubFailing.Swap(false):
				b.log.Info("cluster: publishing again")
			}
		}
	}
}

func randomID() string {
	var buf [12]byte
	_, _ = rand.Read(buf[:])
	return hex.EncodeToString(buf[:])
}
