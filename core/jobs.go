package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hatchgrid/hatchgrid/core/jobjournal"
	"github.com/hatchgrid/hatchgrid/core/jobs"
	"github.com/hatchgrid/hatchgrid/core/security"
	"github.com/redis/go-redis/v9"
)

// Job queues, from the most to the least urgent. Workers pick from them
// with weighted priority (6:3:1), so low never starves.
const (
	QueueCritical = "critical"
	QueueDefault  = "default"
	QueueLow      = "low"
)

// Job modes, as Jobs().Mode() and the health report name them.
const (
	JobsModeRedis    = "redis"
	JobsModeEmbedded = "embedded"
)

// JobHandler runs one job. A nil error completes it; any other error
// retries it with backoff until its retries are spent, then archives it.
// Wrap SkipRetry to archive at once.
type JobHandler func(ctx context.Context, job *Job) error

// Job is one run of a queued task, as its handler sees it.
type Job struct {
	// ID is the task's id: unique among live tasks; an outbox row's id for
	// jobs that came through EnqueueTx.
	ID      string
	Type    string
	Queue   string
	Payload []byte
	// Retried is how many times the job has run and failed before.
	Retried  int
	MaxRetry int

	result *jobs.Task // nil for inline jobs
}

// Decode unmarshals the JSON payload into v.
func (j *Job) Decode(v any) error { return json.Unmarshal(j.Payload, v) }

// WriteResult stores data as the task's result, shown by the jobs API
// (kept only for tasks enqueued with Retention). It is a no-op for inline
// jobs.
func (j *Job) WriteResult(data []byte) error {
	if j.result == nil {
		return nil
	}
	return j.result.WriteResult(data)
}

// JobOption sets a default of a registered job type.
type JobOption func(*jobType)

// JobQueue sets the queue jobs of the type go to unless Enqueue says
// otherwise.
func JobQueue(name string) JobOption { return func(t *jobType) { t.queue = name } }

// JobMaxRetry sets how many times a failed job of the type is retried
// before it is archived (the default is 25).
func JobMaxRetry(n int) JobOption { return func(t *jobType) { t.maxRetry = &n } }

// JobTimeout bounds one run of a job of the type.
func JobTimeout(d time.Duration) JobOption { return func(t *jobType) { t.timeout = d } }

// JobRetryDelay sets the backoff between retries: n is the number of
// failures so far. The default is jobs.DefaultRetryDelay.
func JobRetryDelay(fn func(n int, err error) time.Duration) JobOption {
	return func(t *jobType) { t.retryDelay = fn }
}

// JobShowPayload lets the jobs API and CLI show the payloads of jobs of
// the type to callers who are not superusers (holders of admin:jobs
// read). Without it they see null: a payload may carry what the caller
// must not read (a mail with a password-reset link, a record's hidden
// fields). Opt in only for payloads that hold nothing secret.
func JobShowPayload() JobOption { return func(t *jobType) { t.showPayload = true } }

// JobKeepNoCompleted deletes a job of the type as soon as it completes,
// whatever retention its enqueuer asked for (the outbox keeps completed
// tasks an hour, see outboxRetention), so that a payload holding a secret
// (a password-reset link) does not stay in the queue once delivered. The
// price: a second dispatch of the same outbox row racing the first can
// run the job twice, where a kept copy would have made it a conflict.
func JobKeepNoCompleted() JobOption { return func(t *jobType) { t.keepNoCompleted = true } }

type jobType struct {
	handler         JobHandler
	queue           string
	maxRetry        *int
	timeout         time.Duration
	retryDelay      func(n int, err error) time.Duration
	showPayload     bool
	keepNoCompleted bool
}

// options returns the type's defaults as enqueue options; the caller's
// come after them and win.
func (t *jobType) options() []jobs.Option {
	var opts []jobs.Option
	if t == nil {
		return opts
	}
	if t.queue != "" {
		opts = append(opts, jobs.Queue(t.queue))
	}
	if t.maxRetry != nil {
		opts = append(opts, jobs.MaxRetry(*t.maxRetry))
	}
	if t.timeout > 0 {
		opts = append(opts, jobs.Timeout(t.timeout))
	}
	return opts
}

