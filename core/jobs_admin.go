package core

import (
	"context"
	"errors"
	"fmt"

	"github.com/hatchgrid/hatchgrid/core/jobjournal"
	"github.com/hibiken/asynq"
)

// DeleteTask deletes a task that is not running. In embedded mode the
// deletion is journaled before it returns, so the task does not come back
// after a crash. Unknown tasks and queues are asynq.ErrTaskNotFound and
// asynq.ErrQueueNotFound.
func (s *JobService) DeleteTask(ctx context.Context, queue, id string) error {
	if s.inspector == nil {
		return errors.New("jobs: the queue is not open")
	}
	if err := s.inspector.DeleteTask(queue, id); err != nil {
		return err
	}
	s.journalEnd(ctx, jobjournal.Delete, queue, id)
	return nil
}

// ArchiveTask archives a pending, scheduled or retrying task.
func (s *JobService) ArchiveTask(ctx context.Context, queue, id string) error {
	if s.inspector == nil {
		return errors.New("jobs: the queue is not open")
	}
	if err := s.inspector.ArchiveTask(queue, id); err != nil {
		return err
	}
	s.journalEnd(ctx, jobjournal.Archive, queue, id)
	return nil
}

// PurgeableStates are the task states PurgeTasks empties.
var PurgeableStates = []string{"pending", "scheduled", "retry", "archived", "completed"}

// PurgeTasks deletes every task of queue in state (one of
// PurgeableStates) and returns how many it deleted. In embedded mode each
// deletion is journaled, as DeleteTask's.
func (s *JobService) PurgeTasks(ctx context.Context, queue, state string) (int, error) {
	insp := s.inspector
	if insp == nil {
		return 0, errors.New("jobs: the queue is not open")
	}
	list := map[string]func(string, ...asynq.ListOption) ([]*asynq.TaskInfo, error){
		"pending": insp.ListPendingTasks, "scheduled": insp.ListScheduledTasks, "retry": insp.ListRetryTasks,
		"archived": insp.ListArchivedTasks, "completed": insp.ListCompletedTasks,
	}[state]
	if list == nil {
		return 0, fmt.Errorf("jobs: cannot purge %q tasks", state)
	}
	n := 0
	for {
		// Always the first page: what was on it is gone.
		tasks, err := list(queue, asynq.PageSize(500))
		if errors.Is(err, asynq.ErrQueueNotFound) {
			return n, nil
		}
		if err != nil {
			return n, err
		}
		deleted := 0
		for _, t := range tasks {
			err := s.DeleteTask(ctx, queue, t.ID)
			if errors.Is(err, asynq.ErrTaskNotFound) {
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
