package core

import (
	"context"
	"errors"
	"slices"

	"github.com/hatchgrid/hatchgrid/core/jobjournal"
	"github.com/hatchgrid/hatchgrid/core/jobs"
)

// taskError turns the queue's answer to a change of a task into a core
// error: "not found" (still jobs.ErrTaskNotFound to errors.Is) or
// "invalid" for a task in a state that does not allow it.
func taskError(err error) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, jobs.ErrTaskNotFound) || errors.Is(err, jobs.ErrQueueNotFound):
		return &Error{Code: CodeNotFound, Message: "The requested task wasn't found.", Err: err}
	default:
		return Wrap(err, CodeInvalid, "The task can't be changed in its current state.")
	}
}

// RunTask makes a scheduled, retrying or archived task of queue pending.
func (s *JobService) RunTask(ctx context.Context, queue, id string) error {
	q, err := s.checkQueue(ctx, queue)
	if err != nil {
		return err
	}
	return taskError(q.RunTask(queue, id))
}

// DeleteTask deletes a task that is not running. In embedded mode the
// deletion is journaled before it returns, so the task does not come back
// after a crash.
func (s *JobService) DeleteTask(ctx context.Context, queue, id string) error {
	q, err := s.checkQueue(ctx, queue)
	if err != nil {
		return err
	}
	return taskError(s.deleteTask(ctx, q, queue, id))
}

func (s *JobService) deleteTask(ctx context.Context, q *jobs.Client, queue, id string) error {
	if err := q.DeleteTask(queue, id); err != nil {
		return err
	}
	s.journalEnd(ctx, jobjournal.Delete, queue, id)
	return nil
}

// ArchiveTask archives a pending, scheduled or retrying task, journaled
// as DeleteTask's deletion.
func (s *JobService) ArchiveTask(ctx context.Context, queue, id string) error {
	q, err := s.checkQueue(ctx, queue)
	if err != nil {
		return err
	}
	if err := q.ArchiveTask(queue, id); err != nil {
		return taskError(err)
	}
	s.journalEnd(ctx, jobjournal.Archive, queue, id)
	return nil
}

// PurgeTasks deletes every task of queue in state (one of
// PurgeableStates) and returns how many it deleted. In embedded mode each
// deletion is journaled, as DeleteTask's.
func (s *JobService) PurgeTasks(ctx context.Context, queue, state string) (int, error) {
	q, err := s.checkQueue(ctx, queue)
	if err != nil {
		return 0, err
	}
	if !slices.Contains(PurgeableStates, state) {
		return 0, Invalid("Invalid task state.", map[string]FieldError{"state": {
			Code: "validation_in_invalid", Message: "Must be one of pending, scheduled, retry, archived, completed.",
		}})
	}
	n := 0
	for {
		// Always the first page: what was on it is gone.
		tasks, err := q.ListTasks(queue, state, 1, 500)
		if err != nil {
			return n, err
		}
		deleted := 0
		for _, t := range tasks {
			err := s.deleteTask(ctx, q, queue, t.ID)
			if errors.Is(err, jobs.ErrTaskNotFound) {
				continue // it moved on meanwhile
			}
			if err != nil {
				return n, err
			}
			deleted++
		}
		n += deleted
		if len(tasks) < 500 || deleted == 0 {
			return n, nil
		}
	}
}

// PauseQueue stops the workers of every instance from taking queue's
// tasks until ResumeQueue.
func (s *JobService) PauseQueue(ctx context.Context, queue string) error {
	q, err := s.checkQueue(ctx, queue)
	if err != nil {
		return err
	}
	if err := q.PauseQueue(queue); err != nil {
		return Wrap(err, CodeInvalid, "The queue can't be changed in its current state.")
	}
	return nil
}

// ResumeQueue undoes PauseQueue.
func (s *JobService) ResumeQueue(ctx context.Context, queue string) error {
	q, err := s.checkQueue(ctx, queue)
	if err != nil {
		return err
	}
	if err := q.ResumeQueue(queue); err != nil {
		return Wrap(err, CodeInvalid, "The queue can't be changed in its current state.")
	}
	return nil
}
