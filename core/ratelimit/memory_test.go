package ratelimit_test

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core/ratelimit"
)

// fakeClock is a clock tests move by hand.
type fakeClock struct{ now atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.now.Store(time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.now.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.now.Add(int64(d)) }

func TestMemoryFixedWindow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newFakeClock()
	m := ratelimit.NewMemory(ratelimit.WithClock(clock.Now))

	for i := range 3 {
		if ok, _, err := m.Allow(ctx, "k", 3, 10*time.Second); !ok || err != nil {
			t.Fatalf("event %d refused (%v)", i+1, err)
		}
		clock.Advance(time.Second)
	}
	ok, retry, _ := m.Allow(ctx, "k", 3, 10*time.Second)
	if ok || retry != 7*time.Second {
		t.Fatalf("4th event: allowed %v, retry %v; want refused, 7s", ok, retry)
	}
	// Refused events do not count: the window still ends on time.
	clock.Advance(6 * time.Second)
	if ok, retry, _ := m.Allow(ctx, "k", 3, 10*time.Second); ok || retry != time.Second {
		t.Fatalf("late event: allowed %v, retry %v; want refused, 1s", ok, retry)
	}
	if ok, _, _ := m.Allow(ctx, "other", 3, 10*time.Second); !ok {
		t.Fatal("another key is limited too")
	}
	clock.Advance(time.Second)
	if ok, _, _ := m.Allow(ctx, "k", 3, 10*time.Second); !ok {
		t.Fatal("a new window did not start")
	}
	if ok, retry, _ := m.Allow(ctx, "k", 0, time.Second); ok || retry != time.Second {
		t.Fatalf("max 0: allowed %v, retry %v", ok, retry)
	}
}

func TestMemoryPeekAndReset(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newFakeClock()
	m := ratelimit.NewMemory(ratelimit.WithClock(clock.Now))

	if ok, _, _ := m.Peek(ctx, "k", 2); !ok {
		t.Fatal("unknown key refused")
	}
	for range 2 {
		m.Allow(ctx, "k", 2, time.Minute)
		if ok, _, _ := m.Peek(ctx, "k", 5); !ok {
			t.Fatal("peek counted")
		}
	}
	clock.Advance(20 * time.Second)
	if ok, retry, _ := m.Peek(ctx, "k", 2); ok || retry != 40*time.Second {
		t.Fatalf("peek at the limit: allowed %v, retry %v", ok, retry)
	}
	if err := m.Reset(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if ok, _, _ := m.Peek(ctx, "k", 2); !ok || m.Len() != 0 {
		t.Fatalf("reset key refused (len %d)", m.Len())
	}
	m.Allow(ctx, "k", 2, time.Minute)
	m.Allow(ctx, "k", 2, time.Minute)
	clock.Advance(time.Minute)
	if ok, _, _ := m.Peek(ctx, "k", 2); !ok {
		t.Fatal("ended window still refuses")
	}
}

func TestMemorySweepsEndedWindows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	clock := newFakeClock()
	m := ratelimit.NewMemory(ratelimit.WithClock(clock.Now))
	for i := range 1000 {
		m.Allow(ctx, fmt.Sprint("short", i), 1, time.Second)
	}
	m.Allow(ctx, "long", 1, time.Hour)
	if n := m.Len(); n != 1001 {
		t.Fatalf("len = %d", n)
	}
	// Each shard sweeps on its first call after a minute: 1000 new keys
	// reach every shard (but with odds of about 1e-12).
	clock.Advance(2 * time.Minute)
	for i := range 1000 {
		m.Allow(ctx, fmt.Sprint("probe", i), 1, time.Hour)
	}
	if n := m.Len(); n != 1001 {
		t.Fatalf("len = %d after sweeping, want the live window and the probes", n)
	}
	if ok, _, _ := m.Allow(ctx, "long", 1, time.Hour); ok {
		t.Fatal("the live window was swept")
	}
}

func TestMemoryMaxKeys(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := ratelimit.NewMemory(ratelimit.WithMaxKeys(64))
	for i := range 10_000 {
		if ok, _, _ := m.Allow(ctx, fmt.Sprint("ip", i), 1, time.Hour); !ok {
			t.Fatalf("new key %d refused", i)
		}
	}
	if n := m.Len(); n > 64 {
		t.Fatalf("len = %d, want at most 64", n)
	}
}

// TestMemoryConcurrent runs under -race in CI: many callers on one key get
// exactly max events through, and callers on other keys are unaffected.
func TestMemoryConcurrent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	m := ratelimit.NewMemory()
	const workers, each, limit = 32, 200, 1000
	var allowed atomic.Int64
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			own := fmt.Sprint("own", w)
			for i := range each {
				if ok, _, _ := m.Allow(ctx, "shared", limit, time.Hour); ok {
					allowed.Add(1)
				}
				if ok, _, _ := m.Allow(ctx, own, each, time.Hour); !ok {
					t.Errorf("worker %d refused on its own key at %d", w, i)
				}
				m.Peek(ctx, own, each)
				if i%50 == 0 {
					m.Reset(ctx, fmt.Sprint("own", (w+1)%workers, "-absent"))
				}
				m.Allow(ctx, fmt.Sprint("k", w, "-", i), 1, time.Nanosecond)
			}
		}()
	}
	wg.Wait()
	if got := allowed.Load(); got != limit {
		t.Fatalf("allowed %d events on the shared key, want %d", got, limit)
	}
}

func BenchmarkMemoryAllow(b *testing.B) {
	ctx := context.Background()
	m := ratelimit.NewMemory()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			m.Allow(ctx, "203.0.113.7", 1<<30, time.Hour)
		}
	})
}
