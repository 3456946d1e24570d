package ratelimit

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"
)

// Redis is a Counter kept in Redis, so that every instance of a cluster
// counts in the same windows. Its semantics are Memory's exactly: a fixed
// window that starts at a key's first event, refused events not counted,
// retryAfter the time left in the window. Each operation is one Lua
// script, atomic on the server; windows are timed by the Redis server's
// clock, and a key expires with its window.
type Redis struct {
	client  RedisClient
	prefix  string
	timeout time.Duration
}

var _ Counter = (*Redis)(nil)

// RedisClient is what Redis needs of a go-redis client (*redis.Client,
// *redis.ClusterClient, ...).
type RedisClient interface {
	redis.Scripter
	Del(ctx context.Context, keys ...string) *redis.IntCmd
}

// DefaultRedisTimeout bounds one operation of a Redis store: a rate
// limit check must not hold a request up for long when Redis is slow.
const DefaultRedisTimeout = 500 * time.Millisecond

// RedisOption configures NewRedis.
type RedisOption func(*Redis)

// WithTimeout bounds each operation (DefaultRedisTimeout by default). The
// client must honour context deadlines (go-redis's ContextTimeoutEnabled)
// for a read to be cut short.
func WithTimeout(d time.Duration) RedisOption { return func(r *Redis) { r.timeout = d } }

// NewRedis returns a Redis store on client whose keys start with prefix
// (e.g. "hatchgrid:ratelimit:"). Instances that share the client's
// database and the prefix share their counters.
func NewRedis(client RedisClient, prefix string, opts ...RedisOption) *Redis {
	r := &Redis{client: client, prefix: prefix, timeout: DefaultRedisTimeout}
	for _, opt := range opts {
		opt(r)
	}
	return r
}

// allowScript counts an event in KEYS[1] unless ARGV[1] events are in its
// window already; a new window lasts ARGV[2] ms. It returns {1, 0} when
// allowed, {0, ms left} when not. A key without an expiry (never written
// by this script) starts a new window rather than locking out forever.
var allowScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n > 0 then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl > 0 then
    if n >= tonumber(ARGV[1]) then
      return {0, ttl}
    end
    redis.call('INCR', KEYS[1])
    return {1, 0}
  end
end
redis.call('SET', KEYS[1], 1, 'PX', ARGV[2])
return {1, 0}
`)

// peekScript is allowScript without the counting.
var peekScript = redis.NewScript(`
local n = tonumber(redis.call('GET', KEYS[1]) or '0')
if n < tonumber(ARGV[1]) then
  return {1, 0}
end
local ttl = redis.call('PTTL', KEYS[1])
if ttl <= 0 then
  return {1, 0}
end
return {0, ttl}
`)

// Allow implements Store.
func (r *Redis) Allow(ctx context.Context, key string, limit int, period time.Duration) (bool, time.Duration, error) {
	if limit < 1 {
		return false, period, nil
	}
	ms := max(1, period.Milliseconds())
	return r.run(ctx, allowScript, key, limit, ms)
}

// Peek implements Counter.
func (r *Redis) Peek(ctx context.Context, key string, limit int) (bool, time.Duration, error) {
	if limit < 1 {
		return false, 0, nil
	}
	return r.run(ctx, peekScript, key, limit)
}

// Reset implements Counter.
func (r *Redis) Reset(ctx context.Context, key string) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if err := r.client.Del(ctx, r.key(key)).Err(); err != nil {
		return fmt.Errorf("ratelimit: redis: %w", err)
	}
	return nil
}

func (r *Redis) run(ctx context.Context, script *redis.Script, key string, args ...any) (bool, time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	res, err := script.Run(ctx, r.client, []string{r.key(key)}, args...).Int64Slice()
	if err != nil {
		return false, 0, fmt.Errorf("ratelimit: redis: %w", err)
	}
	if len(res) != 2 {
		return false, 0, fmt.Errorf("ratelimit: redis: unexpected reply %v", res)
	}
	if res[0] == 1 {
		return true, 0, nil
	}
	return false, time.Duration(res[1]) * time.Millisecond, nil
}

// key hashes the caller's key (rule, scope and client IP) into a fixed
// size, so that no label or address makes a long Redis key.
func (r *Redis) key(key string) string {
	sum := sha256.Sum256([]byte(key))
	return r.prefix + base64.RawURLEncoding.EncodeToString(sum[:24])
}
