package core_test

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/redis/go-redis/v9"
)

// countJobs registers "count": each run inserts its payload into t_seen,
// whose primary key makes a second run of one job fail (counted in dup).
func countJobs(n int, ran []atomic.Int32, dup *atomic.Int32) coretest.Option {
	return coretest.WithAppOptions(core.WithPlugins(jobsPlugin(func(app *core.App) error {
		app.Jobs().Register("count", func(ctx context.Context, job *core.Job) error {
			var i int
			if err := job.Decode(&i); err != nil {
				return err
			}
			if err := app.DB(ctx).Exec(`INSERT INTO "t_seen" ("n", "app") VALUES (?, ?)`, i, n).Error; err != nil {
				dup.Add(1)
				return err
			}
			ran[n].Add(1)
			return nil
		})
		return nil
	})))
}

// newCountingApp returns an App on Redis at redisURL whose "count" jobs
// insert their number into its table t_seen (see countJobs); its workers
// are not started.
func newCountingApp(t *testing.T, redisURL string, ran []atomic.Int32, dup *atomic.Int32) *core.App {
	t.Helper()
	app := coretest.NewApp(t, coretest.WithConfig(fastJobs),
		coretest.WithConfig(func(c *core.Config) { c.Redis.URL = redisURL }),
		countJobs(0, ran, dup), coretest.WithJobQueue())
	if err := app.DB(context.Background()).Exec(`CREATE TABLE "t_seen" ("n" INTEGER PRIMARY KEY, "app" INTEGER)`).Error; err != nil {
		t.Fatal(err)
	}
	return app
}

