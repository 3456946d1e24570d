package hatchgrid_test

import (
	"context"
	"errors"
	"net/mail"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/datadir"
)

// flakyServer is a serving App on the CLI's data dir and database with
// workers and a job type "flaky" that fails (archived at once) until
// succeed is set.
type flakyServer struct {
	app     *core.App
	lock    *datadir.Lock
	succeed atomic.Bool
	runs    atomic.Int32
}

func startFlakyServer(t *testing.T, c *cli, dir string) *flakyServer {
	t.Helper()
	env := append([]string{"HG_DATA_DIR=" + dir, "HG_JOBS_POLL_INTERVAL=50ms", "HG_JOBS_OUTBOX_INTERVAL=100ms"}, c.env...)
	cfg, err := core.LoadConfig(core.LoadOptions{Environ: func() []string { return env }})
	if err != nil {
		t.Fatal(err)
	}
	// As serve: the data dir's lock, then the owner of its queue.
	lock, err := datadir.Acquire(dir, "serve")
	if err != nil {
		t.Fatal(err)
	}
	s := &flakyServer{app: core.New(cfg, core.WithLogger(discardLogger()), core.WithEmbeddedQueueOwner()), lock: lock}
	s.app.Jobs().Register("flaky", func(ctx context.Context, job *core.Job) error {
		s.runs.Add(1)
		if s.succeed.Load() {
			return nil
		}
		return errors.New("boom")
	}, core.JobMaxRetry(0), core.JobQueue(core.QueueLow))
	ctx := context.Background()
	if err := s.app.Bootstrap(ctx); err != nil {
		t.Fatal(err)
	}
	if err := s.app.StartWorkers(ctx); err != nil {
		t.Fatal(err)
	}
	return s
}

func (s *flakyServer) stop() {
	s.app.Shutdown(context.Background())
	s.lock.Release()
}

// enqueueArchived enqueues a failing job and waits until it is archived.
func (s *flakyServer) enqueueArchived(t *testing.T) string {
	t.Helper()
	id, err := s.app.Jobs().Enqueue(context.Background(), "flaky", map[string]int{"n": 1})
	if err != nil {
		t.Fatal(err)
	}
	coretest.Eventually(t, 10*time.Second, "the job to be archived", func() bool {
		ti, err := s.app.Jobs().Task(context.Background(), core.QueueLow, id)
		return err == nil && ti.State == "archived"
	})
	return id
}

