package core_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"google.golang.org/protobuf/encoding/protowire"
)

// syncLog is a slog destination tests can read.
type syncLog = coretest.LogBuffer

// bootstrapWithin builds an App on first's data dir and database (the
// owner of its embedded queue, as serve is) and bootstraps it, failing
// the test if that takes longer than limit (raceSlowdown times that under
// the race detector) instead of hanging with it.
func bootstrapWithin(t *testing.T, first *core.App, limit time.Duration, log *syncLog) (*core.App, time.Duration) {
	t.Helper()
	limit *= raceSlowdown
	cfg := *first.Config()
	opts := []core.Option{core.WithEmbeddedQueueOwner(), core.WithLogger(slog.New(slog.NewTextHandler(log, nil)))}
	app := core.New(&cfg, opts...)
	done := make(chan error, 1)
	start := time.Now()
	go func() { done <- app.Bootstrap(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(limit):
		t.Fatalf("Bootstrap did not return within %s (the embedded queue's restore hangs)\nlog:\n%s", limit, log.String())
	}
	took := time.Since(start)
	t.Cleanup(func() { shutdown(t, app) })
	return app, took
}

// asynqQueue fills m with n pending tasks of type typ on queue, written
// as Asynq's enqueue script writes them (the task's hash with its
// protobuf message, its id in the pending list, the queue in
// asynq:queues), through miniredis's API: Enqueue itself costs ~0.7 ms
// of CPU in miniredis's Lua, too slow to queue 100,000 tasks in a test.
// It returns the ids.
func asynqQueue(m *miniredis.Miniredis, queue, typ string, n int) []string {
	ids := make([]string, n)
	now := strconv.FormatInt(time.Now().UnixNano(), 10)
	m.SetAdd("asynq:queues", queue)
	for i := range ids {
		ids[i] = fmt.Sprintf("task-%06d", i)
		var msg []byte
		msg = protowire.AppendTag(msg, 1, protowire.BytesType) // type
		msg = protowire.AppendString(msg, typ)
		msg = protowire.AppendTag(msg, 2, protowire.BytesType) // payload
		msg = protowire.AppendBytes(msg, fmt.Appendf(nil, `{"n":%d,"pad":%q}`, i, strings.Repeat("x", 100)))
		msg = protowire.AppendTag(msg, 3, protowire.BytesType) // id
		msg = protowire.AppendString(msg, ids[i])
		msg = protowire.AppendTag(msg, 4, protowire.BytesType) // queue
		msg = protowire.AppendString(msg, queue)
		msg = protowire.AppendTag(msg, 5, protowire.VarintType) // retry
		msg = protowire.AppendVarint(msg, 25)
		msg = protowire.AppendTag(msg, 8, protowire.VarintType) // timeout
		msg = protowire.AppendVarint(msg, 1800)
		m.HSet("asynq:{"+queue+"}:t:"+ids[i], "msg", string(msg), "state", "pending", "pending_since", now)
	}
	m.Push("asynq:{"+queue+"}:pending", ids...)
	return ids
}

// TestEmbeddedRestoreOf100000Tasks starts an App on a data dir whose saved
// queue holds 100,000 pending tasks (about 40 MB): the restore takes
// seconds, logs its progress, and every task is back, readable by Asynq.
func TestEmbeddedRestoreOf100000Tasks(t *testing.T) {
	t.Parallel()
	const tasks = 100_000
	first := coretest.NewApp(t) // for its data dir and database
	m := miniredis.NewMiniRedis()
	ids := asynqQueue(m, "unserved", "later", tasks)
	path := filepath.Join(first.Config().DataDir, "jobs.snapshot")
	if err := core.WriteQueueSnapshot(m, path, time.Now()); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}

	log := &syncLog{}
	second, took := bootstrapWithin(t, first, 60*time.Second, log)
	t.Logf("restored %d tasks (snapshot %d MB) in %s", tasks, fi.Size()>>20, took.Round(time.Millisecond))
	insp := second.Jobs()
	info, err := insp.QueueInfo(context.Background(), "unserved")
	if err != nil {
		t.Fatal(err)
	}
	if info.Pending != tasks {
		t.Fatalf("%d pending tasks after the restore, want %d", info.Pending, tasks)
	}
	ti, err := insp.Task(context.Background(), "unserved", ids[tasks/2])
	if err != nil || ti.Type != "later" || !strings.Contains(string(ti.Payload), fmt.Sprintf(`"n":%d,`, tasks/2)) {
		t.Fatalf("task %s after the restore: %+v %v", ids[tasks/2], ti, err)
	}
	// About a second of CPU; the bound is for a loaded 2-core CI machine.
	if took > 60*time.Second {
		t.Fatalf("the restore took %s", took)
	}
	if !strings.Contains(log.String(), "restoring the embedded queue") || !strings.Contains(log.String(), "keys=100002") {
		t.Fatalf("no restore progress in the log:\n%s", log.String())
	}
}

