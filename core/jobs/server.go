package jobs

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Task is one run of a queued job, as a Handler sees it.
type Task struct {
	ID      string
	Type    string
	Queue   string
	Payload []byte
	// Retried is how many times the job has run and failed before.
	Retried  int
	MaxRetry int

	result *asynq.ResultWriter
}

// WriteResult stores data as the task's result (kept only for tasks
// enqueued with Retention).
func (t *Task) WriteResult(data []byte) error {
	if t.result == nil {
		return nil
	}
	_, err := t.result.Write(data)
	return err
}

func taskOf(ctx context.Context, t *asynq.Task) *Task {
	task := &Task{Type: t.Type(), Payload: t.Payload(), result: t.ResultWriter()}
	task.ID, _ = asynq.GetTaskID(ctx)
	task.Queue, _ = asynq.GetQueueName(ctx)
	task.Retried, _ = asynq.GetRetryCount(ctx)
	task.MaxRetry, _ = asynq.GetMaxRetry(ctx)
	return task
}

// Handler runs one task. A nil error completes it; any other error retries
// it until its retries are spent, then archives it (at once if the error
// wraps SkipRetry).
type Handler func(ctx context.Context, t *Task) error

// ServerConfig configures the workers.
type ServerConfig struct {
	Concurrency int
	// Queues weighs the queues the workers take tasks from.
	Queues map[string]int
	// RetryDelay is the backoff after the n-th failure of a task of typ;
	// nil is DefaultRetryDelay.
	RetryDelay func(n int, err error, typ string) time.Duration
	// ShutdownTimeout is how long Shutdown lets running tasks finish.
	ShutdownTimeout time.Duration
	// PollInterval is how often idle workers look for due tasks.
	PollInterval time.Duration
	Logger       *slog.Logger
	// OnError, if set, sees every failed run.
	OnError func(ctx context.Context, t *Task, err error)
}

// DefaultRetryDelay is the default backoff after the n-th failure:
// n^4 + 15 seconds, plus jitter.
func DefaultRetryDelay(n int, err error) time.Duration {
	return asynq.DefaultRetryDelayFunc(n, err, nil)
}

// Server is a running set of workers.
type Server struct{ srv *asynq.Server }

// StartServer starts workers on rdb's queues that run h.
func StartServer(rdb redis.UniversalClient, cfg ServerConfig, h Handler) (*Server, error) {
	c := asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   cfg.Queues,
		ShutdownTimeout:          cfg.ShutdownTimeout,
		TaskCheckInterval:        cfg.PollInterval,
		DelayedTaskCheckInterval: cfg.PollInterval,
		LogLevel:                 asynq.WarnLevel,
	}
	if cfg.Logger != nil {
		c.Logger = logger{cfg.Logger}
	}
	if cfg.RetryDelay != nil {
		c.RetryDelayFunc = func(n int, err error, t *asynq.Task) time.Duration { return cfg.RetryDelay(n, err, t.Type()) }
	}
	if cfg.OnError != nil {
		c.ErrorHandler = asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			cfg.OnError(ctx, taskOf(ctx, t), err)
		})
	}
	srv := asynq.NewServerFromRedisClient(rdb, c)
	if err := srv.Start(asynq.HandlerFunc(func(ctx context.Context, t *asynq.Task) error {
		return h(ctx, taskOf(ctx, t))
	})); err != nil {
		return nil, fmt.Errorf("jobs: start workers: %w", err)
	}
	return &Server{srv: srv}, nil
}

// Shutdown stops the workers: running tasks get the ShutdownTimeout, then
// go back to their queue.
func (s *Server) Shutdown() { s.srv.Shutdown() }

// logger routes Asynq's logs to slog. Fatal does not exit: Asynq calls it
// only from Run, which Server does not use.
type logger struct{ l *slog.Logger }

func (l logger) Debug(args ...any) { l.l.Debug(fmt.Sprint(args...)) }
func (l logger) Info(args ...any)  { l.l.Info(fmt.Sprint(args...)) }
func (l logger) Warn(args ...any)  { l.l.Warn(fmt.Sprint(args...)) }
func (l logger) Error(args ...any) { l.l.Error(fmt.Sprint(args...)) }
func (l logger) Fatal(args ...any) { l.l.Error(fmt.Sprint(args...)) }
