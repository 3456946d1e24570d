package core_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// TestRedisClusterRunsEachJobOnce runs two Apps on one Redis and one
// database: 200 jobs enqueued across both run exactly once each (a second
// run would hit the primary key), spread over both instances, and a cron
// entry both schedule ticks once per second, not once per instance.
func TestRedisClusterRunsEachJobOnce(t *testing.T) {
	t.Parallel()
	redisURL := coretest.NewRedisDB(t)
	onRedis := coretest.WithConfig(func(c *core.Config) { c.Redis.URL = redisURL })

	var ran [2]atomic.Int32
	var failures atomic.Int32
	plugin := func(n int) coretest.Option {
		return coretest.WithAppOptions(core.WithPlugins(jobsPlugin(func(app *core.App) error {
			app.Jobs().Register("count", func(ctx context.Context, job *core.Job) error {
				var i int
				if err := job.Decode(&i); err != nil {
					return err
				}
				err := app.DB(ctx).Exec(`INSERT INTO "t_seen" ("n", "app") VALUES (?, ?)`, i, n).Error
				if err != nil {
					failures.Add(1)
					return err
				}
				ran[n].Add(1)
				return nil
			})
			return app.Cron().Add("tick", "@every 1s", func(ctx context.Context, job *core.Job) error {
				err := app.DB(ctx).Exec(`INSERT INTO "t_ticks" ("id") VALUES (?)`, job.ID).Error
				if err != nil {
					failures.Add(1)
				}
				return err
			})
		})))
	}

	// The first App creates the tables before any worker runs.
	first := coretest.NewApp(t, coretest.WithConfig(fastJobs), onRedis, plugin(0), coretest.WithJobQueue())
	ctx := context.Background()
	for _, ddl := range []string{
		`CREATE TABLE "t_seen" ("n" INTEGER PRIMARY KEY, "app" INTEGER)`,
		`CREATE TABLE "t_ticks" ("id" TEXT PRIMARY KEY)`,
	} {
		if err := first.DB(ctx).Exec(ddl).Error; err != nil {
			t.Fatal(err)
		}
	}
	if err := first.StartWorkers(ctx); err != nil {
		t.Fatal(err)
	}
	second := coretest.NewApp(t, coretest.WithConfig(fastJobs), onRedis, sameStore(first), plugin(1), coretest.WithJobWorkers())
	if h := second.Health(ctx, time.Second); h.Jobs.Kind != core.JobsModeRedis || h.Jobs.Status != core.HealthOK {
		t.Fatalf("health jobs = %+v", h.Jobs)
	}

	const total = 200
	enqueueCounts(t, total, first, second)
	count := func(table string) int64 {
		var n int64
		if err := first.ReadDB(ctx).Table(table).Count(&n).Error; err != nil {
			t.Fatal(err)
		}
		return n
	}
	// A handler counts its run after its insert: wait for both.
	waitFor(t, 30*time.Second, fmt.Sprintf("%d jobs", total), func() bool {
		return count("t_seen") == total && ran[0].Load()+ran[1].Load() == total
	})
	if failures.Load() != 0 {
		t.Fatalf("%d runs failed (a job ran twice?)", failures.Load())
	}
	// Which instance dequeues each job is up to Redis and the schedulers;
	// one of them may take every job, so only the total is checked here.
	if ran[0].Load()+ran[1].Load() != total {
		t.Fatalf("instances ran %d and %d jobs, want %d in all", ran[0].Load(), ran[1].Load(), total)
	}

	// Both instances schedule "tick"; each second's tick runs once.
	start := count("t_ticks")
	time.Sleep(2500 * time.Millisecond)
	ticks := count("t_ticks") - start
	if ticks < 1 || ticks > 4 || failures.Load() != 0 {
		t.Fatalf("%d ticks in 2.5s, %d duplicate runs", ticks, failures.Load())
	}
}
