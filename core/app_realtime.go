package core

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"

	"github.com/hatchgrid/hatchgrid/core/hook"
	"github.com/hatchgrid/hatchgrid/core/realtime"
	"github.com/hatchgrid/hatchgrid/core/security"
)

// realtimeQueueSize bounds the record events waiting for the dispatcher;
// past it events are dropped (and logged) rather than stall a writer.
const realtimeQueueSize = 4096

// RealtimeClientBuffer is how many messages a realtime client may have
// unsent before it is dropped as too slow.
const RealtimeClientBuffer = 256

// realtimeHookID identifies the App's own record hook handlers.
const realtimeHookID = "hg_realtime"

// Realtime sends record changes to the realtime clients that may see
// them. It is bound to the record hooks when the App is built: creates
// and updates are published after commit and delivered by one dispatcher
// goroutine; deletes are checked against each client's rule inside the
// transaction, before the row goes, and sent once it commits.
type Realtime struct {
	app      *App
	broker   realtime.Broker
	instance string

	queue     chan func()
	startOnce sync.Once
	stopOnce  sync.Once
	stop      chan struct{}
	wg        sync.WaitGroup
	cancelSub func()
}

// WithRealtimeBroker replaces the in-process realtime broker, e.g. with
// one that fans events out across instances.
func WithRealtimeBroker(b realtime.Broker) Option {
	return func(a *App) { a.rt = &Realtime{broker: b} }
}

// Realtime returns the App's realtime service.
func (a *App) Realtime() *Realtime { return a.rt }

// newRealtime builds the realtime service and binds it to the record hooks.
func newRealtime(a *App) *Realtime {
	r := a.rt
	if r == nil {
		r = &Realtime{broker: realtime.NewLocal(a.cfg.Realtime.MaxClients)}
	}
	r.app, r.instance = a, security.NewID()
	r.queue, r.stop = make(chan func(), realtimeQueueSize), make(chan struct{})
	r.cancelSub = r.broker.Subscribe(r.receive)

	const last = 1 << 30 // after the application's handlers
	publish := func(action string) func(e *RecordEvent) error {
		return func(e *RecordEvent) error {
			r.publish(e.Context, realtime.Event{Action: action, Collection: e.Record.collection.ID, RecordID: e.Record.ID()})
			return e.Next()
		}
	}
	a.OnRecordCreateCommitted().Bind(&hook.Handler[*RecordEvent]{ID: realtimeHookID, Priority: last, Func: publish("create")})
	a.OnRecordUpdateCommitted().Bind(&hook.Handler[*RecordEvent]{ID: realtimeHookID, Priority: last, Func: publish("update")})
	a.OnRecordDelete().Bind(&hook.Handler[*RecordEvent]{ID: realtimeHookID, Priority: last, Func: r.onDelete})
	return r
}

// Broker returns the broker that holds this instance's clients.
func (r *Realtime) Broker() realtime.Broker { return r.broker }

// InstanceID identifies this instance in the events it publishes.
func (r *Realtime) InstanceID() string { return r.instance }

// Connect registers a new client; over the instance's cap it is a 503.
func (r *Realtime) Connect() (*realtime.Client, error) {
	c := realtime.NewClient(security.RandomString(40, security.SecretAlphabet), RealtimeClientBuffer)
	c.SetState(&RequestInfo{Context: "realtime"})
	if err := r.broker.Register(c); err != nil {
		if errors.Is(err, realtime.ErrTooManyClients) {
			return nil, Wrap(err, CodeUnavailable, "Too many realtime connections, try again later.")
		}
		return nil, err
	}
	return c, nil
}

// Disconnect removes the client id and closes it.
func (r *Realtime) Disconnect(id string) { r.broker.Unregister(id) }

// CloseClients disconnects every client, for a server shutting down.
func (r *Realtime) CloseClients() {
	for _, c := range r.broker.Clients() {
		r.broker.Unregister(c.ID())
	}
}

// SetSubscriptions replaces the subscriptions of client id and sets its
// auth to that of the caller of ctx. A client that had an auth keeps it: a
// request of anyone else is refused, as in PocketBase.
func (r *Realtime) SetSubscriptions(ctx context.Context, id string, subs []string) error {
	req := RequestFrom(ctx)
	c := r.broker.Client(id)
	if c == nil {
		// Behind a load balancer another instance may hold the stream.
		return r.app.cluster.setSubscriptions(id, subs, req)
	}
	return setSubscriptions(c, subs, req)
}

