package hatchgrid

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hibiken/asynq"
	"github.com/spf13/cobra"
)

// jobsCommand lists, retries and purges queued jobs. It opens the queue
// without starting workers, as every command but serve does. With Redis it
// works on the live queue; in embedded mode the queue belongs to the
// serving process, so ls shows it as last saved to the data dir, retry
// sends a copy of the task through the outbox (the server dispatches it)
// and purge is refused.
func (h *Hatchgrid) jobsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List, retry or purge background jobs",
	}
	cmd.AddCommand(h.jobsLsCommand(), h.jobsRetryCommand(), h.jobsPurgeCommand())
	return cmd
}

func (h *Hatchgrid) jobsLsCommand() *cobra.Command {
	var queue, state string
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List jobs by queue and state (default: every queue and state)",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			states := apis.JobTaskStates
			if state != "" {
				if !slices.Contains(apis.JobTaskStates, state) {
					return usageError{fmt.Errorf("--state must be one of %s, got %q", strings.Join(apis.JobTaskStates, ", "), state)}
				}
				states = []string{state}
			}
			return h.withJobs(cmd, func(ctx context.Context, app *core.App, insp *asynq.Inspector) error {
				queues, err := jobQueues(insp, queue)
				if err != nil {
					return err
				}
				if app.Jobs().Mode() == core.JobsModeEmbedded {
					fmt.Fprintln(h.stderr, "Embedded mode: the queue as last saved to the data dir by the server.")
				}
				w := tabwriter.NewWriter(h.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "QUEUE\tSTATE\tID\tTYPE\tRETRIED\tLAST ERROR")
				for _, q := range queues {
					for _, s := range states {
						tasks, _, err := apis.ListJobTasks(insp, q, s, 1, core.MaxPerPage)
						if err != nil {
							return err
						}
						for _, t := range tasks {
							fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d/%d\t%s\n", q, s, t.ID, t.Type, t.Retried, t.MaxRetry, oneLine(t.LastErr))
						}
					}
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&queue, "queue", "", "only this queue")
	cmd.Flags().StringVar(&state, "state", "", "only this state: "+strings.Join(apis.JobTaskStates, ", "))
	return cmd
}

func (h *Hatchgrid) jobsRetryCommand() *cobra.Command {
	var queue string
	cmd := &cobra.Command{
		Use:   "retry ID --queue QUEUE",
		Short: "Run a scheduled, retrying or archived job now",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if queue == "" {
				return usageError{errors.New("--queue is required")}
			}
			return h.withJobs(cmd, func(ctx context.Context, app *core.App, insp *asynq.Inspector) error {
				if _, err := jobQueues(insp, queue); err != nil {
					return err
				}
				if app.Jobs().Mode() == core.JobsModeEmbedded {
					return h.retryEmbedded(ctx, app, insp, queue, a[0])
				}
				if err := insp.RunTask(queue, a[0]); err != nil {
					return taskError(err, a[0])
				}
				fmt.Fprintf(h.stdout, "Queued job %s to run now.\n", a[0])
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&queue, "queue", "", "the job's queue (required)")
	return cmd
}

// retryEmbedded enqueues a copy of the task through the outbox, the only
// way a process without workers hands work to an embedded-mode server.
func (h *Hatchgrid) retryEmbedded(ctx context.Context, app *core.App, insp *asynq.Inspector, queue, id string) error {
	t, err := insp.GetTaskInfo(queue, id)
	if err != nil {
		return taskError(err, id)
	}
	newID, err := app.Jobs().Enqueue(ctx, t.Type, t.Payload, asynq.Queue(queue), asynq.MaxRetry(t.MaxRetry))
	if err != nil {
		return err
	}
	fmt.Fprintf(h.stdout, "Embedded mode: queued a copy of job %s as %s; the server runs it (job %s stays in its %s list).\n",
		id, newID, id, t.State)
	return nil
}

func (h *Hatchgrid) jobsPurgeCommand() *cobra.Command {
	var queue, state string
	purgeable := []string{"pending", "scheduled", "retry", "archived", "completed"}
	cmd := &cobra.Command{
		Use:   "purge --queue QUEUE --state STATE",
		Short: "Delete every job of a queue in a state (" + strings.Join(purgeable, ", ") + ")",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if queue == "" {
				return usageError{errors.New("--queue is required")}
			}
			if !slices.Contains(purgeable, state) {
				return usageError{fmt.Errorf("--state must be one of %s, got %q", strings.Join(purgeable, ", "), state)}
			}
			return h.withJobs(cmd, func(ctx context.Context, app *core.App, insp *asynq.Inspector) error {
				if _, err := jobQueues(insp, queue); err != nil {
					return err
				}
				if app.Jobs().Mode() == core.JobsModeEmbedded {
					return errors.New("embedded mode: the queue belongs to the serving process and would not keep the change; " +
						"delete jobs through the jobs API (/api/hg/jobs) or set HG_REDIS_URL")
				}
				purge := map[string]func(string) (int, error){
					"pending": insp.DeleteAllPendingTasks, "scheduled": insp.DeleteAllScheduledTasks,
					"retry": insp.DeleteAllRetryTasks, "archived": insp.DeleteAllArchivedTasks,
					"completed": insp.DeleteAllCompletedTasks,
				}[state]
				n, err := purge(queue)
				if err != nil && !errors.Is(err, asynq.ErrQueueNotFound) {
					return err
				}
				fmt.Fprintf(h.stdout, "Deleted %d %s jobs from queue %s.\n", n, state, queue)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&queue, "queue", "", "the queue (required)")
	cmd.Flags().StringVar(&state, "state", "", "the state (required): "+strings.Join(purgeable, ", "))
	return cmd
}

// withJobs runs fn on a bootstrapped App's queue; the App starts no
// workers.
func (h *Hatchgrid) withJobs(cmd *cobra.Command, fn func(ctx context.Context, app *core.App, insp *asynq.Inspector) error) error {
	return h.withApp(cmd, func(ctx context.Context, app *core.App) error {
		insp := app.Jobs().Inspector()
		if insp == nil {
			return errors.New("the job queue is not open")
		}
		return fn(ctx, app, insp)
	})
}

// jobQueues returns [only] if it names a queue, every queue if it is empty.
func jobQueues(insp *asynq.Inspector, only string) ([]string, error) {
	names, err := apis.JobQueueNames(insp)
	if err != nil || only == "" {
		return names, err
	}
	if !slices.Contains(names, only) {
		return nil, fmt.Errorf("no queue %q (queues: %s)", only, strings.Join(names, ", "))
	}
	return []string{only}, nil
}

func taskError(err error, id string) error {
	if errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound) {
		return fmt.Errorf("no job %s in that queue", id)
	}
	return err
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\n", " ")
	if len(s) > 80 {
		s = s[:77] + "..."
	}
	return s
}
