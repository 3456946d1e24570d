package core

import (
	"context"
	"errors"
	"slices"

	"github.com/hatchgrid/hatchgrid/core/jobs"
)

// JobTaskStates are the task states the jobs API and CLI list.
var JobTaskStates = []string{jobs.StatePending, jobs.StateActive, jobs.StateScheduled, jobs.StateRetry, jobs.StateArchived, jobs.StateCompleted}

// PurgeableStates are the task states PurgeTasks empties.
var PurgeableStates = []string{jobs.StatePending, jobs.StateScheduled, jobs.StateRetry, jobs.StateArchived, jobs.StateCompleted}

// jobHistoryDays is how many days of counts Queues returns per queue.
const jobHistoryDays = 7

// open returns the queue's client, or an "unavailable" error in an App
// that has none (before Bootstrap; a CLI beside a running server).
func (s *JobService) open() (*jobs.Client, error) {
	if s.queue == nil {
		return nil, Errorf(CodeUnavailable, "The job queue is not available.")
	}
	return s.queue, nil
}

// QueueNames returns the core queues, then any other queue jobs were
// enqueued to, by name.
func (s *JobService) QueueNames(context.Context) ([]string, error) {
	q, err := s.open()
	if err != nil {
		return nil, err
	}
	names := []string{QueueCritical, QueueDefault, QueueLow}
	known, err := q.Queues()
	if err != nil {
		return nil, err
	}
	for _, k := range known {
		if !slices.Contains(names, k) {
			names = append(names, k)
		}
	}
	return names, nil
}

// checkQueue returns the client if queue is one of QueueNames, and a
// "not found" error if not.
func (s *JobService) checkQueue(ctx context.Context, queue string) (*jobs.Client, error) {
	names, err := s.QueueNames(ctx)
	if err != nil {
		return nil, err
	}
	if !slices.Contains(names, queue) {
		return nil, Errorf(CodeNotFound, "The requested queue wasn't found.")
	}
	return s.queue, nil
}

// Queues returns every queue of QueueNames with its sizes, today's counts
// and the last week's. A core queue nothing was enqueued to yet is empty.
func (s *JobService) Queues(ctx context.Context) ([]*jobs.QueueInfo, error) {
	names, err := s.QueueNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]*jobs.QueueInfo, 0, len(names))
	for _, name := range names {
		info, err := s.QueueInfo(ctx, name)
		if errors.Is(err, jobs.ErrQueueNotFound) {
			out = append(out, &jobs.QueueInfo{Name: name, History: []jobs.DayStats{}})
			continue
		}
		if err != nil {
			return nil, err
		}
		if info.History, err = s.queue.History(name, jobHistoryDays); err != nil {
			return nil, err
		}
		out = append(out, info)
	}
	return out, nil
}

// QueueInfo returns one queue's sizes and today's counts;
// jobs.ErrQueueNotFound for a queue nothing was enqueued to.
func (s *JobService) QueueInfo(_ context.Context, queue string) (*jobs.QueueInfo, error) {
	q, err := s.open()
	if err != nil {
		return nil, err
	}
	return q.QueueInfo(queue)
}

// Tasks returns one page (from 1) of perPage of queue's tasks in state
// (one of JobTaskStates) and how many tasks are in that state. An unknown
// queue is a "not found" error, an unknown state an "invalid" one.
func (s *JobService) Tasks(ctx context.Context, queue, state string, page, perPage int) ([]*jobs.TaskInfo, int, error) {
	q, err := s.checkQueue(ctx, queue)
	if err != nil {
		return nil, 0, err
	}
	if !slices.Contains(JobTaskStates, state) {
		return nil, 0, Invalid("Invalid task state.", map[string]FieldError{"state": {
			Code: "validation_in_invalid", Message: "Must be one of pending, active, scheduled, retry, archived, completed.",
		}})
	}
	info, err := q.QueueInfo(queue)
	if errors.Is(err, jobs.ErrQueueNotFound) {
		return nil, 0, nil
	}
	if err != nil {
		return nil, 0, err
	}
	tasks, err := q.ListTasks(queue, state, page, perPage)
	return tasks, info.Count(state), err
}

// Task returns one task; jobs.ErrTaskNotFound or jobs.ErrQueueNotFound if
// there is none.
func (s *JobService) Task(_ context.Context, queue, id string) (*jobs.TaskInfo, error) {
	q, err := s.open()
	if err != nil {
		return nil, err
	}
	return q.Task(queue, id)
}
