package ratelimit_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/ratelimit"
	"github.com/redis/go-redis/v9"
)

// newRedisClient returns a client of a Redis database claimed for t.
func newRedisClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opts, err := redis.ParseURL(url)
	if err != nil {
		t.Fatal(err)
	}
	opts.ContextTimeoutEnabled = true
	c := redis.NewClient(opts)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestRedisFixedWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := ratelimit.NewRedis(newRedisClient(t, coretest.NewRedisDB(t)), "t:")
	const window = 400 * time.Millisecond
	for i := range 3 {
		if ok, _, err := r.Allow(ctx, "k", 3, window); !ok || err != nil {
			t.Fatalf("event %d refused (%v)", i+1, err)
		}
	}
	ok, retry, err := r.Allow(ctx, "k", 3, window)
	if ok || err != nil || retry <= 0 || retry > window {
		t.Fatalf("4th event: allowed %v, retry %v, %v; want refused within the window", ok, retry, err)
	}
	// Refused events do not count and do not extend the window.
	ok, retry2, _ := r.Allow(ctx, "k", 3, window)
	if ok || retry2 > retry {
		t.Fatalf("5th event: allowed %v, retry %v after %v", ok, retry2, retry)
	}
	if ok, _, _ := r.Allow(ctx, "other", 3, window); !ok {
		t.Fatal("another key is limited too")
	}
	if ok, retry, _ := r.Allow(ctx, "k", 0, time.Second); ok || retry != time.Second {
		t.Fatalf("max 0: allowed %v, retry %v", ok, retry)
	}
	time.Sleep(retry2 + 50*time.Millisecond)
	if ok, _, _ := r.Allow(ctx, "k", 3, window); !ok {
		t.Fatal("a new window did not start")
	}
}

func TestRedisPeekAndReset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	r := ratelimit.NewRedis(newRedisClient(t, coretest.NewRedisDB(t)), "t:")
	if ok, _, err := r.Peek(ctx, "k", 2); !ok || err != nil {
		t.Fatalf("unknown key refused: %v", err)
	}
	for range 2 {
		r.Allow(ctx, "k", 2, time.Minute)
		if ok, _, _ := r.Peek(ctx, "k", 5); !ok {
			t.Fatal("peek counted")
		}
	}
	if ok, retry, _ := r.Peek(ctx, "k", 2); ok || retry <= 50*time.Second || retry > time.Minute {
		t.Fatalf("peek at the limit: allowed %v, retry %v", ok, retry)
	}
	if err := r.Reset(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := r.Peek(ctx, "k", 2); !ok {
		t.Fatal("reset key refused")
	}
	if ok, _, _ := r.Allow(ctx, "k", 1, time.Minute); !ok {
		t.Fatal("reset key still counted")
	}
}

// TestRedisShared runs three stores on their own clients, as three
// instances would: one prefix shares the counters, another does not, and
// many concurrent callers get exactly the limit through.
func TestRedisShared(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	url := coretest.NewRedisDB(t)
	var stores []*ratelimit.Redis
	for range 3 {
		stores = append(stores, ratelimit.NewRedis(newRedisClient(t, url), "cluster:"))
	}
	const limit = 50
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Go(func() {
			for range 10 {
				ok, _, err := stores[i%3].Allow(ctx, "shared", limit, time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					allowed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if got := allowed.Load(); got != limit {
		t.Fatalf("allowed %d of 300 events across 3 stores, want %d", got, limit)
	}
	other := ratelimit.NewRedis(newRedisClient(t, url), "other:")
	if ok, _, _ := other.Allow(ctx, "shared", limit, time.Minute); !ok {
		t.Fatal("another prefix shares the counters")
	}
}

// flaky is a Counter that fails while down is set.
type flaky struct {
	ratelimit.Counter
	down  atomic.Bool
	calls atomic.Int64
}

func (f *flaky) Allow(ctx context.Context, key string, limit int, w time.Duration) (bool, time.Duration, error) {
	f.calls.Add(1)
	if f.down.Load() {
		return false, 0, errors.New("connection refused")
	}
	return f.Counter.Allow(ctx, key, limit, w)
}

func TestFailover(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newFakeClock()
	primary := &flaky{Counter: ratelimit.NewMemory(ratelimit.WithClock(clock.Now))}
	fallback := ratelimit.NewMemory(ratelimit.WithClock(clock.Now))
	var downs, ups atomic.Int64
	f := ratelimit.NewFailover(primary, fallback, ratelimit.WithCooldown(5*time.Second), ratelimit.WithFailoverClock(clock.Now),
		ratelimit.OnDown(func(error) { downs.Add(1) }), ratelimit.OnUp(func() { ups.Add(1) }))

	allow := func() bool {
		ok, _, err := f.Allow(ctx, "k", 2, time.Hour)
		if err != nil {
			t.Fatalf("Failover returned %v", err)
		}
		return ok
	}
	if !allow() || fallback.Len() != 0 {
		t.Fatal("the primary was not used")
	}
	primary.down.Store(true)
	// The failing call is answered by the fallback, then the primary is
	// left alone for the cooldown.
	if !allow() || !allow() || allow() {
		t.Fatal("the fallback did not limit on its own")
	}
	if calls := primary.calls.Load(); calls != 2 || downs.Load() != 1 || !f.Down() {
		t.Fatalf("primary called %d times, %d downs", calls, downs.Load())
	}
	clock.Advance(6 * time.Second)
	allow() // tries the primary again, still down
	if primary.calls.Load() != 3 || downs.Load() != 1 {
		t.Fatalf("after the cooldown: primary called %d times, %d downs", primary.calls.Load(), downs.Load())
	}
	primary.down.Store(false)
	clock.Advance(6 * time.Second)
	if !allow() || allow() || f.Down() || ups.Load() != 1 {
		t.Fatalf("back on the primary: down %v, %d ups", f.Down(), ups.Load())
	}
}

// TestRedisOutage stops a private Redis under a Failover: checks keep
// answering, quickly and from memory, and go back to Redis once it is up.
func TestRedisOutage(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	srv := coretest.NewRedisServer(t)
	opts, _ := redis.ParseURL(srv.URL())
	opts.ContextTimeoutEnabled, opts.MaxRetries = true, -1
	opts.DialTimeout, opts.ReadTimeout, opts.WriteTimeout = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond
	client := redis.NewClient(opts)
	defer client.Close()
	clock := newFakeClock()
	var downs atomic.Int64
	f := ratelimit.NewFailover(ratelimit.NewRedis(client, "t:", ratelimit.WithTimeout(200*time.Millisecond)),
		ratelimit.NewMemory(ratelimit.WithClock(clock.Now)),
		ratelimit.WithFailoverClock(clock.Now), ratelimit.OnDown(func(err error) { downs.Add(1) }))

	if ok, _, err := f.Allow(ctx, "k", 3, time.Minute); !ok || err != nil || f.Down() {
		t.Fatalf("with Redis up: %v %v", ok, err)
	}
	srv.Stop()
	start := time.Now()
	var got []bool
	for range 4 {
		ok, _, err := f.Allow(ctx, "k", 3, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, ok)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("4 checks took %v with Redis down", took)
	}
	if fmt.Sprint(got) != "[true true true false]" || downs.Load() != 1 || !f.Down() {
		t.Fatalf("with Redis down: %v, %d downs", got, downs.Load())
	}
	srv.Start()
	clock.Advance(time.Minute) // past the cooldown
	if ok, _, err := f.Allow(ctx, "k", 3, time.Minute); !ok || err != nil || f.Down() {
		t.Fatalf("with Redis back: %v %v down %v", ok, err, f.Down())
	}
}
