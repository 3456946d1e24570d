package hatchgrid

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/datadir"
	"github.com/hatchgrid/hatchgrid/core/jobs"
	"github.com/spf13/cobra"
)

// jobsHelp says where each jobs command acts, for --help.
const jobsHelp = `Where the commands act:
  - With Redis (HG_REDIS_URL): on the live queue in Redis.
  - Embedded mode, beside a running server on the data dir: through that
    server's jobs API (its address is in <data_dir>/hatchgrid.lock), with a
    short-lived token of the oldest superuser minted from the database.
  - Embedded mode, no server running: on the queue saved in the data dir;
    the command holds the data dir's lock meanwhile (a server started then
    waits for nothing: it refuses to start), and retry and purge save
    their change for the next server.`

// jobsCommand lists, retries and purges queued jobs.
func (h *Hatchgrid) jobsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "jobs",
		Short: "List, retry or purge background jobs",
		Long:  "List, retry or purge background jobs.\n\n" + jobsHelp,
	}
	cmd.AddCommand(h.jobsLsCommand(), h.jobsRetryCommand(), h.jobsPurgeCommand())
	return cmd
}

func (h *Hatchgrid) jobsLsCommand() *cobra.Command {
	var queue, state string
	cmd := &cobra.Command{
		Use:   "ls",
		Short: "List jobs by queue and state (default: every queue and state)",
		Long:  "List jobs by queue and state (default: every queue and state).\n\n" + jobsHelp,
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			states := core.JobTaskStates
			if state != "" {
				if !slices.Contains(core.JobTaskStates, state) {
					return usageError{fmt.Errorf("--state must be one of %s, got %q", strings.Join(core.JobTaskStates, ", "), state)}
				}
				states = []string{state}
			}
			return h.withJobs(cmd, "jobs ls", func(ctx context.Context, q jobsQueue) error {
				queues, err := jobQueues(ctx, q, queue)
				if err != nil {
					return err
				}
				w := tabwriter.NewWriter(h.stdout, 0, 4, 2, ' ', 0)
				fmt.Fprintln(w, "QUEUE\tSTATE\tID\tTYPE\tRETRIED\tLAST ERROR")
				for _, name := range queues {
					for _, s := range states {
						for page := 1; ; page++ {
							tasks, total, err := q.Tasks(ctx, name, s, page, core.MaxPerPage)
							if err != nil {
								return err
							}
							for _, t := range tasks {
								fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%d/%d\t%s\n", name, s, t.ID, t.Type, t.Retried, t.MaxRetry, oneLine(t.LastError))
							}
							if len(tasks) == 0 || page*core.MaxPerPage >= total {
								break
							}
						}
					}
				}
				return w.Flush()
			})
		},
	}
	cmd.Flags().StringVar(&queue, "queue", "", "only this queue")
	cmd.Flags().StringVar(&state, "state", "", "only this state: "+strings.Join(core.JobTaskStates, ", "))
	return cmd
}

func (h *Hatchgrid) jobsRetryCommand() *cobra.Command {
	var queue string
	cmd := &cobra.Command{
		Use:   "retry ID --queue QUEUE",
		Short: "Run a scheduled, retrying or archived job now",
		Long:  "Run a scheduled, retrying or archived job now.\n\n" + jobsHelp,
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if queue == "" {
				return usageError{errors.New("--queue is required")}
			}
			return h.withJobs(cmd, "jobs retry", func(ctx context.Context, q jobsQueue) error {
				if _, err := jobQueues(ctx, q, queue); err != nil {
					return err
				}
				if err := q.RunTask(ctx, queue, a[0]); err != nil {
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

func (h *Hatchgrid) jobsPurgeCommand() *cobra.Command {
	var queue, state string
	cmd := &cobra.Command{
		Use:   "purge --queue QUEUE --state STATE",
		Short: "Delete every job of a queue in a state (" + strings.Join(core.PurgeableStates, ", ") + ")",
		Long:  "Delete every job of a queue in a state (" + strings.Join(core.PurgeableStates, ", ") + ").\n\n" + jobsHelp,
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if queue == "" {
				return usageError{errors.New("--queue is required")}
			}
			if !slices.Contains(core.PurgeableStates, state) {
				return usageError{fmt.Errorf("--state must be one of %s, got %q", strings.Join(core.PurgeableStates, ", "), state)}
			}
			return h.withJobs(cmd, "jobs purge", func(ctx context.Context, q jobsQueue) error {
				if _, err := jobQueues(ctx, q, queue); err != nil {
					return err
				}
				n, err := q.PurgeTasks(ctx, queue, state)
				if err != nil {
					return err
				}
				fmt.Fprintf(h.stdout, "Deleted %d %s jobs from queue %s.\n", n, state, queue)
				return nil
			})
		},
	}
	cmd.Flags().StringVar(&queue, "queue", "", "the queue (required)")
	cmd.Flags().StringVar(&state, "state", "", "the state (required): "+strings.Join(core.PurgeableStates, ", "))
	return cmd
}

// withJobs runs fn on the queue the command acts on (see jobsHelp).
func (h *Hatchgrid) withJobs(cmd *cobra.Command, command string, fn func(ctx context.Context, q jobsQueue) error) error {
	cfg, err := h.loadConfig(cmd)
	if err != nil {
		return err
	}
	ctx := cmd.Context()
	if ctx == nil {
		ctx = context.Background()
	}
	if cfg.Redis.URL != "" {
		return h.withConfiguredApp(ctx, cfg, nil, func(ctx context.Context, app *core.App) error {
			return fn(ctx, app.Jobs())
		})
	}
	holder, held, err := datadir.Current(cfg.DataDir)
	if err != nil {
		return err
	}
	if held {
		if holder.Command != "serve" || holder.Address == "" {
			return fmt.Errorf("data dir %s is in use by %s; try again when it is done (or listening)", cfg.DataDir, holder)
		}
		fmt.Fprintf(h.stderr, "Embedded mode: asking the server running on this data dir: %s.\n", holder)
		return h.withConfiguredApp(ctx, cfg, nil, func(ctx context.Context, app *core.App) error {
			q, err := newServerQueue(ctx, app, holder.Address)
			if err != nil {
				return err
			}
			return fn(ctx, q)
		})
	}
	lock, err := datadir.Acquire(cfg.DataDir, command)
	if err != nil {
		return err
	}
	defer lock.Release()
	fmt.Fprintln(h.stderr, "Embedded mode, no server running: the queue as saved in the data dir.")
	return h.withConfiguredApp(ctx, cfg, []core.Option{core.WithEmbeddedQueueOwner()}, func(ctx context.Context, app *core.App) error {
		return fn(ctx, app.Jobs())
	})
}

// jobQueues returns [only] if it names a queue, every queue if it is empty.
func jobQueues(ctx context.Context, q jobsQueue, only string) ([]string, error) {
	names, err := q.QueueNames(ctx)
	if err != nil || only == "" {
		return names, err
	}
	if !slices.Contains(names, only) {
		return nil, fmt.Errorf("no queue %q (queues: %s)", only, strings.Join(names, ", "))
	}
	return []string{only}, nil
}

func taskError(err error, id string) error {
	if errors.Is(err, jobs.ErrTaskNotFound) || errors.Is(err, jobs.ErrQueueNotFound) {
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
