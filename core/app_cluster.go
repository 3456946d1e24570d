package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"sync"
	"time"

	"github.com/hatchgrid/hatchgrid/core/cluster"
	"github.com/hatchgrid/hatchgrid/core/hook"
	"github.com/hatchgrid/hatchgrid/core/realtime"
)

// Cluster timings: members beat every clusterHeartbeat and are gone
// clusterMemberTTL after their last beat; a change waits at most
// clusterAckTimeout for the other instances to apply it.
const (
	clusterHeartbeat  = 3 * time.Second
	clusterMemberTTL  = 10 * time.Second
	clusterAckTimeout = time.Second
	clusterReadyWait  = 10 * time.Second
)

// Topics of the cluster bus.
const (
	topicRealtime = "realtime"
	topicState    = "state" // data: one of the state kinds below
)

// Kinds of shared state an instance keeps in memory and reloads when
// another instance changes it.
const (
	stateCollections = "collections"
	stateSettings    = "settings"
	statePolicies    = "policies"
)

// clusterHookID identifies the App's own collection hook handlers.
const clusterHookID = "hg_cluster"

// Cluster is this instance's part in a cluster of instances that share a
// database and, through redis.url, a Redis. With Redis it carries realtime
// events to the other instances, tells them of collection, settings and
// policy changes (and waits, up to a second, until they have reloaded, so
// that the next request on any instance sees the change), keeps this
// instance in the member registry with a heartbeat, and reloads all shared
// state whenever its subscription comes back after an outage. Without
// Redis it is a cluster of one.
type Cluster struct {
	app     *App
	id      string
	started time.Time

	bus      *cluster.Bus      // nil without Redis
	registry *cluster.Registry // nil without Redis
	watcher  *cluster.Watcher

	mu      sync.Mutex
	address string
	pending map[string]bool                            // changes made before the bus was ready
	shared  map[string]func(ctx context.Context) error // plugin state, by kind
	ready   bool
	stop    chan struct{}
	stopped bool
	wg      sync.WaitGroup
	beatErr bool
}

func newCluster(a *App) *Cluster {
	return &Cluster{app: a, id: a.rt.InstanceID(), started: time.Now().UTC(), pending: map[string]bool{}, shared: map[string]func(context.Context) error{}, stop: make(chan struct{})}
}

// Cluster returns this instance's view of the cluster.
func (a *App) Cluster() *Cluster { return a.cluster }

// InstanceID identifies this instance among the members.
func (c *Cluster) InstanceID() string { return c.id }

// SetAddress records the address this instance serves on, shown to the
// other members from the next heartbeat.
func (c *Cluster) SetAddress(addr string) {
	c.mu.Lock()
	c.address = addr
	c.mu.Unlock()
}

