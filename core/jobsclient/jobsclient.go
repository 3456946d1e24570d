// Package jobsclient speaks the jobs API (/api/hg/jobs) of a Hatchgrid
// server running on the same data dir, for the jobs CLI commands in
// embedded mode: there the serving process owns the in-process queue, so
// a command can only reach it through that server. It offers the same
// methods as core's JobService for what the commands do, so the CLI
// treats both alike.
//
// It is a leaf package (it never imports core, apis or echo): the caller
// mints the token and finds the address, and the answers are decoded
// into core/jobs types.
package jobsclient

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

	"github.com/hatchgrid/hatchgrid/core/jobs"
)

// Client asks one server's jobs API with one token.
type Client struct {
	base  string
	token string
	hc    *http.Client
}

// New returns a Client of the server listening on addr (host:port, as
// the data dir's lock file has it; an unspecified host is this machine)
// that authenticates with token.
func New(addr, token string) (*Client, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("the server's address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return &Client{base: "http://" + net.JoinHostPort(host, port), token: token,
		hc: &http.Client{Timeout: 30 * time.Second}}, nil
}

// do sends a request and decodes a 2xx answer into out; other answers
// are errors with the server's message, 404 as jobs.ErrTaskNotFound.
func (c *Client) do(ctx context.Context, method, path string, out any) error {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", c.token)
	res, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("ask the server at %s: %w", c.base, err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return err
	}
	if res.StatusCode == http.StatusNotFound {
		return jobs.ErrTaskNotFound
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

// QueueNames returns the server's queues, as JobService.QueueNames.
func (c *Client) QueueNames(ctx context.Context) ([]string, error) {
	var qs []struct{ Name string }
	if err := c.do(ctx, http.MethodGet, "/api/hg/jobs/queues", &qs); err != nil {
		return nil, err
	}
	names := make([]string, len(qs))
	for i, x := range qs {
		names[i] = x.Name
	}
	return names, nil
}

// task is a task as the jobs API answers it (the fields the CLI shows).
type task struct {
	ID        string `json:"id"`
	Type      string `json:"type"`
	Queue     string `json:"queue"`
	State     string `json:"state"`
	Retried   int    `json:"retried"`
	MaxRetry  int    `json:"maxRetry"`
	LastError string `json:"lastError"`
}

// Tasks returns one page of queue's tasks in state and how many tasks are
// in that state, as JobService.Tasks. Payloads are left out.
func (c *Client) Tasks(ctx context.Context, queue, state string, page, perPage int) ([]*jobs.TaskInfo, int, error) {
	var res struct {
		Items      []task `json:"items"`
		TotalItems int    `json:"totalItems"`
	}
	path := fmt.Sprintf("/api/hg/jobs/queues/%s/tasks?state=%s&page=%d&perPage=%d",
		url.PathEscape(queue), url.QueryEscape(state), page, perPage)
	if err := c.do(ctx, http.MethodGet, path, &res); err != nil {
		return nil, 0, err
	}
	out := make([]*jobs.TaskInfo, len(res.Items))
	for i, t := range res.Items {
		out[i] = &jobs.TaskInfo{ID: t.ID, Type: t.Type, Queue: t.Queue, State: t.State,
			Retried: t.Retried, MaxRetry: t.MaxRetry, LastError: t.LastError}
	}
	return out, res.TotalItems, nil
}

// RunTask makes a scheduled, retrying or archived task pending, as
// JobService.RunTask.
func (c *Client) RunTask(ctx context.Context, queue, id string) error {
	return c.do(ctx, http.MethodPost, fmt.Sprintf("/api/hg/jobs/queues/%s/tasks/%s/run", url.PathEscape(queue), url.PathEscape(id)), nil)
}

// PurgeTasks deletes every task of queue in state, as
// JobService.PurgeTasks.
func (c *Client) PurgeTasks(ctx context.Context, queue, state string) (int, error) {
	var res struct{ Deleted int }
	err := c.do(ctx, http.MethodDelete, fmt.Sprintf("/api/hg/jobs/queues/%s/tasks?state=%s", url.PathEscape(queue), url.QueryEscape(state)), &res)
	return res.Deleted, err
}
