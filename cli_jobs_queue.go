package hatchgrid

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hibiken/asynq"
)

// jobsQueue is what the jobs commands act on.
type jobsQueue interface {
	queues() ([]string, error)
	// list returns one page (of core.MaxPerPage) of queue's tasks in state
	// and how many tasks are in that state.
	list(ctx context.Context, queue, state string, page int) ([]jobRow, int, error)
	run(ctx context.Context, queue, id string) error
	purge(ctx context.Context, queue, state string) (int, error)
}

// jobRow is one task as the commands print it.
type jobRow struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Retried   int    `json:"retried"`
	MaxRetry  int    `json:"maxRetry"`
	LastError string `json:"lastError"`
}

// inspectorQueue works on a queue this process has open: Redis, or the
// embedded queue saved in the data dir.
type inspectorQueue struct{ app *core.App }

func (q inspectorQueue) insp() *asynq.Inspector { return q.app.Jobs().Inspector() }

func (q inspectorQueue) queues() ([]string, error) { return apis.JobQueueNames(q.insp()) }

func (q inspectorQueue) list(_ context.Context, queue, state string, page int) ([]jobRow, int, error) {
	tasks, total, err := apis.ListJobTasks(q.insp(), queue, state, page, core.MaxPerPage)
	rows := make([]jobRow, 0, len(tasks))
	for _, t := range tasks {
		rows = append(rows, jobRow{ID: t.ID, Type: t.Type, Retried: t.Retried, MaxRetry: t.MaxRetry, LastError: t.LastErr})
	}
	return rows, total, err
}

func (q inspectorQueue) run(_ context.Context, queue, id string) error {
	return q.insp().RunTask(queue, id)
}

func (q inspectorQueue) purge(ctx context.Context, queue, state string) (int, error) {
	return q.app.Jobs().PurgeTasks(ctx, queue, state)
}

// serverQueue asks the server running on the data dir, through its jobs
// API, as the oldest superuser with a token that lasts a few minutes.
type serverQueue struct {
	base  string
	token string
	hc    *http.Client
}

// serverTokenTTL bounds the token a jobs command mints for itself.
const serverTokenTTL = 5 * time.Minute

func newServerQueue(ctx context.Context, app *core.App, addr string) (*serverQueue, error) {
	token, err := app.Superusers().NewLocalToken(ctx, serverTokenTTL)
	if err != nil {
		return nil, err
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("the server's address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return &serverQueue{base: "http://" + net.JoinHostPort(host, port), token: token,
		hc: &http.Client{Timeout: 30 * time.Second}}, nil
}

// do sends a request and decodes a 2xx answer into out; other answers
// are errors with the server's message, 404 as asynq.ErrTaskNotFound.
func (q *serverQueue) do(method, path string, out any) error {
	req, err := http.NewRequest(method, q.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", q.token)
	res, err := q.hc.Do(req)
	if err != nil {
		return fmt.Errorf("ask the server at %s: %w", q.base, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return err
	}
	if res.StatusCode == http.StatusNotFound {
		return asynq.ErrTaskNotFound
	}
	if res.StatusCode/100 != 2 {
		var e struct{ Message string }
		_ = json.Unmarshal(body, &e)
		return fmt.Errorf("the server answered %d: %s", res.StatusCode, strings.TrimSpace(e.Message))
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(body, out)
}

func (q *serverQueue) queues() ([]string, error) {
	var qs []struct{ Name string }
	if err := q.do(http.MethodGet, "/api/hg/jobs/queues", &qs); err != nil {
		return nil, err
	}
	names := make([]string, len(qs))
	for i, x := range qs {
		names[i] = x.Name
	}
	return names, nil
}

func (q *serverQueue) list(_ context.Context, queue, state string, page int) ([]jobRow, int, error) {
	var res core.ListResult[jobRow]
	path := fmt.Sprintf("/api/hg/jobs/queues/%s/tasks?state=%s&page=%d&perPage=%d",
		url.PathEscape(queue), url.QueryEscape(state), page, core.MaxPerPage)
	if err := q.do(http.MethodGet, path, &res); err != nil {
		return nil, 0, err
	}
	return res.Items, res.TotalItems, nil
}

func (q *serverQueue) run(_ context.Context, queue, id string) error {
	return q.do(http.MethodPost, fmt.Sprintf("/api/hg/jobs/queues/%s/tasks/%s/run", url.PathEscape(queue), url.PathEscape(id)), nil)
}

func (q *serverQueue) purge(_ context.Context, queue, state string) (int, error) {
	var res struct{ Deleted int }
	err := q.do(http.MethodDelete, fmt.Sprintf("/api/hg/jobs/queues/%s/tasks?state=%s", url.PathEscape(queue), url.QueryEscape(state)), &res)
	return res.Deleted, err
}