// TestEmbeddedSaveDoesNotStallTheQueue saves a queue of 50,000 tasks while
// a caller keeps enqueueing: the queue is paused only while its keys are
// copied in memory, not while they are encoded and written.
func TestEmbeddedSaveDoesNotStallTheQueue(t *testing.T) {
	t.Parallel()
	const tasks = 50_000
	first := coretest.NewApp(t)
	m := miniredis.NewMiniRedis()
	asynqQueue(m, "unserved", "later", tasks)
	if err := core.WriteQueueSnapshot(m, filepath.Join(first.Config().DataDir, "jobs.snapshot"), time.Now()); err != nil {
		t.Fatal(err)
	}
	app, _ := bootstrapWithin(t, first, 60*time.Second, &syncLog{})
	ctx := context.Background()
	if err := app.StartWorkers(ctx); err != nil { // so Enqueue goes to the queue
		t.Fatal(err)
	}

	stop := make(chan struct{})
	var worst atomic.Int64
	var n atomic.Int64
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-stop:
				return
			default:
			}
			start := time.Now()
			if _, err := app.Jobs().Enqueue(ctx, "probe", nil, core.Queue("probe")); err != nil {
				t.Error(err)
				return
			}
			d := int64(time.Since(start))
			n.Add(1)
			for old := worst.Load(); d > old && !worst.CompareAndSwap(old, d); old = worst.Load() {
			}
		}
	}()
	waitFor(t, 5*time.Second, "the first reads", func() bool { return n.Load() > 5 })
	start := time.Now()
	paused, err := core.SaveEmbeddedQueue(app)
	took := time.Since(start)
	close(stop)
	<-done
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("saved %d tasks in %s; queue paused %s; slowest Enqueue during the save %s (%d calls)",
		tasks, took.Round(time.Millisecond), paused.Round(time.Millisecond), time.Duration(worst.Load()).Round(time.Millisecond), n.Load())
	// Before, the save ran KEYS * and every key's contents in one Lua
	// script holding the server: ~20 s for these 50,000 tasks on a loaded
	// 2-core machine, during which every Enqueue waited. Now the queue
	// pauses only while the keys are copied (0.3 s here unloaded, 7 s of
	// a 27 s save under -race at a load of 24), and no Enqueue waits much
	// longer than that pause: bounds relative to the save, so that the
	// machine's load does not decide.
	if paused >= took || time.Duration(worst.Load()) > paused+2*time.Second {
		t.Fatalf("the queue was paused %s of the save's %s (slowest Enqueue %s)", paused, took, time.Duration(worst.Load()))
	}
}

// TestEmbeddedRestoreAfterMailAndCron builds the queue that hung start-up
// (issue 14) by really running its jobs: login-alert mail.send jobs from
// sign-ins on new devices and cron ticks, then stops and starts again on
// the same data dir. Before the fix the restore deadlocked on such a
// snapshot. The hang's snapshot held the alerts' completed copies (~1.7 KB
// each, kept an hour); mail keeps none since (docs/security.md), so a job
// type that keeps its completed copies, as webhook deliveries do, stands in
// for them with payloads of the same size.
func TestEmbeddedRestoreAfterMailAndCron(t *testing.T) {
	t.Parallel()
	var ticks atomic.Int32
	first := newWorkerApp(t, coretest.WithAppOptions(core.WithPlugins(jobsPlugin(func(app *core.App) error {
		app.Jobs().Register("kept", func(context.Context, *core.Job) error { return nil }, core.JobQueue(core.QueueCritical))
		return app.Cron().Add("tick", "@every 1s", func(ctx context.Context, job *core.Job) error {
			ticks.Add(1)
			return nil
		})
	}))))
	su, _ := coretest.Superuser(t, first)
	ctx := context.Background()
	for i := range 6 { // the first device is no news; five alerts
		if err := first.Auth().NoteSignIn(ctx, su, "10.0.0.1", fmt.Sprintf("Mozilla/5.0 device-%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	payload := []byte(`{"html":"` + strings.Repeat("x", 1690) + `"}`)
	for range 5 {
		if _, err := first.Jobs().Enqueue(ctx, "kept", payload, core.Retention(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	box := coretest.Mailbox(t, first)
	waitFor(t, 20*time.Second, "five alerts and two cron ticks", func() bool { return box.Len() >= 5 && ticks.Load() >= 2 })
	waitFor(t, 10*time.Second, "five completed tasks", func() bool {
		done, _ := listTasks(first, core.QueueCritical, "completed")
		return len(done) >= 5
	})
	done, _ := listTasks(first, core.QueueCritical, "completed")
	for _, ti := range done {
		if ti.Type == "mail.send" {
			t.Fatalf("a delivered mail.send task was kept: %s", ti.ID)
		}
	}
	shutdown(t, first)
	fi, err := os.Stat(filepath.Join(first.Config().DataDir, "jobs.snapshot"))
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%d completed tasks (payloads %d bytes), %d cron ticks; snapshot %d bytes", len(done), len(payload), ticks.Load(), fi.Size())
	if fi.Size() < 10_000 {
		t.Fatalf("not the shape that hung: snapshot %d bytes", fi.Size())
	}

	second, took := bootstrapWithin(t, first, 10*time.Second, &syncLog{})
	t.Logf("restarted in %s", took.Round(time.Millisecond))
	again, err := listTasks(second, core.QueueCritical, "completed")
	if err != nil || len(again) != len(done) {
		t.Fatalf("%d completed tasks after the restart (%v), want %d", len(again), err, len(done))
	}
}
