package core_test

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// crashCopy copies app's data dir as it is on disk now into a new
// directory, as if the process had been killed (kill -9) at this moment:
// nothing the App keeps in memory is in it.
func crashCopy(t *testing.T, app *core.App) string {
	t.Helper()
	src, dst := app.Config().DataDir, t.TempDir()
	entries, err := os.ReadDir(src)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.IsDir() || e.Name() == "hatchgrid.lock" {
			continue
		}
		in, err := os.Open(filepath.Join(src, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out, err := os.Create(filepath.Join(dst, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := io.Copy(out, in); err != nil {
			t.Fatal(err)
		}
		in.Close()
		out.Close()
	}
	return dst
}

// ranSet collects the ids of the jobs a handler ran.
type ranSet struct {
	mu  sync.Mutex
	ids map[string]int
}

func (r *ranSet) add(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ids == nil {
		r.ids = map[string]int{}
	}
	r.ids[id]++
}

func (r *ranSet) count(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.ids[id]
}

func (r *ranSet) len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.ids)
}

// restartOn starts a worker App on dir (a crash copy) and app's database,
// with a "crash" handler that records what it runs.
func restartOn(t *testing.T, app *core.App, dir string, ran *ranSet) *core.App {
	t.Helper()
	db := app.Config().Database.URL
	return newWorkerApp(t, coretest.WithConfig(func(c *core.Config) { c.DataDir, c.Database.URL = dir, db }),
		coretest.WithAppOptions(core.WithPlugins(jobsPlugin(func(a *core.App) error {
			a.Jobs().Register("crash", func(ctx context.Context, job *core.Job) error {
				ran.add(job.ID)
				return nil
			})
			return nil
		}))))
}

// TestEnqueueSurvivesCrash enqueues jobs that cannot finish before the
// process dies (a handler that blocks), copies the data dir as kill -9
// would leave it, long before any periodic save, and starts again on the
// copy: every job Enqueue acknowledged runs.
func TestEnqueueSurvivesCrash(t *testing.T) {
	t.Parallel()
	release := make(chan struct{})
	defer close(release)
	first := newWorkerApp(t, coretest.WithAppOptions(core.WithPlugins(jobsPlugin(func(a *core.App) error {
		a.Jobs().Register("crash", func(ctx context.Context, job *core.Job) error {
			select {
			case <-release:
			case <-ctx.Done():
			}
			return ctx.Err()
		})
		return nil
	}))))
	ctx := context.Background()
	var acked []string
	for i := range 40 {
		opts := []core.EnqueueOption{}
		if i%4 == 0 {
			opts = append(opts, core.Queue(core.QueueLow), core.MaxRetry(3))
		}
		id, err := first.Jobs().Enqueue(ctx, "crash", greeting{Name: strings.Repeat("x", i)}, opts...)
		if err != nil {
			t.Fatal(err)
		}
		acked = append(acked, id)
	}
	dir := crashCopy(t, first)
	if _, err := os.Stat(filepath.Join(dir, "jobs.snapshot")); err == nil {
		t.Fatal("a snapshot was saved: this test is about what the journal alone keeps")
	}

	var ran ranSet
	restartOn(t, first, dir, &ran)
	waitFor(t, 20*time.Second, "every acknowledged job to run", func() bool { return ran.len() >= len(acked) })
	for _, id := range acked {
		if ran.count(id) == 0 {
			t.Fatalf("acknowledged job %s did not run after the crash", id)
		}
	}
}

// TestFinishedAndDeletedJobsStayGone: after a crash, a job that completed
// does not run again and a job deleted by hand does not come back.
func TestFinishedAndDeletedJobsStayGone(t *testing.T) {
	t.Parallel()
	var firstRan ranSet
	first := newWorkerApp(t, coretest.WithAppOptions(core.WithPlugins(jobsPlugin(func(a *core.App) error {
		a.Jobs().Register("crash", func(ctx context.Context, job *core.Job) error {
			firstRan.add(job.ID)
			return nil
		})
		return nil
	}))))
	ctx := context.Background()
	done, err := first.Jobs().Enqueue(ctx, "crash", nil)
	if err != nil {
		t.Fatal(err)
	}
	deleted, err := first.Jobs().Enqueue(ctx, "crash", nil, core.ProcessIn(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if err := first.Jobs().DeleteTask(ctx, core.QueueDefault, deleted); err != nil {
		t.Fatal(err)
	}
	kept, err := first.Jobs().Enqueue(ctx, "crash", nil, core.ProcessIn(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 10*time.Second, "the first job to finish", func() bool {
		_, err := first.Jobs().Task(ctx, core.QueueDefault, done)
		return firstRan.count(done) == 1 && err != nil
	})
	dir := crashCopy(t, first)

	var ran ranSet
	second := restartOn(t, first, dir, &ran)
	insp := second.Jobs()
	if ti, err := insp.Task(ctx, core.QueueDefault, kept); err != nil || ti.State != "scheduled" {
		t.Fatalf("the scheduled job after the crash: %+v %v", ti, err)
	}
	if _, err := insp.Task(ctx, core.QueueDefault, deleted); err == nil {
		t.Fatal("the deleted job came back after the crash")
	}
	time.Sleep(time.Second) // give a wrongly restored job the time to run
	if ran.count(done) != 0 {
		t.Fatal("the finished job ran again after the crash")
	}
}
