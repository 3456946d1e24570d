package core_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// BenchmarkJobsThroughput enqueues b.N no-op jobs and waits until the
// workers have run them all, end to end, in embedded mode (miniredis in
// process) and Redis mode (HG_TEST_REDIS_URL; skipped when unreachable
// outside CI). It reports jobs/s.
//
//	go test ./core -run '^$' -bench JobsThroughput -benchtime 2000x
func BenchmarkJobsThroughput(b *testing.B) {
	b.Run("embedded", func(b *testing.B) { benchJobs(b) })
	b.Run("redis", func(b *testing.B) {
		url := coretest.NewRedisDB(b)
		benchJobs(b, coretest.WithConfig(func(c *core.Config) { c.Redis.URL = url }))
	})
}

func benchJobs(b *testing.B, opts ...coretest.Option) {
	app := coretest.NewApp(b, append([]coretest.Option{
		coretest.WithConfig(func(c *core.Config) { c.Jobs.PollInterval = 50 * time.Millisecond }),
		coretest.WithJobWorkers(),
	}, opts...)...)
	var done atomic.Int64
	finished := make(chan struct{})
	target := int64(b.N)
	app.Jobs().Register("bench.noop", func(ctx context.Context, job *core.Job) error {
		if done.Add(1) == target {
			close(finished)
		}
		return nil
	})
	ctx := context.Background()

	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for range b.N {
		if _, err := app.Jobs().Enqueue(ctx, "bench.noop", nil); err != nil {
			b.Fatal(err)
		}
	}
	select {
	case <-finished:
	case <-time.After(5*time.Minute + time.Duration(b.N)*10*time.Millisecond):
		b.Fatalf("only %d of %d jobs ran", done.Load(), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "jobs/s")
}

// BenchmarkEnqueue measures what Enqueue costs its caller in embedded mode
// (to a queue no worker serves, so the queue only grows): one caller at a
// time ("serial", each waiting for its own fsync) and 32 at once
// ("parallel", sharing fsyncs). It reports fsyncs per enqueue where the
// queue journals.
//
//	go test ./core -run '^$' -bench Enqueue -benchtime 2000x
func BenchmarkEnqueue(b *testing.B) {
	for _, mode := range []string{"serial", "parallel"} {
		b.Run(mode, func(b *testing.B) {
			app := coretest.NewApp(b, coretest.WithJobWorkers())
			ctx := context.Background()
			payload := []byte(`{"to":"someone@example.com","subject":"hello"}`)
			enqueue := func() {
				if _, err := app.Jobs().Enqueue(ctx, "bench.noop", payload, core.Queue("unserved")); err != nil {
					b.Error(err)
				}
			}
			syncs := core.JournalSyncs(app)
			b.ReportAllocs()
			b.ResetTimer()
			if mode == "serial" {
				for range b.N {
					enqueue()
				}
			} else {
				b.SetParallelism(32)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						enqueue()
					}
				})
			}
			b.StopTimer()
			b.ReportMetric(float64(core.JournalSyncs(app)-syncs)/float64(b.N), "fsyncs/op")
		})
	}
}