// setSubscriptions sets the subscriptions and auth of a client of this
// instance; see Realtime.SetSubscriptions.
func setSubscriptions(c *realtime.Client, subs []string, req *RequestInfo) error {
	var mismatch bool
	c.UpdateState(func(old any) any {
		prev, _ := old.(*RequestInfo)
		if authKey(prev) != "" && authKey(prev) != authKey(req) {
			mismatch = true
			return old
		}
		return req.realtimeInfo()
	})
	if mismatch {
		return Errorf(CodeForbidden, "The current and the previous request authorization don't match.")
	}
	c.SetSubscriptions(subs)
	return nil
}

// authKey identifies the auth record of req, "" for guests.
func authKey(req *RequestInfo) string {
	if req == nil || req.Actor.ID == "" {
		return ""
	}
	return req.Actor.CollectionID + "/" + req.Actor.ID
}

func (r *Realtime) publish(ctx context.Context, ev realtime.Event) {
	ev.Origin = r.instance
	if err := r.broker.Publish(ctx, ev); err != nil {
		r.app.logger.Warn("realtime: publish failed", "action", ev.Action, "collection", ev.Collection, "error", err)
	}
}

// receive queues a published event for the dispatcher.
func (r *Realtime) receive(ev realtime.Event) {
	if !r.enqueue(func() { r.handle(ev) }) {
		r.app.logger.Warn("realtime: event queue full, event dropped", "action", ev.Action, "collection", ev.Collection)
	}
}

// enqueue hands work to the dispatcher without waiting, so that events
// keep this instance's order; it reports false when the queue is full.
func (r *Realtime) enqueue(fn func()) bool {
	r.startOnce.Do(func() {
		r.wg.Add(1)
		go r.dispatch()
	})
	select {
	case r.queue <- fn:
		return true
	default:
		return false
	}
}

func (r *Realtime) dispatch() {
	defer r.wg.Done()
	for {
		select {
		case <-r.stop:
			return
		case fn := <-r.queue:
			fn()
		}
	}
}

// close stops delivery and disconnects every client.
func (r *Realtime) close() {
	r.stopOnce.Do(func() {
		r.cancelSub()
		close(r.stop)
		r.wg.Wait()
		_ = r.broker.Close()
	})
}

// handle delivers a create or update to this instance's clients.
func (r *Realtime) handle(ev realtime.Event) {
	if ev.Action == "delete" && ev.Origin == r.instance {
		// Checked and sent from inside its transaction (onDelete).
		return
	}
	if len(r.broker.Clients()) == 0 {
		return // nobody is listening here: no record to load, no rule to check
	}
	ctx := context.Background()
	c, err := r.app.collections.Find(ev.Collection)
	if err != nil {
		return
	}
	if ev.Action == "delete" {
		r.handleRemoteDelete(ctx, c, ev)
		return
	}
	rec, err := r.app.Records().Find(ctx, c, ev.RecordID)
	if err != nil {
		return // deleted since; its delete event follows
	}
	if c.IsAuth() {
		r.refreshAuth(rec, false)
	}
	for _, m := range r.messages(ctx, rec, ev.Action) {
		m.client.Send(m.msg)
	}
}

// onDelete decides, before the row is removed, which clients may see the
// delete, and sends it to them once the transaction commits.
func (r *Realtime) onDelete(e *RecordEvent) error {
	pending := r.messages(e.Context, e.Record, "delete")
	if err := e.Next(); err != nil {
		return err
	}
	rec := e.Record
	r.app.AfterCommit(e.Context, func(ctx context.Context) {
		sent := r.enqueue(func() {
			for _, m := range pending {
				m.client.Send(m.msg)
			}
			if rec.collection.IsAuth() {
				r.refreshAuth(rec, true)
			}
		})
		if !sent {
			r.app.logger.Warn("realtime: event queue full, event dropped", "action", "delete", "collection", rec.collection.Name)
		}
		snapshot, _ := json.Marshal(rec.data)
		r.publish(ctx, realtime.Event{Action: "delete", Collection: rec.collection.ID, RecordID: rec.ID(), Record: snapshot})
	})
	return nil
}

// refreshAuth updates (or, for a deleted record, clears) the auth of the
// clients signed in as rec, so that rules see its current fields.
func (r *Realtime) refreshAuth(rec *Record, deleted bool) {
	key := rec.collection.ID + "/" + rec.ID()
	for _, c := range r.broker.Clients() {
		c.UpdateState(func(old any) any {
			prev, _ := old.(*RequestInfo)
			if authKey(prev) != key {
				return old
			}
			next := &RequestInfo{Context: "realtime", Method: "GET"}
			if !deleted {
				next.SetAuth(rec)
			}
			return next
		})
	}
}

