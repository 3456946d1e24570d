package core_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/jobs"
)

// fastJobs makes workers poll often, so tests wait milliseconds, not
// seconds, for a job.
func fastJobs(c *core.Config) {
	c.Jobs.PollInterval = 50 * time.Millisecond
	c.Jobs.OutboxInterval = 200 * time.Millisecond
	c.Jobs.Concurrency = 4
}

func newWorkerApp(t *testing.T, opts ...coretest.Option) *core.App {
	t.Helper()
	return coretest.NewApp(t, append([]coretest.Option{coretest.WithConfig(fastJobs), coretest.WithJobWorkers()}, opts...)...)
}

// sameStore points a second App at the first one's data dir and database.
func sameStore(first *core.App) coretest.Option {
	dir, url := first.Config().DataDir, first.Config().Database.URL
	return coretest.WithConfig(func(c *core.Config) { c.DataDir, c.Database.URL = dir, url })
}

// enqueueCounts enqueues "count" jobs 0 to total-1 on the apps in turn,
// half through Enqueue and half through EnqueueTx (the outbox).
func enqueueCounts(t *testing.T, total int, apps ...*core.App) {
	t.Helper()
	ctx := context.Background()
	for i := range total {
		app := apps[i%len(apps)]
		var err error
		if i%4 < 2 {
			_, err = app.Jobs().Enqueue(ctx, "count", i)
		} else {
			_, err = app.Jobs().EnqueueTx(ctx, "count", i)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
}

func waitFor(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func shutdown(t *testing.T, app *core.App) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := app.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
}

type greeting struct {
	Name string `json:"name"`
}

func TestJobRunsWithHooks(t *testing.T) {
	t.Parallel()
	app := newWorkerApp(t)
	got := make(chan string, 1)
	app.Jobs().Register("greet", func(ctx context.Context, job *core.Job) error {
		var g greeting
		if err := job.Decode(&g); err != nil {
			return err
		}
		got <- g.Name + "/" + job.Queue
		return nil
	}, core.JobQueue(core.QueueCritical))
	var before, after atomic.Int32
	app.OnJobRun("greet").BindFunc(func(e *core.JobEvent) error {
		before.Add(1)
		err := e.Next()
		if err == nil {
			after.Add(1)
		}
		return err
	})
	id, err := app.Jobs().Enqueue(context.Background(), "greet", greeting{Name: "ada"})
	if err != nil || id == "" {
		t.Fatalf("enqueue: %q %v", id, err)
	}
	select {
	case s := <-got:
		if s != "ada/critical" {
			t.Fatalf("handler got %q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("job did not run")
	}
	waitFor(t, 5*time.Second, "OnJobRun after Next", func() bool { return after.Load() == 1 })
	if before.Load() != 1 {
		t.Fatalf("OnJobRun ran %d times", before.Load())
	}
	if h := app.Health(context.Background(), time.Second); h.Jobs.Status != core.HealthOK ||
		h.Jobs.Kind != core.JobsModeEmbedded || !h.Jobs.Workers || h.Jobs.Concurrency != 4 {
		t.Fatalf("health jobs = %+v", h.Jobs)
	}
}

func TestJobVetoedByHook(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t) // inline jobs
	var ran atomic.Bool
	app.Jobs().Register("vetoed", func(context.Context, *core.Job) error { ran.Store(true); return nil })
	app.OnJobRun().BindFunc(func(e *core.JobEvent) error { return errors.New("not today") })
	if _, err := app.Jobs().Enqueue(context.Background(), "vetoed", nil); err != nil {
		t.Fatal(err)
	}
	if ran.Load() {
		t.Fatal("a vetoed job ran")
	}
}

func TestJobRetriedUntilItSucceeds(t *testing.T) {
	t.Parallel()
	app := newWorkerApp(t)
	var runs atomic.Int32
	done := make(chan int, 1)
	app.Jobs().Register("flaky", func(ctx context.Context, job *core.Job) error {
		if n := runs.Add(1); n < 3 {
			return errors.New("try again")
		}
		done <- job.Retried
		return nil
	}, core.JobRetryDelay(func(int, error) time.Duration { return 10 * time.Millisecond }))
	if _, err := app.Jobs().Enqueue(context.Background(), "flaky", nil); err != nil {
		t.Fatal(err)
	}
	select {
	case retried := <-done:
		if retried != 2 || runs.Load() != 3 {
			t.Fatalf("succeeded after %d retries, %d runs", retried, runs.Load())
		}
	case <-time.After(15 * time.Second):
		t.Fatalf("job did not succeed; ran %d times", runs.Load())
	}
}

func TestJobThatAlwaysFailsIsArchived(t *testing.T) {
	t.Parallel()
	app := newWorkerApp(t)
	var runs atomic.Int32
	app.Jobs().Register("doomed", func(context.Context, *core.Job) error {
		runs.Add(1)
		return errors.New("boom")
	}, core.JobMaxRetry(1), core.JobRetryDelay(func(int, error) time.Duration { return 10 * time.Millisecond }))
	id, err := app.Jobs().Enqueue(context.Background(), "doomed", nil)
	if err != nil {
		t.Fatal(err)
	}
	var archived []*jobs.TaskInfo
	waitFor(t, 15*time.Second, "the task in the archive", func() bool {
		archived, _ = listTasks(app, core.QueueDefault, "archived")
		return len(archived) == 1
	})
	if a := archived[0]; a.ID != id || a.LastError != "boom" || a.Type != "doomed" || runs.Load() != 2 {
		t.Fatalf("archived %+v after %d runs", a, runs.Load())
	}
}

func TestCronEverySecondRuns(t *testing.T) {
	t.Parallel()
	app := newWorkerApp(t)
	ticks := make(chan string, 10)
	err := app.Cron().Add("heartbeat", "@every 1s", func(ctx context.Context, job *core.Job) error {
		ticks <- job.ID
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := app.Cron().Add("bad", "every now and then", nil); err == nil {
		t.Fatal("a bad spec was accepted")
	}
	var heartbeat *core.CronEntry
	for _, e := range app.Cron().Entries() {
		if e.Name == "bad" {
			t.Fatalf("a bad entry was added: %+v", e)
		}
		if e.Name == "heartbeat" {
			heartbeat = &e
		}
	}
	if heartbeat == nil || heartbeat.JobType != "cron:heartbeat" || heartbeat.Next.IsZero() {
		t.Fatalf("entries = %+v", app.Cron().Entries())
	}
	for range 2 {
		select {
		case id := <-ticks:
			if len(id) < len("cron:heartbeat:") || id[:15] != "cron:heartbeat:" {
				t.Fatalf("tick id %q", id)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("cron did not tick")
		}
	}
}

// TestEmbeddedQueueSurvivesRestart stops the server between enqueue and
// run: the snapshot written on shutdown brings the job back.
func TestEmbeddedQueueSurvivesRestart(t *testing.T) {
	t.Parallel()
	first := newWorkerApp(t)
	id, err := first.Jobs().Enqueue(context.Background(), "later", greeting{Name: "grace"}, core.ProcessIn(500*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	shutdown(t, first)
	if _, err := os.Stat(filepath.Join(first.Config().DataDir, "jobs.snapshot")); err != nil {
		t.Fatalf("no snapshot: %v", err)
	}

	got := make(chan string, 1)
	second := coretest.NewApp(t, coretest.WithConfig(fastJobs), sameStore(first), coretest.WithAppOptions(
		core.WithPlugins(jobsPlugin(func(app *core.App) error {
			app.Jobs().Register("later", func(ctx context.Context, job *core.Job) error {
				var g greeting
				_ = job.Decode(&g)
				got <- job.ID + "/" + g.Name
				return nil
			})
			return nil
		}))), coretest.WithJobWorkers())
	_ = second
	select {
	case s := <-got:
		if s != id+"/grace" {
			t.Fatalf("ran %q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the job did not survive the restart")
	}
}

// TestJobUniqueLockExpiresInEmbeddedMode checks that keys with a TTL
// expire in embedded mode: a unique lock (on a queue no worker reads, so
// no run releases it) blocks a second enqueue until its TTL has run out.
func TestJobUniqueLockExpiresInEmbeddedMode(t *testing.T) {
	t.Parallel()
	app := newWorkerApp(t)
	ctx := context.Background()
	enqueue := func() error {
		_, err := app.Jobs().Enqueue(ctx, "later", nil, core.Queue("unserved"), core.Unique(time.Second))
		return err
	}
	start := time.Now()
	if err := enqueue(); err != nil {
		t.Fatal(err)
	}
	if err := enqueue(); !errors.Is(err, core.ErrDuplicateJob) {
		t.Fatalf("second enqueue under the lock: %v, want ErrDuplicateTask", err)
	}
	waitFor(t, 5*time.Second, "the unique lock to expire", func() bool { return enqueue() == nil })
	if d := time.Since(start); d < 900*time.Millisecond {
		t.Fatalf("the 1s unique lock expired after %s", d)
	}
}

// TestOutboxRowSurvivesCrash writes an outbox row in a transaction of an
// App that never dispatches it (it runs no workers, as if it died right
// after the commit); the next App on the same store dispatches it.
func TestOutboxRowSurvivesCrash(t *testing.T) {
	t.Parallel()
	first := coretest.NewApp(t, coretest.WithConfig(fastJobs), coretest.WithJobQueue())
	ctx := context.Background()
	var id string
	err := first.InTx(ctx, func(ctx context.Context) error {
		var err error
		id, err = first.Jobs().EnqueueTx(ctx, "webhook", greeting{Name: "linus"})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := first.Jobs().OutboxLen(ctx); err != nil || n != 1 {
		t.Fatalf("outbox has %d rows (%v)", n, err)
	}
	shutdown(t, first)

	got := make(chan string, 1)
	second := coretest.NewApp(t, coretest.WithConfig(fastJobs), sameStore(first), coretest.WithAppOptions(
		core.WithPlugins(jobsPlugin(func(app *core.App) error {
			app.Jobs().Register("webhook", func(ctx context.Context, job *core.Job) error {
				got <- job.ID
				return nil
			})
			return nil
		}))), coretest.WithJobWorkers())
	select {
	case gotID := <-got:
		if gotID != id {
			t.Fatalf("ran task %q, want the row id %q", gotID, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("the outbox row was not dispatched")
	}
	waitFor(t, 5*time.Second, "an empty outbox", func() bool {
		n, _ := second.Jobs().OutboxLen(ctx)
		return n == 0
	})
}

func TestOutboxFollowsTheTransaction(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t) // inline jobs
	ctx := context.Background()
	var ran []string
	app.Jobs().Register("note", func(ctx context.Context, job *core.Job) error {
		ran = append(ran, job.ID)
		return nil
	})
	var rolledBack, committed string
	_ = app.InTx(ctx, func(ctx context.Context) error {
		rolledBack, _ = app.Jobs().EnqueueTx(ctx, "note", nil)
		return errors.New("undo")
	})
	err := app.InTx(ctx, func(ctx context.Context) error {
		var err error
		committed, err = app.Jobs().EnqueueTx(ctx, "note", nil)
		if len(ran) != 0 {
			t.Error("the job ran before the commit")
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ran, []string{committed}) || rolledBack == "" {
		t.Fatalf("ran %v, want only %q", ran, committed)
	}
	if n, _ := app.Jobs().OutboxLen(ctx); n != 0 {
		t.Fatalf("%d outbox rows left", n)
	}
	if _, err := app.Jobs().EnqueueTx(ctx, "note", nil, core.TaskID("mine")); err == nil {
		t.Fatal("EnqueueTx accepted a TaskID")
	}
}

type jobsPlugin func(app *core.App) error

func (jobsPlugin) Name() string                   { return "test" }
func (f jobsPlugin) Register(app *core.App) error { return f(app) }

// listTasks returns up to 1000 of queue's tasks in state.
func listTasks(app *core.App, queue, state string) ([]*jobs.TaskInfo, error) {
	tasks, _, err := app.Jobs().Tasks(context.Background(), queue, state, 1, 1000)
	return tasks, err
}
