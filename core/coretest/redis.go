package coretest

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultRedisURL is used when HG_TEST_REDIS_URL is unset.
const DefaultRedisURL = "redis://127.0.0.1:6379/0"

// redisTestDBs are the database numbers tests may claim; 0 holds the
// claims. A default Redis has 16.
const redisTestDBs = 15

// NewRedisDB claims an empty database of the test Redis for t (flushed
// before and after the test, released when it ends) and returns its URL.
// Claims live in database 0 with a TTL, so concurrent test processes never
// share one. Without a reachable Redis the test is skipped, or fails when
// CI=true. Several Apps of one test may share the URL: they then form a
// cluster.
func NewRedisDB(t testing.TB) string {
	t.Helper()
	base := os.Getenv("HG_TEST_REDIS_URL")
	if base == "" {
		base = DefaultRedisURL
	}
	opts, err := redis.ParseURL(base)
	if err != nil {
		t.Fatalf("coretest: HG_TEST_REDIS_URL: %v", err)
	}
	opts.DB = 0
	admin := redis.NewClient(opts)
	defer admin.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.Ping(ctx).Err(); err != nil {
		msg := fmt.Sprintf("coretest: Redis at %s is unreachable: %v", redact(base), err)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		fmt.Fprintln(os.Stderr, "!!! "+msg+" -- SKIPPING Redis tests")
		t.Skip(msg)
	}
	claim := fmt.Sprintf("hatchgrid:test:claim:%s:%d", t.Name(), time.Now().UnixNano())
	for db := 1; db <= redisTestDBs; db++ {
		key := fmt.Sprintf("hatchgrid:test:db:%d", db)
		ok, err := admin.SetNX(ctx, key, claim, 10*time.Minute).Result()
		if err != nil {
			t.Fatalf("coretest: claim a Redis database: %v", err)
		}
		if !ok {
			continue
		}
		dbOpts := *opts
		dbOpts.DB = db
		flush := func() {
			c := redis.NewClient(&dbOpts)
			defer c.Close()
			_ = c.FlushDB(context.Background()).Err()
		}
		flush()
		t.Cleanup(func() {
			flush()
			c := redis.NewClient(opts)
			defer c.Close()
			_ = c.Del(context.Background(), key).Err()
		})
		u, _ := url.Parse(base)
		u.Path = fmt.Sprintf("/%d", db)
		return u.String()
	}
	t.Fatalf("coretest: all %d test databases of Redis are claimed", redisTestDBs)
	return ""
}