// Share registers in-memory state of a plugin (a cache of rows it owns,
// say) under kind, and reload as the way to reread it. After the state
// changes, the plugin calls Changed with the same kind, and every other
// live instance runs reload before Changed returns; every instance also
// runs it when its Redis subscription comes back after an outage, since it
// may have missed changes meanwhile. kind must not be one of the App's own
// ("collections", "settings", "policies"). Register during Plugin.Register.
func (c *Cluster) Share(kind string, reload func(ctx context.Context) error) error {
	switch {
	case kind == "" || reload == nil:
		return errors.New("cluster: Share needs a kind and a reload function")
	case kind == stateCollections || kind == stateSettings || kind == statePolicies:
		return fmt.Errorf("cluster: %q is the App's own state", kind)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, dup := c.shared[kind]; dup {
		return fmt.Errorf("cluster: %q is already shared", kind)
	}
	c.shared[kind] = reload
	return nil
}

// Changed tells the other live instances that the state registered with
// Share under kind changed, and waits (up to a second) until they have
// reloaded it. Inside a transaction it does so after the commit. Without
// Redis it does nothing.
func (c *Cluster) Changed(ctx context.Context, kind string) {
	c.app.AfterCommit(ctx, func(ctx context.Context) { c.changed(ctx, kind) })
}

// open wires the bus once Redis is open: the realtime broker becomes a
// cluster broker and collection changes are announced after commit.
// Nothing is sent or received before start.
func (c *Cluster) open() {
	a := c.app
	if a.redis == nil {
		return
	}
	prefix := fmt.Sprintf("%s:%d", a.cfg.Redis.Prefix, a.redis.Options().DB)
	c.bus = cluster.NewBus(a.redis, prefix, c.id, a.logger.With("component", "cluster"))
	c.registry = cluster.NewRegistry(a.redis, prefix, clusterMemberTTL)
	if local, ok := a.rt.broker.(*realtime.Local); ok {
		rb := realtime.NewCluster(local, func(data []byte) { c.bus.Publish(topicRealtime, data) })
		a.rt.broker = rb
		_ = c.bus.Handle(topicRealtime, rb.Receive)
	}
	_ = c.bus.HandleRequest(topicSubscriptions, c.applySubscriptions)
	_ = c.bus.Handle(topicState, func(data []byte) {
		var kind string
		if json.Unmarshal(data, &kind) == nil {
			c.reload(kind)
		}
	})
	c.bus.OnSubscribed(func() {
		kinds := []string{stateCollections, stateSettings, statePolicies}
		c.mu.Lock()
		for kind := range c.shared {
			kinds = append(kinds, kind)
		}
		c.mu.Unlock()
		for _, kind := range kinds {
			c.reload(kind)
		}
	})

	const last = 1 << 30
	announce := func(e *CollectionEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		a.AfterCommit(e.Context, func(ctx context.Context) {
			// Reloaded here too: another instance's change may have
			// replaced this cache while the transaction was open.
			c.reload(stateCollections)
			c.changed(ctx, stateCollections)
		})
		return nil
	}
	for _, h := range []*hook.Hook[*CollectionEvent]{&a.onCollectionCreate, &a.onCollectionUpdate, &a.onCollectionDelete} {
		h.Bind(&hook.Handler[*CollectionEvent]{ID: clusterHookID, Priority: last, Func: announce})
	}
}

// start subscribes, sets the policy watcher and joins the registry, at the
// end of Bootstrap. An unreachable Redis does not stop the App: the bus
// keeps trying and catches up when it gets through.
func (c *Cluster) start(ctx context.Context) error {
	if c.bus == nil {
		return nil
	}
	a := c.app
	c.watcher = cluster.NewWatcher(func() { c.changed(context.Background(), statePolicies) })
	if err := a.authz.SetWatcher(c.watcher); err != nil {
		return err
	}
	c.bus.Start()
	wctx, cancel := context.WithTimeout(ctx, clusterReadyWait)
	err := c.bus.WaitReady(wctx)
	cancel()
	if err != nil {
		a.logger.Warn("cluster: Redis subscription not ready; shared state will sync when it is", "component", "cluster", "error", err)
	}
	c.mu.Lock()
	c.ready = true
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	// Changes made while booting (a migration) reach the others now.
	for kind := range pending {
		c.changed(ctx, kind)
	}
	c.beat(ctx)
	c.wg.Add(1)
	go c.heartbeats()
	return nil
}

// leave stops the heartbeats and leaves the registry, first thing on
// Shutdown: the instance is going, and its health checks must not run
// while its parts close. The bus keeps carrying messages until close.
func (c *Cluster) leave() {
	if c == nil || c.bus == nil {
		return
	}
	c.mu.Lock()
	stopped := c.stopped
	c.stopped = true
	c.mu.Unlock()
	if stopped {
		return
	}
	close(c.stop)
	c.wg.Wait()
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := c.registry.Leave(ctx, c.id); err != nil {
		c.app.logger.Debug("cluster: leave the member registry", "component", "cluster", "error", err)
	}
}

// close leaves and stops the bus, before Redis closes.
func (c *Cluster) close() {
	if c == nil || c.bus == nil {
		return
	}
	c.leave()
	c.bus.Close()
}

// changed tells the other instances that kind of state changed and waits
// until the live ones have reloaded it. Failures are logged, never
// returned: the change itself is committed, and an instance that misses
// the message reloads when its subscription comes back.
func (c *Cluster) changed(ctx context.Context, kind string) {
	if c.bus == nil {
		return
	}
	c.mu.Lock()
	if !c.ready {
		c.pending[kind] = true
		c.mu.Unlock()
		return
	}
	c.mu.Unlock()
	ctx, cancel := context.WithTimeout(ctx, clusterAckTimeout)
	defer cancel()
	peers, err := c.registry.IDs(ctx)
	if err == nil {
		data, _ := json.Marshal(kind)
		err = c.bus.Notify(ctx, topicState, data, peers, clusterAckTimeout)
	}
	var ackErr *cluster.AckError
	switch {
	case errors.As(err, &ackErr):
		c.app.logger.Warn("cluster: instances did not confirm a change in time", "component", "cluster", "state", kind, "missing", ackErr.Missing)
	case err != nil:
		c.app.logger.Warn("cluster: could not tell the other instances of a change", "component", "cluster", "state", kind, "error", err)
	}
}

// reload rereads one kind of shared state after another instance changed
// it.
func (c *Cluster) reload(kind string) {
	a := c.app
	ctx := context.Background()
	var err error
	switch kind {
	case stateCollections:
		err = a.collections.Reload(ctx)
	case stateSettings:
		err = a.settings.load(ctx, a)
	case statePolicies:
		if c.watcher != nil {
			c.watcher.Changed()
		} else if a.authz != nil {
			err = a.authz.Reload()
		}
	default:
		c.mu.Lock()
		fn := c.shared[kind]
		c.mu.Unlock()
		if fn == nil {
			return
		}
		err = fn(ctx)
	}
	if err != nil {
		a.logger.Error("cluster: reload shared state", "component", "cluster", "state", kind, "error", err)
	}
}

func (c *Cluster) heartbeats() {
	defer c.wg.Done()
	t := time.NewTicker(clusterHeartbeat)
	defer t.Stop()
	for {
		select {
		case <-c.stop:
			return
		case <-t.C:
			c.beat(context.Background())
		}
	}
}

// beat renews this instance's entry in the registry, with its health.
func (c *Cluster) beat(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, clusterHeartbeat)
	defer cancel()
	err := c.registry.Beat(ctx, c.self(ctx, nil))
	c.mu.Lock()
	was := c.beatErr
	c.beatErr = err != nil
	c.mu.Unlock()
	switch {
	case err != nil && !was:
		c.app.logger.Warn("cluster: heartbeat failed", "component", "cluster", "error", err)
	case err == nil && was:
		c.app.logger.Info("cluster: heartbeat restored", "component", "cluster")
	}
}

