package hatchgrid

import (
	"context"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/jobs"
	"github.com/hatchgrid/hatchgrid/core/jobsclient"
)

// jobsQueue is what the jobs commands act on: the JobService of a queue
// this process has open (Redis, or the embedded queue saved in the data
// dir), or a jobsclient.Client of the server that runs the embedded queue.
type jobsQueue interface {
	QueueNames(ctx context.Context) ([]string, error)
	// Tasks returns one page of queue's tasks in state and how many tasks
	// are in that state.
	Tasks(ctx context.Context, queue, state string, page, perPage int) ([]*jobs.TaskInfo, int, error)
	RunTask(ctx context.Context, queue, id string) error
	PurgeTasks(ctx context.Context, queue, state string) (int, error)
}

var (
	_ jobsQueue = (*core.JobService)(nil)
	_ jobsQueue = (*jobsclient.Client)(nil)
)

// serverTokenTTL bounds the token a jobs command mints for itself.
const serverTokenTTL = 5 * time.Minute

// newServerQueue asks the server running on the data dir at addr, as the
// oldest superuser with a token that lasts a few minutes.
func newServerQueue(ctx context.Context, app *core.App, addr string) (*jobsclient.Client, error) {
	token, err := app.Superusers().NewLocalToken(ctx, serverTokenTTL)
	if err != nil {
		return nil, err
	}
	return jobsclient.New(addr, token)
}