// TestJobsCommandsEmbedded runs the jobs commands with no server running:
// they take the data dir's lock and work on the saved queue, and what
// retry and purge change is there for the next server.
func TestJobsCommandsEmbedded(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	dir := t.TempDir()

	srv := startFlakyServer(t, c, dir)
	retried, purged := srv.enqueueArchived(t), srv.enqueueArchived(t)
	// A delivered mail (here: SMTP is off, so it completes unsent) leaves
	// no completed copy in the saved queue (docs/security.md).
	msg := &core.MailMessage{To: []mail.Address{{Address: "reset@example.com"}}, Subject: "Reset", HTML: "<a href='x/RESET-TOKEN'>x</a>"}
	if err := srv.app.Mailer().Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	coretest.Eventually(t, 10*time.Second, "the mail job to finish", func() bool {
		info, err := srv.app.Jobs().QueueInfo(context.Background(), core.QueueCritical)
		return err == nil && info.Pending+info.Active+info.Scheduled+info.Retry == 0 && info.Processed > 0
	})
	srv.stop() // saves the queue to the data dir

	code, out, errOut := c.run("jobs", "ls", "--state", "archived", "--dir", dir)
	if code != 0 || !strings.Contains(out, retried) || !strings.Contains(out, purged) || !strings.Contains(out, "flaky") ||
		!strings.Contains(out, "boom") || !strings.Contains(errOut, "no server running") || strings.Contains(out, `"n"`) {
		t.Fatalf("ls: %d %q %q", code, out, errOut)
	}
	if code, out, _ := c.run("jobs", "ls", "--dir", dir); code != 0 || strings.Contains(out, "mail.send") || strings.Contains(out, "RESET-TOKEN") {
		t.Fatalf("ls shows a delivered mail: %d %q", code, out)
	}
	if code, out, _ := c.run("jobs", "ls", "--queue", "critical", "--dir", dir); code != 0 || strings.Contains(out, retried) {
		t.Fatalf("ls critical: %d %q", code, out)
	}
	if code, _, errOut := c.run("jobs", "ls", "--queue", "nope", "--dir", dir); code != 1 || !strings.Contains(errOut, `no queue "nope"`) {
		t.Fatalf("ls unknown queue: %d %q", code, errOut)
	}
	if code, _, _ := c.run("jobs", "ls", "--state", "lost", "--dir", dir); code != 2 {
		t.Fatalf("ls bad state: exit %d, want 2", code)
	}
	if code, _, errOut := c.run("jobs", "retry", "nope", "--queue", "low", "--dir", dir); code != 1 || !strings.Contains(errOut, "no job nope") {
		t.Fatalf("retry unknown: %d %q", code, errOut)
	}
	if code, _, _ := c.run("jobs", "retry", retried, "--dir", dir); code != 2 {
		t.Fatalf("retry without --queue: exit %d, want 2", code)
	}
	code, out, errOut = c.run("jobs", "retry", retried, "--queue", "low", "--dir", dir)
	if code != 0 || !strings.Contains(out, "Queued job "+retried+" to run now.") {
		t.Fatalf("retry: %d %q %q", code, out, errOut)
	}
	code, out, errOut = c.run("jobs", "purge", "--queue", "low", "--state", "archived", "--dir", dir)
	if code != 0 || !strings.Contains(out, "Deleted 1 archived jobs from queue low.") {
		t.Fatalf("purge: %d %q %q", code, out, errOut)
	}

	// The next server runs the retried job; the purged one is gone.
	srv = startFlakyServer(t, c, dir)
	defer srv.stop()
	srv.succeed.Store(true)
	coretest.Eventually(t, 10*time.Second, "the retried job to run", func() bool { return srv.runs.Load() == 1 })
	if _, err := srv.app.Jobs().Task(context.Background(), core.QueueLow, purged); err == nil {
		t.Fatal("the purged job is back")
	}
	// Beside a server that does not listen (yet), the commands say so.
	if code, _, errOut := c.run("jobs", "ls", "--dir", dir); code != 1 || !strings.Contains(errOut, "in use by pid") {
		t.Fatalf("ls beside a server that does not listen: %d %q", code, errOut)
	}
}

func TestJobsCommandsRedis(t *testing.T) {
	t.Parallel()
	c := newCLI(t)
	c.env = append(c.env, "HG_REDIS_URL="+coretest.NewRedisDB(t))
	dir := t.TempDir()

	srv := startFlakyServer(t, c, dir)
	defer srv.stop()
	id := srv.enqueueArchived(t)

	code, out, errOut := c.run("jobs", "ls", "--queue", "low", "--dir", dir)
	if code != 0 || !strings.Contains(out, id) || !strings.Contains(out, "archived") || strings.Contains(errOut, "Embedded") {
		t.Fatalf("ls: %d %q %q", code, out, errOut)
	}

	srv.succeed.Store(true)
	if code, out, errOut := c.run("jobs", "retry", id, "--queue", "low", "--dir", dir); code != 0 || !strings.Contains(out, "Queued job "+id) {
		t.Fatalf("retry: %d %q %q", code, out, errOut)
	}
	coretest.Eventually(t, 10*time.Second, "the retried job to run", func() bool { return srv.runs.Load() == 2 })
	if code, _, errOut := c.run("jobs", "retry", id, "--queue", "low", "--dir", dir); code != 1 || !strings.Contains(errOut, "no job") {
		t.Fatalf("retry a finished job: %d %q", code, errOut)
	}

	srv.succeed.Store(false)
	id2 := srv.enqueueArchived(t)
	if code, _, _ := c.run("jobs", "purge", "--queue", "low", "--state", "active", "--dir", dir); code != 2 {
		t.Fatalf("purge active: exit %d, want 2", code)
	}
	code, out, errOut = c.run("jobs", "purge", "--queue", "low", "--state", "archived", "--dir", dir)
	if code != 0 || !strings.Contains(out, "Deleted 1 archived jobs from queue low.") {
		t.Fatalf("purge: %d %q %q", code, out, errOut)
	}
	if code, out, _ := c.run("jobs", "ls", "--state", "archived", "--dir", dir); code != 0 || strings.Contains(out, id2) {
		t.Fatalf("ls after purge: %d %q", code, out)
	}
}
