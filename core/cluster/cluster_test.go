package cluster_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core/cluster"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/redis/go-redis/v9"
)

func client(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func startBus(t *testing.T, b *cluster.Bus) {
	t.Helper()
	b.Start()
	t.Cleanup(b.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := b.WaitReady(ctx); err != nil {
		t.Fatal(err)
	}
}

// Notify returns once every peer's handler has run and Request with their
// replies; a peer that never answers is reported; an instance never gets
// its own messages; Publish reaches the others in order.
func TestBusNotifyWaitsForPeers(t *testing.T) {
	t.Parallel()
	rdb := client(t, coretest.NewRedisDB(t))
	var handled, own atomic.Int32
	a := cluster.NewBus(rdb, "bus", "a", nil)
	b := cluster.NewBus(rdb, "bus", "b", nil)
	if err := a.Handle("state", func([]byte) { own.Add(1) }); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 10)
	if err := b.Handle("state", func(data []byte) {
		time.Sleep(50 * time.Millisecond) // a slow reload
		handled.Add(1)
	}); err != nil {
		t.Fatal(err)
	}
	if err := b.Handle("events", func(data []byte) { got <- string(data) }); err != nil {
		t.Fatal(err)
	}
	if err := b.HandleRequest("ask", func(data []byte) []byte { return []byte(`{"echo":` + string(data) + `}`) }); err != nil {
		t.Fatal(err)
	}
	startBus(t, a)
	startBus(t, b)
	ctx := context.Background()

	replies, err := a.Request(ctx, "ask", []byte(`42`), []string{"b"}, 2*time.Second)
	if err != nil || string(replies["b"]) != `{"echo":42}` {
		t.Fatalf("Request = %q, %v", replies, err)
	}

	if err := a.Notify(ctx, "state", []byte(`"x"`), []string{"a", "b"}, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	if handled.Load() != 1 {
		t.Fatalf("Notify returned before the peer's handler finished (%d)", handled.Load())
	}
	err = a.Notify(ctx, "state", []byte(`"y"`), []string{"b", "gone"}, 300*time.Millisecond)
	var ackErr *cluster.AckError
	if !errors.As(err, &ackErr) || len(ackErr.Missing) != 1 || ackErr.Missing[0] != "gone" {
		t.Fatalf("Notify with a dead peer = %v", err)
	}
	for _, s := range []string{`1`, `2`, `3`} {
		a.Publish("events", []byte(s))
	}
	for _, want := range []string{`1`, `2`, `3`} {
		select {
		case s := <-got:
			if s != want {
				t.Fatalf("got %s, want %s", s, want)
			}
		case <-time.After(2 * time.Second):
			t.Fatal("published message not received")
		}
	}
	if own.Load() != 0 {
		t.Fatal("an instance received its own message")
	}
	if err := a.Handle("late", func([]byte) {}); err == nil {
		t.Fatal("Handle after Start succeeded")
	}
}

// When Redis goes and comes back, the bus resubscribes by itself and runs
// its OnSubscribed functions again; meanwhile Notify fails fast.
func TestBusResubscribesAfterAnOutage(t *testing.T) {
	t.Parallel()
	srv := coretest.NewRedisServer(t)
	rdb := client(t, srv.URL())
	var subscribed atomic.Int32
	got := make(chan string, 10)
	a := cluster.NewBus(rdb, "bus", "a", nil)
	b := cluster.NewBus(rdb, "bus", "b", nil)
	b.OnSubscribed(func() { subscribed.Add(1) })
	if err := b.Handle("events", func(data []byte) { got <- string(data) }); err != nil {
		t.Fatal(err)
	}
	startBus(t, a)
	startBus(t, b)
	if subscribed.Load() != 1 {
		t.Fatalf("OnSubscribed ran %d times at start", subscribed.Load())
	}

	srv.Stop()
	coretest.Eventually(t, 10*time.Second, "the bus to notice the outage", func() bool { return !b.Connected() && !a.Connected() })
	start := time.Now()
	if err := a.Notify(context.Background(), "events", []byte(`0`), nil, time.Second); !errors.Is(err, cluster.ErrNotConnected) {
		t.Fatalf("Notify during the outage = %v", err)
	}
	a.Publish("events", []byte(`"lost"`))
	if time.Since(start) > 100*time.Millisecond {
		t.Fatalf("sending during the outage took %s", time.Since(start))
	}

	srv.Start()
	coretest.Eventually(t, 10*time.Second, "resubscription", func() bool { return a.Connected() && b.Connected() && subscribed.Load() == 2 })
	a.Publish("events", []byte(`"after"`))
	select {
	case s := <-got:
		if s != `"after"` {
			t.Fatalf("got %s", s)
		}
	case <-time.After(2 * time.Second):
		t.Fatal("no message after the outage")
	}
}

// Members expire when they stop beating and leave at once when asked.
func TestRegistry(t *testing.T) {
	t.Parallel()
	rdb := client(t, coretest.NewRedisDB(t))
	ctx := context.Background()
	r := cluster.NewRegistry(rdb, "reg", time.Second)
	now := time.Now().UTC()
	for i, id := range []string{"b", "a", "c"} {
		m := cluster.Member{ID: id, Version: "v", Started: now.Add(time.Duration(i) * time.Second), Heartbeat: now, Status: "ok"}
		if err := r.Beat(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	ids, err := r.IDs(ctx)
	if err != nil || len(ids) != 3 || ids[0] != "b" || ids[2] != "c" {
		t.Fatalf("ids = %v, %v (want oldest first)", ids, err)
	}
	if err := r.Leave(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if ids, _ := r.IDs(ctx); len(ids) != 2 {
		t.Fatalf("after leave: %v", ids)
	}
	// "c" keeps beating; "b" stops and expires with its TTL.
	deadline := time.Now().Add(5 * time.Second)
	for {
		if err := r.Beat(ctx, cluster.Member{ID: "c", Started: now, Heartbeat: time.Now()}); err != nil {
			t.Fatal(err)
		}
		ids, _ := r.IDs(ctx)
		if len(ids) == 1 && ids[0] == "c" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("b did not expire: %v", ids)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if n, _ := rdb.ZCard(ctx, "reg:members").Result(); n != 1 {
		t.Fatalf("index not pruned: %d entries", n)
	}
}

// The watcher runs Casbin's callback for changes made elsewhere and tells
// the others of local ones, never failing the change.
func TestWatcher(t *testing.T) {
	t.Parallel()
	var notified, reloaded atomic.Int32
	w := cluster.NewWatcher(func() { notified.Add(1) })
	_ = w.SetUpdateCallback(func(string) { reloaded.Add(1) })
	if err := w.Update(); err != nil || notified.Load() != 1 {
		t.Fatalf("Update = %v, notified %d", err, notified.Load())
	}
	w.Changed()
	if reloaded.Load() != 1 {
		t.Fatal("Changed did not reload")
	}
}
