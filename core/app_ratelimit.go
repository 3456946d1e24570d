package core

import (
	"context"
	"time"

	"github.com/hatchgrid/hatchgrid/core/ratelimit"
	"github.com/redis/go-redis/v9"
)

// rateLimitKeyPrefix starts the Redis keys of the request rate limits.
const rateLimitKeyPrefix = "hatchgrid:ratelimit:"

// rateLimitRedisTimeout bounds each Redis round trip of a rate-limit check
// (dial, write and read), so that a Redis that hangs delays requests by at
// most this once per failover cooldown.
const rateLimitRedisTimeout = 300 * time.Millisecond

// openRateLimiter makes the request rate limits count in Redis when
// redis.url is set, so that every instance shares the counters: N
// instances let through a rule's maxRequests per window in all, not N
// times that. It keeps the in-memory store as the fallback: while Redis
// fails, each instance limits on its own (an error is logged when that
// starts, a notice when Redis is back) rather than failing requests or
// letting everything through.
//
// The checks run on their own small client with short timeouts and no
// retries, cut from the App's Redis options: the App's client waits
// seconds for a dead server, which is right for jobs, not for a check
// made on every request.
func (a *App) openRateLimiter() {
	memory := a.rateLimiter
	if a.redis == nil {
		return
	}
	opts := *a.redis.Options()
	opts.Dialer = nil // rebuilt from the new timeouts
	opts.ContextTimeoutEnabled = true
	opts.MaxRetries = -1
	opts.DialTimeout = rateLimitRedisTimeout
	opts.ReadTimeout = rateLimitRedisTimeout
	opts.WriteTimeout = rateLimitRedisTimeout
	opts.PoolTimeout = rateLimitRedisTimeout
	client := redis.NewClient(&opts)
	a.rateLimitRedis = client
	log := a.logger.With("component", "ratelimit")
	a.rateLimiter = ratelimit.NewFailover(
		ratelimit.NewRedis(client, rateLimitKeyPrefix, ratelimit.WithTimeout(rateLimitRedisTimeout)),
		memory,
		ratelimit.OnDown(func(err error) {
			log.Error("rate limits fall back to this instance's memory: Redis failed", "error", err)
		}),
		ratelimit.OnUp(func() { log.Info("rate limits are shared through Redis again") }),
	)
}

func (a *App) closeRateLimiter() {
	if a.rateLimitRedis != nil {
		_ = a.rateLimitRedis.Close()
		a.rateLimitRedis = nil
	}
}

// guardStore is where the guards that are not settings.rateLimits (the
// brute-force guard, the OTP attempts) count: the request rate limits'
// store, so in Redis when redis.url is set, with the same fallback.
func (a *App) guardStore() ratelimit.Counter { return a.rateLimiter }

// guardBucket is one guard's keys in the guard store, apart from every
// other guard's and from the request rate limits' ("rl\x00...").
type guardBucket struct {
	app  *App
	name string
}

func (g guardBucket) key(k string) string { return "guard\x00" + g.name + "\x00" + k }

// Allow implements ratelimit.Store.
func (g guardBucket) Allow(ctx context.Context, key string, limit int, window time.Duration) (bool, time.Duration, error) {
	return g.app.guardStore().Allow(ctx, g.key(key), limit, window)
}

// Peek implements ratelimit.Counter.
func (g guardBucket) Peek(ctx context.Context, key string, limit int) (bool, time.Duration, error) {
	return g.app.guardStore().Peek(ctx, g.key(key), limit)
}

// Reset implements ratelimit.Counter.
func (g guardBucket) Reset(ctx context.Context, key string) error {
	return g.app.guardStore().Reset(ctx, g.key(key))
}

var _ ratelimit.Counter = guardBucket{}
