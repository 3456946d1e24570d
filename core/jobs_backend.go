package core

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"time"

	"github.com/hatchgrid/hatchgrid/core/jobs"
)

// openJobs connects the queue (Redis, or the embedded server with its
// snapshot and journal restored when this App owns it) and builds the
// queue's client. Bootstrap calls it after the migrations; workers
// start with StartWorkers.
func (s *JobService) openJobs(ctx context.Context) error {
	s.mode = s.Mode()
	switch {
	case s.mode == JobsModeRedis:
		// Shared with App.Redis; Asynq does not close clients it is given.
		s.rdb = s.app.redis
		s.openClients()
	case s.owner:
		return s.openEmbedded(ctx)
	}
	return nil
}

func (s *JobService) openClients() { s.queue = jobs.NewClient(s.rdb) }

func (s *JobService) closeClients() {
	if s.queue != nil {
		s.queue.Close()
	}
	s.queue = nil
}

// StartWorkers starts this instance's job workers, the cron scheduler and
// the outbox dispatcher (which first dispatches what a crash left behind).
// `serve` calls it after Bootstrap; other commands don't, so their jobs
// wait for a server. In embedded mode the queue is then saved every
// jobs.snapshot_interval and on Shutdown. Calling it twice is an error.
func (a *App) StartWorkers(ctx context.Context) error {
	s := a.jobs
	if !a.bootstrapped {
		return fmt.Errorf("jobs: start workers: the app is not bootstrapped")
	}
	if s.queue == nil {
		return fmt.Errorf("jobs: start workers: in embedded mode only the App that owns the data dir's queue runs it (core.WithEmbeddedQueueOwner)")
	}
	if s.workers != nil {
		return fmt.Errorf("jobs: workers already started")
	}
	cfg := a.cfg.Jobs
	w := &jobWorkers{concurrency: cfg.Concurrency, done: make(chan struct{})}
	if w.concurrency <= 0 {
		w.concurrency = runtime.NumCPU()
	}
	if !s.inline {
		srv, err := jobs.StartServer(s.rdb, jobs.ServerConfig{
			Concurrency:     w.concurrency,
			Queues:          map[string]int{QueueCritical: 6, QueueDefault: 3, QueueLow: 1},
			RetryDelay:      s.retryDelay,
			ShutdownTimeout: a.cfg.Server.ShutdownTimeout,
			PollInterval:    cfg.PollInterval,
			Logger:          a.logger.With("component", "jobs"),
			OnError: func(ctx context.Context, t *jobs.Task, err error) {
				a.logger.WarnContext(ctx, "job failed", "component", "jobs", "type", t.Type, "id", t.ID, "retried", t.Retried, "error", err)
			},
		}, s.process)
		if err != nil {
			return err
		}
		w.server = srv
	}
	s.workers = w
	a.cron.start()
	st := s.Status()
	a.logger.Info("jobs: workers started", "component", "jobs", "mode", st.Mode,
		"concurrency", st.Concurrency, "durability", st.Durability)

	bg := context.WithoutCancel(ctx)
	// Rows a crash left in the outbox go first.
	w.every(bg, cfg.OutboxInterval, true, s.relayOutbox)
	if s.embedded != nil {
		w.every(bg, cfg.SnapshotInterval, false, s.saveSnapshot)
	}
	return nil
}

// jobWorkers is what StartWorkers started.
type jobWorkers struct {
	concurrency int
	server      *jobs.Server // nil with inline jobs
	done        chan struct{}
	wg          sync.WaitGroup
}

// every runs fn every interval (and at once if now is set) until the
// workers stop.
func (w *jobWorkers) every(ctx context.Context, interval time.Duration, now bool, fn func(context.Context)) {
	w.wg.Add(1)
	go func() {
		defer w.wg.Done()
		if now {
			fn(ctx)
		}
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-t.C:
				fn(ctx)
			}
		}
	}()
}

// closeJobs stops the workers (running jobs get server.shutdown_timeout,
// then go back to their queue), saves the embedded queue and closes the
// connections. Shutdown calls it while the databases are still open.
func (s *JobService) closeJobs(ctx context.Context) {
	if w := s.workers; w != nil {
		s.app.cron.stop()
		close(w.done)
		w.wg.Wait()
		if w.server != nil {
			w.server.Shutdown()
		}
	}
	if s.embedded != nil {
		s.saveSnapshot(ctx)
		s.closeEmbedded()
		return
	}
	s.closeClients()
	s.rdb = nil
}

func (s *JobService) saveSnapshot(ctx context.Context) {
	if err := s.saveEmbedded(ctx); err != nil {
		s.app.logger.ErrorContext(ctx, "jobs: save the embedded queue", "component", "jobs", "error", err)
	}
}

// EmbeddedDurability says in words what embedded mode keeps, for the
// health report, the dashboard and the serve banner.
const EmbeddedDurability = "every acknowledged job is journaled (fsync'd) to the data dir before Enqueue returns: " +
	"jobs survive kill -9 and power loss; retry counts and other state since the last save may not " +
	"(set HG_REDIS_URL to run several instances)"

// JobsStatus describes this instance's job system, for health and the
// dashboard.
type JobsStatus struct {
	Mode string `json:"mode"`
	// Workers is true while this instance runs job workers.
	Workers     bool `json:"workers"`
	Concurrency int  `json:"concurrency"`
	// Durability says in words what the queue keeps across restarts.
	Durability string `json:"durability"`
	// LastSnapshot is when embedded mode last saved its queue.
	LastSnapshot *time.Time `json:"lastSnapshot,omitempty"`
}

// Status returns the job system's mode and worker state.
func (s *JobService) Status() JobsStatus {
	st := JobsStatus{Mode: s.Mode()}
	if w := s.workers; w != nil {
		st.Workers, st.Concurrency = true, w.concurrency
	}
	switch {
	case st.Mode == JobsModeRedis:
		st.Durability = "jobs are kept in Redis"
	case s.embedded == nil:
		st.Durability = "embedded queue run by the process that serves the data dir; " +
			"jobs enqueued here wait in the outbox for it"
	default:
		st.Durability = EmbeddedDurability
		if e := s.embedded; e != nil {
			e.mu.Lock()
			if !e.saved.IsZero() {
				t := e.saved
				st.LastSnapshot = &t
			}
			e.mu.Unlock()
		}
	}
	return st
}

// ping checks the queue's Redis.
func (s *JobService) ping(ctx context.Context) error {
	if s.mode == JobsModeEmbedded && !s.owner {
		return nil // the queue is the serving process's
	}
	if s.rdb == nil {
		return fmt.Errorf("not open")
	}
	return s.rdb.Ping(ctx).Err()
}