func countRows(t *testing.T, app *core.App, table string) int64 {
	t.Helper()
	var n int64
	if err := app.ReadDB(context.Background()).Table(table).Count(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// TestFaultRedisStopsWhileServing kills a private redis-server under a
// Redis-mode App: records still work, health says degraded with jobs down,
// EnqueueTx rows wait in the outbox; when redis-server returns (empty, on
// the same port) the outbox is dispatched and every job runs.
func TestFaultRedisStopsWhileServing(t *testing.T) {
	t.Parallel()
	rs := coretest.NewRedisServer(t)
	var ran [1]atomic.Int32
	var dup atomic.Int32
	app := newCountingApp(t, rs.URL(), ran[:], &dup)
	ctx := context.Background()
	if err := app.StartWorkers(ctx); err != nil {
		t.Fatal(err)
	}
	if h := app.Health(ctx, time.Second); h.Status != core.HealthOK || h.Jobs.Kind != core.JobsModeRedis {
		t.Fatalf("health before = %s, jobs %+v", h.Status, h.Jobs)
	}
	posts, err := app.Collections().Create(ctx, input(t, `{"name":"posts","fields":[{"name":"title","type":"text"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	sys := &core.RequestInfo{Actor: core.SystemActor()}
	// One job before the outage runs normally.
	if _, err := app.Jobs().EnqueueTx(ctx, "count", 0); err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the first job", func() bool { return countRows(t, app, "t_seen") == 1 })

	rs.Stop()
	start := time.Now()

	// Records: create, read, update, delete.
	rec, err := app.Records().Create(core.WithRequest(ctx, sys), posts, map[string]any{"title": "during outage"})
	if err != nil {
		t.Fatalf("create with Redis down: %v", err)
	}
	if _, err := app.Records().Update(core.WithRequest(ctx, sys), posts, rec.ID(), map[string]any{"title": "edited"}); err != nil {
		t.Fatalf("update with Redis down: %v", err)
	}
	got, err := app.Records().Find(ctx, posts, rec.ID())
	if err != nil || got.GetString("title") != "edited" {
		t.Fatalf("read with Redis down: %v %v", got, err)
	}
	if err := app.Records().Delete(core.WithRequest(ctx, sys), posts, rec.ID()); err != nil {
		t.Fatalf("delete with Redis down: %v", err)
	}

	h := app.Health(ctx, time.Second)
	if h.Status != core.HealthDegraded || h.Jobs.Status != core.HealthDown || h.Database.Status != core.HealthOK {
		t.Fatalf("health with Redis down = %s, jobs %+v, db %+v", h.Status, h.Jobs.ComponentHealth, h.Database)
	}

	const total = 20
	for i := 1; i <= total; i++ {
		if _, err := app.Jobs().EnqueueTx(ctx, "count", i); err != nil {
			t.Fatalf("EnqueueTx with Redis down: %v", err)
		}
	}
	if n, err := app.Jobs().OutboxLen(ctx); err != nil || n != total {
		t.Fatalf("outbox holds %d rows (%v), want %d", n, err, total)
	}
	t.Logf("outage phase took %s", time.Since(start).Round(time.Millisecond))

	rs.Start()
	back := time.Now()
	waitFor(t, 20*time.Second, fmt.Sprintf("%d jobs after Redis returned", total+1), func() bool {
		return countRows(t, app, "t_seen") == total+1
	})
	t.Logf("outbox drained and jobs ran %s after Redis returned", time.Since(back).Round(time.Millisecond))
	if n, _ := app.Jobs().OutboxLen(ctx); n != 0 {
		t.Fatalf("%d outbox rows left", n)
	}
	if dup.Load() != 0 {
		t.Fatalf("%d duplicate runs", dup.Load())
	}
	waitFor(t, 5*time.Second, "health ok again", func() bool {
		return app.Health(ctx, time.Second).Status == core.HealthOK
	})
}

// TestFaultRedisClusterThousandJobsOnce: two Apps on one Redis database
// and one data database; 1,000 jobs enqueued across both (half Enqueue,
// half EnqueueTx) run exactly once each (the primary key of t_seen would
// reject a second run), and both instances run some.
func TestFaultRedisClusterThousandJobsOnce(t *testing.T) {
	t.Parallel()
	redisURL := coretest.NewRedisDB(t)
	onRedis := coretest.WithConfig(func(c *core.Config) {
		c.Redis.URL = redisURL
		c.Jobs.Concurrency = 8
	})
	ran := make([]atomic.Int32, 2)
	var dup atomic.Int32
	first := coretest.NewApp(t, coretest.WithConfig(fastJobs), onRedis, countJobs(0, ran, &dup), coretest.WithJobQueue())
	ctx := context.Background()
	if err := first.DB(ctx).Exec(`CREATE TABLE "t_seen" ("n" INTEGER PRIMARY KEY, "app" INTEGER)`).Error; err != nil {
		t.Fatal(err)
	}
	if err := first.StartWorkers(ctx); err != nil {
		t.Fatal(err)
	}
	second := coretest.NewApp(t, coretest.WithConfig(fastJobs), onRedis, sameStore(first), countJobs(1, ran, &dup), coretest.WithJobWorkers())

	const total = 1000
	start := time.Now()
	enqueueCounts(t, total, first, second)
	waitFor(t, 60*time.Second, fmt.Sprintf("%d jobs", total), func() bool { return countRows(t, first, "t_seen") == total })
	t.Logf("%d jobs enqueued and run in %s (instances: %d and %d)", total,
		time.Since(start).Round(time.Millisecond), ran[0].Load(), ran[1].Load())
	var distinct int64
	if err := first.ReadDB(ctx).Raw(`SELECT COUNT(DISTINCT "n") FROM "t_seen" WHERE "n" >= 0 AND "n" < ?`, total).Scan(&distinct).Error; err != nil {
		t.Fatal(err)
	}
	if distinct != total {
		t.Fatalf("%d distinct jobs ran, want %d", distinct, total)
	}
	time.Sleep(300 * time.Millisecond) // a late duplicate would show now
	if dup.Load() != 0 {
		t.Fatalf("%d duplicate runs", dup.Load())
	}
	// Redis decides which instance dequeues each job; only the total counts.
	if ran[0].Load()+ran[1].Load() != total {
		t.Fatalf("instances ran %d and %d jobs, want %d in all", ran[0].Load(), ran[1].Load(), total)
	}
	if n, _ := first.Jobs().OutboxLen(ctx); n != 0 {
		t.Fatalf("%d outbox rows left", n)
	}
}

// requestKey marks the context of the writes TestFaultRedisDownOutboxWritesDoNotWait
// watches.
type requestKey struct{}

// requestCalls is a go-redis hook counting dials and commands made for a
// context marked with requestKey.
type requestCalls struct{ n atomic.Int64 }

func (h *requestCalls) count(ctx context.Context) {
	if ctx.Value(requestKey{}) != nil {
		h.n.Add(1)
	}
}

func (h *requestCalls) DialHook(next redis.DialHook) redis.DialHook {
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		h.count(ctx)
		return next(ctx, network, addr)
	}
}

func (h *requestCalls) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		h.count(ctx)
		return next(ctx, cmd)
	}
}

func (h *requestCalls) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		h.count(ctx)
		return next(ctx, cmds)
	}
}

// TestFaultRedisDownOutboxWritesDoNotWait stops Redis under a Redis-mode App.
// Once a push has found it gone, a write that enqueues a job through the
// outbox makes no call to Redis at all (its row waits for the relay) and
// returns well within 500ms; when Redis is back the relay delivers every
// row exactly once and pushes go inline again.
func TestFaultRedisDownOutboxWritesDoNotWait(t *testing.T) {
	t.Parallel()
	rs := coretest.NewRedisServer(t)
	var ran [1]atomic.Int32
	var dup atomic.Int32
	app := newCountingApp(t, rs.URL(), ran[:], &dup)
	ctx := context.Background()
	calls := &requestCalls{}
	app.Redis().AddHook(calls)
	if err := app.StartWorkers(ctx); err != nil {
		t.Fatal(err)
	}
	posts, err := app.Collections().Create(ctx, input(t, `{"name":"posts","fields":[{"name":"title","type":"text"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	sys := &core.RequestInfo{Actor: core.SystemActor()}
	write := func(ctx context.Context, n int) time.Duration {
		t.Helper()
		start := time.Now()
		err := app.InTx(ctx, func(ctx context.Context) error {
			if _, err := app.Records().Create(core.WithRequest(ctx, sys), posts, map[string]any{"title": fmt.Sprint(n)}); err != nil {
				return err
			}
			_, err := app.Jobs().EnqueueTx(ctx, "count", n)
			return err
		})
		if err != nil {
			t.Fatalf("write %d: %v", n, err)
		}
		return time.Since(start)
	}

	rs.Stop()
	t.Logf("the write that found Redis gone took %s", write(ctx, 0).Round(time.Millisecond))
	req := context.WithValue(ctx, requestKey{}, true)
	const during = 5
	var slowest time.Duration
	for i := 1; i <= during; i++ {
		d := write(req, i)
		if d > 500*time.Millisecond {
			t.Errorf("write %d with Redis known down took %s", i, d.Round(time.Millisecond))
		}
		slowest = max(slowest, d)
	}
	t.Logf("the slowest of %d writes with Redis known down took %s", during, slowest)
	// Enqueue outside a transaction does not wait either: the job goes to
	// the outbox too.
	const direct = 3
	for i := 0; i < direct; i++ {
		start := time.Now()
		if _, err := app.Jobs().Enqueue(req, "count", during+1+i); err != nil {
			t.Fatalf("enqueue with Redis known down: %v", err)
		}
		if d := time.Since(start); d > 500*time.Millisecond {
			t.Errorf("enqueue %d with Redis known down took %s", i, d.Round(time.Millisecond))
		}
	}
	if n := calls.n.Load(); n != 0 {
		t.Fatalf("writes with Redis known down made %d dials or commands", n)
	}
	if n, err := app.Jobs().OutboxLen(ctx); err != nil || n != during+1+direct {
		t.Fatalf("outbox holds %d rows (%v), want %d", n, err, during+1+direct)
	}
	if h := app.Health(ctx, time.Second); h.Status != core.HealthDegraded || h.Jobs.Status != core.HealthDown {
		t.Fatalf("health with Redis down = %s, jobs %+v", h.Status, h.Jobs.ComponentHealth)
	}

	rs.Start()
	waitFor(t, 20*time.Second, "the outbox to drain", func() bool { return countRows(t, app, "t_seen") == during+1+direct })
	// The relay has seen Redis back: the next write pushes its job inline.
	n := during + 1 + direct
	waitFor(t, 5*time.Second, "an inline push", func() bool {
		before := calls.n.Load()
		write(req, n)
		n++
		return calls.n.Load() > before
	})
	waitFor(t, 10*time.Second, "every job", func() bool { return countRows(t, app, "t_seen") == int64(n) })
	if dup.Load() != 0 {
		t.Fatalf("%d duplicate runs", dup.Load())
	}
	if c, _ := app.Jobs().OutboxLen(ctx); c != 0 {
		t.Fatalf("%d outbox rows left", c)
	}
}