// JobService is the App's job queue: handlers by type, enqueueing (now,
// later, or with the database transaction through the outbox), the
// workers and the queues' inspection. Get it with App.Jobs.
type JobService struct {
	app    *App
	inline bool

	mu    sync.RWMutex
	types map[string]*jobType

	// Set by open, cleared by close.
	mode     string
	rdb      redis.UniversalClient
	embedded *embeddedRedis
	queue    *jobs.Client // nil until open (and in a CLI beside a server)

	workers *jobWorkers // nil until StartWorkers

	// owner is set by WithEmbeddedQueueOwner.
	owner bool

	// queueDown is set while Redis is known unreachable (see
	// pushAfterCommit); the relay clears it once Redis answers again.
	queueDown atomic.Bool
}

// WithInlineJobs makes Enqueue and EnqueueTx run the handler at once in
// the caller's goroutine (after the commit for EnqueueTx), ignoring
// delays and retries: for tests that want a job's effect synchronously.
func WithInlineJobs() Option { return func(a *App) { a.jobs.inline = true } }

// Jobs returns the job service.
func (a *App) Jobs() *JobService { return a.jobs }

// Register sets the handler of jobs of typ, replacing any earlier one, and
// the type's defaults. Handlers may be registered at any time; a worker
// that meets a type it has no handler for fails the run, so it is retried
// (by another instance, or after a deploy that adds the handler).
func (s *JobService) Register(typ string, handler JobHandler, opts ...JobOption) {
	t := &jobType{handler: handler}
	for _, opt := range opts {
		opt(t)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.types == nil {
		s.types = map[string]*jobType{}
	}
	s.types[typ] = t
}

// Types returns the registered job types.
func (s *JobService) Types() []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]string, 0, len(s.types))
	for typ := range s.types {
		out = append(out, typ)
	}
	return out
}

// ShowsPayload reports whether jobs of typ opted in to showing their
// payloads to callers who are not superusers (JobShowPayload). Unknown
// types do not.
func (s *JobService) ShowsPayload(typ string) bool {
	t := s.lookup(typ)
	return t != nil && t.showPayload
}

func (s *JobService) lookup(typ string) *jobType {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.types[typ]
}

// Mode returns JobsModeRedis or JobsModeEmbedded.
func (s *JobService) Mode() string {
	if s.app.cfg.Redis.URL != "" {
		return JobsModeRedis
	}
	return JobsModeEmbedded
}

// Enqueue queues a job of typ. payload is sent as is when it is []byte or
// json.RawMessage and as JSON otherwise. opts (EnqueueQueue, ProcessIn,
// ProcessAt, MaxRetry, Timeout, Unique, TaskID, Retention, ...) override
// the type's defaults. It returns the task id.
//
// When Enqueue returns without error the job is durable: in Redis mode
// Redis has it; in embedded mode its record is fsync'd to the queue's
// journal in the data dir, so it survives kill -9 and a power cut (see
// docs/jobs.md). Enqueue is not tied to any transaction: a job enqueued
// inside one runs even if it rolls back. Use EnqueueTx for work caused by
// a database change. In an embedded-mode App that runs no workers (a CLI
// command, beside a running server or not) the job goes to the outbox (in
// ctx's transaction, if any), which the serving process dispatches.
func (s *JobService) Enqueue(ctx context.Context, typ string, payload any, opts ...EnqueueOption) (string, error) {
	data, err := encodePayload(payload)
	if err != nil {
		return "", err
	}
	if s.inline {
		return s.runInline(ctx, typ, data, opts)
	}
	if s.mode == "" {
		return "", errors.New("jobs: the app is not bootstrapped")
	}
	if !s.dispatches() {
		return s.enqueueOutbox(ctx, typ, data, opts)
	}
	if s.queueDown.Load() && s.Mode() == JobsModeRedis {
		// Redis is known down: the job waits in the outbox for the relay
		// (committed now, whatever ctx's transaction does) instead of the
		// caller waiting for dials that fail.
		if id, err := s.enqueueOutbox(withoutTx(ctx), typ, data, opts); err == nil {
			return id, nil
		}
	}
	return s.enqueue(ctx, typ, data, opts)
}

