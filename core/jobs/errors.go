package jobs

import "github.com/hibiken/asynq"

// The errors of the queue, to test with errors.Is.
var (
	// SkipRetry, wrapped in a handler's error, archives the job at once
	// instead of retrying it.
	SkipRetry = asynq.SkipRetry
	// ErrTaskNotFound is a task the queue does not have.
	ErrTaskNotFound = asynq.ErrTaskNotFound
	// ErrQueueNotFound is a queue nothing was ever enqueued to.
	ErrQueueNotFound = asynq.ErrQueueNotFound
	// ErrTaskIDConflict is an enqueue with the id of a live task.
	ErrTaskIDConflict = asynq.ErrTaskIDConflict
	// ErrDuplicateTask is an enqueue refused by a Unique option.
	ErrDuplicateTask = asynq.ErrDuplicateTask
)