type realtimeMessage struct {
	client *realtime.Client
	msg    realtime.Message
}

// realtimePayload is the data of a record event.
type realtimePayload struct {
	Action string         `json:"action"`
	Record map[string]any `json:"record"`
}

// messages builds the event for each subscription that matches rec and
// whose client may see it: the list rule for collection topics, the view
// rule for the record's own. Clients with the same auth and options share
// one check and one payload.
func (r *Realtime) messages(ctx context.Context, rec *Record, action string) []realtimeMessage {
	c := rec.collection
	type result struct {
		ok   bool
		data []byte
	}
	cache := map[string]result{}
	var out []realtimeMessage
	for _, cl := range r.broker.Clients() {
		base, _ := cl.State().(*RequestInfo)
		for _, sub := range cl.Subscriptions() {
			ruleAction, ok := topicAction(sub.Topic, c, rec.ID())
			if !ok {
				continue
			}
			info := subscriptionInfo(base, sub)
			key := ruleAction + "|" + authKey(info) + "|" + strings.TrimPrefix(sub.Raw, sub.Topic)
			res, seen := cache[key]
			if !seen {
				res.ok = r.app.Records().canAccess(ctx, c, rec.ID(), ruleAction, info)
				if res.ok {
					res.data = r.payload(ctx, rec, action, info, sub)
				}
				cache[key] = res
			}
			if res.ok && res.data != nil {
				out = append(out, realtimeMessage{client: cl, msg: realtime.Message{Name: sub.Raw, Data: res.data}})
			}
		}
	}
	return out
}

// topicAction tells which rule guards topic for record id of c, and
// whether the topic is about it at all.
func topicAction(topic string, c *Collection, id string) (string, bool) {
	name, rest, hasRest := strings.Cut(topic, "/")
	if name != c.Name && name != c.ID {
		return "", false
	}
	switch {
	case !hasRest || rest == "*":
		return "list", true
	case rest == id:
		return "view", true
	}
	return "", false
}

// subscriptionInfo is the client's request info with the subscription's
// query and headers, as rules see them.
func subscriptionInfo(base *RequestInfo, sub realtime.Subscription) *RequestInfo {
	info := base.realtimeInfo()
	info.Query, info.Headers = sub.Query, sub.Headers
	return info
}

// realtimeInfo is what a realtime client keeps of the request that set its
// subscriptions: the caller only, as rules see it in realtime events.
func (r *RequestInfo) realtimeInfo() *RequestInfo {
	info := &RequestInfo{Context: "realtime", Method: "GET"}
	if r != nil {
		info.Actor, info.Auth, info.authRecord = r.Actor, r.Auth, r.authRecord
	}
	return info
}

// payload is the event data for one client: the record expanded as the
// subscription asks and exported as the client may see it. The fields
// option is applied when the message is written.
func (r *Realtime) payload(ctx context.Context, rec *Record, action string, info *RequestInfo, sub realtime.Subscription) []byte {
	out := rec
	if paths := ParseExpand(sub.Query["expand"]); len(paths) > 0 {
		out = rec.clone()
		out.Expand = nil
		if err := r.app.Records().Expand(WithRequest(ctx, info), []*Record{out}, paths); err != nil {
			r.app.logger.Debug("realtime: expand failed", "collection", rec.collection.Name, "error", err)
		}
	}
	data, err := json.Marshal(realtimePayload{Action: action, Record: out.ExportFor(info)})
	if err != nil {
		r.app.logger.Error("realtime: encode event", "collection", rec.collection.Name, "error", err)
		return nil
	}
	return data
}

// canAccess reports whether req passes the action's rule for the record id
// of c; a null rule lets only superusers through. Inside a transaction it
// sees the transaction's rows.
func (s *RecordService) canAccess(ctx context.Context, c *Collection, id, action string, req *RequestInfo) bool {
	cond, args, err := s.ruleCondition(c, action, req)
	if err != nil {
		return false
	}
	var n int64
	q := "SELECT COUNT(*) FROM " + quote(c.Name) + " WHERE " + and(quote(c.Name)+`."id" = ?`, cond)
	if err := s.app.ReadDB(ctx).Raw(q, append([]any{id}, args...)...).Scan(&n).Error; err != nil {
		s.app.logger.Warn("realtime: rule check failed", "collection", c.Name, "error", err)
		return false
	}
	return n > 0
}
