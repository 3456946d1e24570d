// Package jobs is the job queue's engine behind a small API: enqueueing,
// the workers that run handlers, the options of a job, inspection (queues,
// tasks by state, run, archive, delete, pause) and the Redis key layout the
// embedded queue's snapshot needs. It is the only package that imports
// Asynq, so that the engine can change without touching core, apis, the
// CLI or plugins; core's JobService builds on it and re-exports what
// plugins need (core.ProcessIn, core.SkipRetry, ...).
//
// It never imports core: core owns the handlers' registry, hooks, the
// outbox and the embedded queue's journal, and hands this package plain
// values and callbacks.
package jobs