// self describes this instance with its health h, checked now if nil.
func (c *Cluster) self(ctx context.Context, h *HealthReport) cluster.Member {
	if h == nil {
		report := c.app.Health(ctx, 2*time.Second)
		h = &report
	}
	host, _ := os.Hostname()
	c.mu.Lock()
	addr := c.address
	c.mu.Unlock()
	return cluster.Member{
		ID: c.id, Version: Version, Address: addr, Hostname: host, PID: os.Getpid(),
		Started: c.started, Heartbeat: time.Now().UTC(), Status: h.Status,
		Checks: map[string]string{
			"database": h.Database.Status, "logsDatabase": h.Logs.Status,
			"redis": h.Redis.Status, "jobs": h.Jobs.Status,
		},
	}
}

// ClusterMember is one member as the API lists it.
type ClusterMember struct {
	cluster.Member
	// Self marks the instance that answered.
	Self bool `json:"self"`
}

// ClusterStatus describes the cluster as this instance sees it.
type ClusterStatus struct {
	// Mode is "redis" when instances share state through Redis, "single"
	// otherwise.
	Mode string `json:"mode"`
	// Self is the id of the instance that answered.
	Self string `json:"self"`
	// Connected reports whether this instance's Redis subscription works
	// (always true in single mode).
	Connected bool `json:"connected"`
	// Error says why the member list is this instance alone in Redis mode.
	Error string `json:"error,omitempty"`
	// HeartbeatSeconds and TTLSeconds are how often members report and how
	// long one lives without reporting.
	HeartbeatSeconds float64         `json:"heartbeatSeconds"`
	TTLSeconds       float64         `json:"ttlSeconds"`
	Members          []ClusterMember `json:"members"`
}

// Status lists the live members, oldest first; in single mode (or while
// Redis cannot be read) just this instance, with its health: self if the
// caller has just checked it, else checked now.
func (c *Cluster) Status(ctx context.Context, self *HealthReport) ClusterStatus {
	st := ClusterStatus{Mode: "single", Self: c.id, Connected: true,
		HeartbeatSeconds: clusterHeartbeat.Seconds(), TTLSeconds: clusterMemberTTL.Seconds()}
	if c.bus == nil {
		st.Members = []ClusterMember{{Member: c.self(ctx, self), Self: true}}
		return st
	}
	st.Mode, st.Connected = "redis", c.bus.Connected()
	lctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	members, err := c.registry.List(lctx)
	cancel()
	if err != nil {
		st.Error = "member registry unreadable: " + err.Error()
	}
	found := false
	for _, m := range members {
		st.Members = append(st.Members, ClusterMember{Member: m, Self: m.ID == c.id})
		found = found || m.ID == c.id
	}
	if !found {
		st.Members = append(st.Members, ClusterMember{Member: c.self(ctx, self), Self: true})
	}
	return st
}
