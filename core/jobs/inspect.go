package jobs

import (
	"errors"
	"slices"
	"time"

	"github.com/hibiken/asynq"
)

// Task states, as TaskInfo.State and ListTasks name them.
const (
	StatePending     = "pending"
	StateActive      = "active"
	StateScheduled   = "scheduled"
	StateRetry       = "retry"
	StateArchived    = "archived"
	StateCompleted   = "completed"
	StateAggregating = "aggregating"
)

// QueueInfo is one queue's sizes and today's counts.
type QueueInfo struct {
	Name string
	// Size counts the tasks in the queue, completed ones excluded.
	Size      int
	Pending   int
	Active    int
	Scheduled int
	Retry     int
	Archived  int
	Completed int
	// Processed counts today's runs, failures included; Failed today's
	// failures.
	Processed int
	Failed    int
	Paused    bool
	// History holds the last days' counts, newest first, where the caller
	// asked for them (see History).
	History []DayStats
}

// Count returns how many tasks are in state, or -1 for an unknown state.
func (qi *QueueInfo) Count(state string) int {
	switch state {
	case StatePending:
		return qi.Pending
	case StateActive:
		return qi.Active
	case StateScheduled:
		return qi.Scheduled
	case StateRetry:
		return qi.Retry
	case StateArchived:
		return qi.Archived
	case StateCompleted:
		return qi.Completed
	}
	return -1
}

// DayStats is one day's counts of a queue.
type DayStats struct {
	Date      time.Time
	Processed int
	Failed    int
}

// TaskInfo describes one queued task. Times are zero when they do not
// apply.
type TaskInfo struct {
	ID      string
	Type    string
	Queue   string
	State   string
	Payload []byte
	// Retried is how many times the task has run and failed.
	Retried       int
	MaxRetry      int
	LastError     string
	LastFailedAt  time.Time
	NextProcessAt time.Time
	CompletedAt   time.Time
}

func taskInfo(ti *asynq.TaskInfo) *TaskInfo {
	return &TaskInfo{
		ID: ti.ID, Type: ti.Type, Queue: ti.Queue, State: ti.State.String(), Payload: ti.Payload,
		Retried: ti.Retried, MaxRetry: ti.MaxRetry, LastError: ti.LastErr,
		LastFailedAt: ti.LastFailedAt, NextProcessAt: ti.NextProcessAt, CompletedAt: ti.CompletedAt,
	}
}

// Queues returns the names of the queues anything was enqueued to, sorted.
func (q *Client) Queues() ([]string, error) {
	names, err := q.insp.Queues()
	slices.Sort(names)
	return names, err
}

// QueueInfo returns a queue's sizes and today's counts;
// ErrQueueNotFound for a queue nothing was enqueued to.
func (q *Client) QueueInfo(queue string) (*QueueInfo, error) {
	known, err := q.insp.Queues()
	if err != nil {
		return nil, err
	}
	if !slices.Contains(known, queue) {
		// Asynq reports it as an untyped error.
		return nil, ErrQueueNotFound
	}
	info, err := q.insp.GetQueueInfo(queue)
	if err != nil {
		return nil, err
	}
	return &QueueInfo{
		Name: queue, Size: info.Size, Pending: info.Pending, Active: info.Active, Scheduled: info.Scheduled,
		Retry: info.Retry, Archived: info.Archived, Completed: info.Completed,
		Processed: info.Processed, Failed: info.Failed, Paused: info.Paused,
	}, nil
}

// History returns the counts of a queue's last days, newest first.
func (q *Client) History(queue string, days int) ([]DayStats, error) {
	stats, err := q.insp.History(queue, days)
	if err != nil {
		return nil, err
	}
	out := make([]DayStats, 0, len(stats))
	for _, d := range stats {
		out = append(out, DayStats{Date: d.Date, Processed: d.Processed, Failed: d.Failed})
	}
	return out, nil
}

// errState is ListTasks' error for a state it cannot list.
var errState = errors.New("jobs: unknown task state")

// ListTasks returns one page (from 1) of pageSize of queue's tasks in
// state (one of the State constants but aggregating). An unknown queue
// has none.
func (q *Client) ListTasks(queue, state string, page, pageSize int) ([]*TaskInfo, error) {
	list := map[string]func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		StatePending: q.insp.ListPendingTasks, StateActive: q.insp.ListActiveTasks,
		StateScheduled: q.insp.ListScheduledTasks, StateRetry: q.insp.ListRetryTasks,
		StateArchived: q.insp.ListArchivedTasks, StateCompleted: q.insp.ListCompletedTasks,
	}[state]
	if list == nil {
		return nil, errState
	}
	tasks, err := list(queue, asynq.Page(page), asynq.PageSize(pageSize))
	if errors.Is(err, asynq.ErrQueueNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	out := make([]*TaskInfo, len(tasks))
	for i, t := range tasks {
		out[i] = taskInfo(t)
	}
	return out, nil
}

// Task returns one task; ErrTaskNotFound or ErrQueueNotFound if there is
// none.
func (q *Client) Task(queue, id string) (*TaskInfo, error) {
	ti, err := q.insp.GetTaskInfo(queue, id)
	if err != nil {
		return nil, err
	}
	return taskInfo(ti), nil
}

// RunTask makes a scheduled, retrying or archived task pending.
func (q *Client) RunTask(queue, id string) error { return q.insp.RunTask(queue, id) }

// ArchiveTask archives a pending, scheduled or retrying task.
func (q *Client) ArchiveTask(queue, id string) error { return q.insp.ArchiveTask(queue, id) }

// DeleteTask deletes a task that is not running.
func (q *Client) DeleteTask(queue, id string) error { return q.insp.DeleteTask(queue, id) }

// PauseQueue stops the workers from taking the queue's tasks.
func (q *Client) PauseQueue(queue string) error { return q.insp.PauseQueue(queue) }

// ResumeQueue undoes PauseQueue.
func (q *Client) ResumeQueue(queue string) error { return q.insp.UnpauseQueue(queue) }
