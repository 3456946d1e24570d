package core

import (
	"time"

	"github.com/hatchgrid/hatchgrid/core/jobs"
)

// EnqueueOption is one option of Jobs().Enqueue and EnqueueTx: the job's
// queue, delay, retries, uniqueness, retention. Each has a constructor
// here (as in package core/jobs), under the name Asynq gave it, so that
// plugin code moves by changing the package: asynq.ProcessIn(d) becomes
// core.ProcessIn(d).
type EnqueueOption = jobs.Option

// Queue sends the job to the named queue (QueueCritical, QueueDefault,
// QueueLow or any other); it overrides the type's JobQueue.
func Queue(name string) EnqueueOption { return jobs.Queue(name) }

// MaxRetry sets how many times a failed job is retried before it is
// archived; it overrides the type's JobMaxRetry.
func MaxRetry(n int) EnqueueOption { return jobs.MaxRetry(n) }

// Timeout bounds one run of the job; it overrides the type's JobTimeout.
func Timeout(d time.Duration) EnqueueOption { return jobs.Timeout(d) }

// Deadline is the time by which a run of the job must finish.
func Deadline(t time.Time) EnqueueOption { return jobs.Deadline(t) }

// ProcessIn delays the job's first run by d (from the commit, for
// EnqueueTx).
func ProcessIn(d time.Duration) EnqueueOption { return jobs.ProcessIn(d) }

// ProcessAt delays the job's first run until t.
func ProcessAt(t time.Time) EnqueueOption { return jobs.ProcessAt(t) }

// Unique refuses (ErrDuplicateJob) a job of the same type, queue and
// payload as one enqueued less than ttl ago that has not finished.
func Unique(ttl time.Duration) EnqueueOption { return jobs.Unique(ttl) }

// TaskID sets the job's id; a second job with a live id is
// ErrJobIDConflict. EnqueueTx refuses it: the outbox row's id is the
// job's.
func TaskID(id string) EnqueueOption { return jobs.TaskID(id) }

// Retention keeps the job, and the result its handler wrote, for d after
// it completes.
func Retention(d time.Duration) EnqueueOption { return jobs.Retention(d) }

// Group puts the job in a group of its queue.
func Group(name string) EnqueueOption { return jobs.Group(name) }

// The job queue's errors, to test with errors.Is.
var (
	// SkipRetry, wrapped in a JobHandler's error, archives the job at once
	// instead of retrying it: for input that will never work.
	SkipRetry = jobs.SkipRetry
	// ErrJobNotFound is a job the queue does not have.
	ErrJobNotFound = jobs.ErrTaskNotFound
	// ErrJobIDConflict is an enqueue with the TaskID of a live job.
	ErrJobIDConflict = jobs.ErrTaskIDConflict
	// ErrDuplicateJob is an enqueue refused by a Unique option.
	ErrDuplicateJob = jobs.ErrDuplicateTask
)