func (s *JobService) enqueue(ctx context.Context, typ string, data []byte, opts []EnqueueOption) (string, error) {
	jt := s.lookup(typ)
	all := append(jt.options(), opts...)
	if jt != nil && jt.keepNoCompleted {
		all = append(all, jobs.Retention(0)) // last, so it wins
	}
	if s.embedded != nil {
		return s.enqueueJournaled(ctx, typ, data, all)
	}
	id, _, err := s.queue.Enqueue(ctx, typ, data, all...)
	return id, err
}

// submit runs the job inline or queues it.
func (s *JobService) submit(ctx context.Context, typ string, data []byte, opts []EnqueueOption) (string, error) {
	if s.inline {
		return s.runInline(ctx, typ, data, opts)
	}
	return s.enqueue(ctx, typ, data, opts)
}

// dispatches reports whether this App may hand work to the queue and
// count on it being kept: always with Redis; in embedded mode only while
// this process runs the workers and so saves the queue. Inline jobs always
// run.
func (s *JobService) dispatches() bool {
	return s.inline || s.Mode() == JobsModeRedis || s.workers != nil
}

func encodePayload(payload any) ([]byte, error) {
	switch p := payload.(type) {
	case nil:
		return nil, nil
	case []byte:
		return p, nil
	case json.RawMessage:
		return p, nil
	default:
		data, err := json.Marshal(payload)
		if err != nil {
			return nil, fmt.Errorf("jobs: encode payload: %w", err)
		}
		return data, nil
	}
}

// process is the workers' handler of every task: it finds the type's
// handler and runs it inside OnJobRun.
func (s *JobService) process(ctx context.Context, t *jobs.Task) error {
	job := &Job{ID: t.ID, Type: t.Type, Queue: t.Queue, Payload: t.Payload,
		Retried: t.Retried, MaxRetry: t.MaxRetry, result: t}
	err := s.run(ctx, job)
	switch {
	case err == nil:
		s.journalEnd(ctx, jobjournal.Done, job.Queue, job.ID)
	case job.Retried >= job.MaxRetry || errors.Is(err, SkipRetry):
		s.journalEnd(ctx, jobjournal.Archive, job.Queue, job.ID)
	}
	return err
}

func (s *JobService) run(ctx context.Context, job *Job) error {
	jt := s.lookup(job.Type)
	e := &JobEvent{App: s.app, Context: ctx, Job: job}
	return s.app.onJobRun.Trigger(e, func(e *JobEvent) error {
		if jt == nil {
			return fmt.Errorf("no handler registered for job type %q", e.Job.Type)
		}
		return jt.handler(e.Context, e.Job)
	})
}

func (s *JobService) runInline(ctx context.Context, typ string, data []byte, opts []EnqueueOption) (string, error) {
	_, id := jobs.ParseOptions(opts, s.app.Now())
	if id == "" {
		id = security.NewID()
	}
	job := &Job{ID: id, Type: typ, Queue: QueueDefault, Payload: data}
	s.app.AfterCommit(ctx, func(ctx context.Context) {
		err := func() (err error) {
			defer func() {
				if r := recover(); r != nil {
					err = fmt.Errorf("panic: %v", r)
				}
			}()
			return s.run(ctx, job)
		}()
		if err != nil {
			s.app.logger.ErrorContext(ctx, "inline job failed", "component", "jobs", "type", typ, "id", id, "error", err)
		}
	})
	return id, nil
}

// retryDelay is the workers' backoff: the type's, or the default.
func (s *JobService) retryDelay(n int, err error, typ string) time.Duration {
	if jt := s.lookup(typ); jt != nil && jt.retryDelay != nil {
		return jt.retryDelay(n, err)
	}
	return jobs.DefaultRetryDelay(n, err)
}
