package ratelimit

import (
	"context"
	"sync/atomic"
	"time"
)

// Failover is a Counter that counts in a primary store (Redis, shared by
// a cluster) and, while that fails, in a fallback (Memory, this instance
// only). An outage of the primary therefore neither fails requests nor
// lifts the limits: each instance keeps enforcing them on its own, so a
// client may get up to one limit per instance until the primary is back.
//
// After a failure the primary is left alone for a cooldown, so that
// requests do not each wait for a dead server; the first call after it
// tries the primary again. OnDown is called once per failure streak
// (after the first failing call) and OnUp when the primary answers again.
type Failover struct {
	primary, fallback Counter
	cooldown          time.Duration
	now               func() time.Time
	onDown            func(error)
	onUp              func()

	retryAt atomic.Int64 // unix nanoseconds; 0 while the primary is up
}

var _ Counter = (*Failover)(nil)

// DefaultFailoverCooldown is how long Failover leaves a failed primary
// alone.
const DefaultFailoverCooldown = 5 * time.Second

// FailoverOption configures NewFailover.
type FailoverOption func(*Failover)

// WithCooldown sets how long a failed primary is left alone.
func WithCooldown(d time.Duration) FailoverOption { return func(f *Failover) { f.cooldown = d } }

// OnDown sets the function told of the error that starts a failure
// streak, e.g. to log it.
func OnDown(fn func(error)) FailoverOption { return func(f *Failover) { f.onDown = fn } }

// OnUp sets the function told that the primary answers again.
func OnUp(fn func()) FailoverOption { return func(f *Failover) { f.onUp = fn } }

// WithFailoverClock replaces time.Now, for tests.
func WithFailoverClock(now func() time.Time) FailoverOption { return func(f *Failover) { f.now = now } }

// NewFailover returns a Failover from primary to fallback.
func NewFailover(primary, fallback Counter, opts ...FailoverOption) *Failover {
	f := &Failover{primary: primary, fallback: fallback, cooldown: DefaultFailoverCooldown, now: time.Now,
		onDown: func(error) {}, onUp: func() {}}
	for _, opt := range opts {
		opt(f)
	}
	return f
}

// Down reports whether the primary is being avoided after a failure.
func (f *Failover) Down() bool { return f.retryAt.Load() != 0 }

// pick returns the store to use now.
func (f *Failover) pick() Counter {
	if at := f.retryAt.Load(); at != 0 && f.now().UnixNano() < at {
		return f.fallback
	}
	return f.primary
}

// result records the outcome of a call to the primary and reports
// whether it failed.
func (f *Failover) result(err error) bool {
	if err == nil {
		if f.retryAt.Swap(0) != 0 {
			f.onUp()
		}
		return false
	}
	next := f.now().Add(f.cooldown).UnixNano()
	if f.retryAt.Swap(next) == 0 {
		f.onDown(err)
	}
	return true
}

// Allow implements Store.
func (f *Failover) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	if s := f.pick(); s == f.fallback {
		return s.Allow(ctx, key, limit, window)
	}
	ok, retry, err := f.primary.Allow(ctx, key, limit, window)
	if f.result(err) {
		return f.fallback.Allow(ctx, key, limit, window)
	}
	return ok, retry, nil
}

// Peek implements Counter.
func (f *Failover) Peek(ctx context.Context, key string, limit int) (bool, time.Duration, error) {
	if s := f.pick(); s == f.fallback {
		return s.Peek(ctx, key, limit)
	}
	ok, retry, err := f.primary.Peek(ctx, key, limit)
	if f.result(err) {
		return f.fallback.Peek(ctx, key, limit)
	}
	return ok, retry, nil
}

// Reset implements Counter: it clears the key in both stores.
func (f *Failover) Reset(ctx context.Context, key string) error {
	err := f.fallback.Reset(ctx, key)
	if f.pick() == f.fallback {
		return err
	}
	f.result(f.primary.Reset(ctx, key))
	return err
}
