package apis_test

import (
	"context"
	"errors"
	"net/http"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

func fastJobs(c *core.Config) {
	c.Jobs.PollInterval = 50 * time.Millisecond
	c.Jobs.OutboxInterval = 200 * time.Millisecond
	c.Jobs.Concurrency = 2
}

type taskList struct {
	TotalItems int `json:"totalItems"`
	Items      []struct {
		ID        string         `json:"id"`
		Type      string         `json:"type"`
		Payload   map[string]any `json:"payload"`
		State     string         `json:"state"`
		LastError string         `json:"lastError"`
	} `json:"items"`
}

// waitTasks polls the tasks of state in queue until cond holds.
func waitTasks(t *testing.T, e *env, queue, state string, cond func(taskList) bool) taskList {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		rec := e.do(scenario{path: "/api/hg/jobs/queues/" + queue + "/tasks?state=" + state, token: "superuser"})
		if rec.Code != http.StatusOK {
			t.Fatalf("list %s: %d %s", state, rec.Code, rec.Body.String())
		}
		var l taskList
		mustJSON(t, rec.Body.String(), &l)
		if cond(l) {
			return l
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting on %s tasks: %s", state, rec.Body.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestJobsAPI(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t, coretest.WithConfig(fastJobs), coretest.WithJobWorkers())
	var succeed atomic.Bool
	var runs atomic.Int32
	app.Jobs().Register("flaky", func(ctx context.Context, job *core.Job) error {
		runs.Add(1)
		if succeed.Load() {
			return nil
		}
		return errors.New("boom")
	}, core.JobMaxRetry(0), core.JobQueue(core.QueueLow))
	if err := app.Cron().Add("nightly", "0 3 * * *", func(context.Context, *core.Job) error { return nil }); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, app)
	id, err := app.Jobs().Enqueue(context.Background(), "flaky", map[string]any{"n": 1})
	if err != nil {
		t.Fatal(err)
	}

	archived := waitTasks(t, e, "low", "archived", func(l taskList) bool { return l.TotalItems == 1 })
	if got := archived.Items[0]; got.ID != id || got.Type != "flaky" || got.Payload["n"] != float64(1) ||
		got.State != "archived" || got.LastError != "boom" {
		t.Fatalf("archived task = %+v", got)
	}

	e.run(t, []scenario{
		{name: "guest queues", path: "/api/hg/jobs/queues", wantStatus: 401},
		{name: "guest run", method: "POST", path: "/api/hg/jobs/queues/low/tasks/" + id + "/run", wantStatus: 401},
		{name: "guest status", path: "/api/hg/jobs/status", wantStatus: 401},
		{name: "queues", path: "/api/hg/jobs/queues", token: "superuser", wantStatus: 200,
			wantContent: []string{`"name":"critical"`, `"name":"default"`, `"name":"low"`, `"archived":1`, `"failed":1`, `"history":[{"date":`}},
		{name: "unknown queue", path: "/api/hg/jobs/queues/nope/tasks", token: "superuser", wantStatus: 404},
		{name: "unknown queue pause", method: "POST", path: "/api/hg/jobs/queues/nope/pause", token: "superuser", wantStatus: 404},
		{name: "unknown task", method: "POST", path: "/api/hg/jobs/queues/low/tasks/nope/run", token: "superuser", wantStatus: 404},
		{name: "unknown task delete", method: "DELETE", path: "/api/hg/jobs/queues/low/tasks/nope", token: "superuser", wantStatus: 404},
		{name: "bad state", path: "/api/hg/jobs/queues/low/tasks?state=lost", token: "superuser", wantStatus: 400,
			wantContent: []string{`"state":{"code":"validation_in_invalid"`}},
		{name: "empty core queue", path: "/api/hg/jobs/queues/critical/tasks?state=archived", token: "superuser", wantStatus: 200,
			wantContent: []string{`"totalItems":0`, `"items":[]`}},
		{name: "cron", path: "/api/hg/jobs/cron", token: "superuser", wantStatus: 200,
			wantContent: []string{`"name":"nightly"`, `"spec":"0 3 * * *"`, `"jobType":"cron:nightly"`, `"next":"`}},
		{name: "status", path: "/api/hg/jobs/status", token: "superuser", wantStatus: 200,
			wantContent: []string{`"mode":"embedded"`, `"workers":true`, `"outboxLen":0`, `"flaky"`}},
		{name: "pause", method: "POST", path: "/api/hg/jobs/queues/low/pause", token: "superuser", wantStatus: 204},
		{name: "paused", path: "/api/hg/jobs/queues", token: "superuser", wantStatus: 200, wantContent: []string{`"paused":true`}},
		{name: "pause twice", method: "POST", path: "/api/hg/jobs/queues/low/pause", token: "superuser", wantStatus: 400},
		{name: "resume", method: "POST", path: "/api/hg/jobs/queues/low/resume", token: "superuser", wantStatus: 204},
		{name: "resumed", path: "/api/hg/jobs/queues", token: "superuser", wantStatus: 200, notContent: []string{`"paused":true`}},
	})

	succeed.Store(true)
	rec := e.do(scenario{method: "POST", path: "/api/hg/jobs/queues/low/tasks/" + id + "/run", token: "superuser"})
	if rec.Code != http.StatusNoContent {
		t.Fatalf("run: %d %s", rec.Code, rec.Body.String())
	}
	waitTasks(t, e, "low", "archived", func(l taskList) bool { return l.TotalItems == 0 })
	waitTasks(t, e, "low", "pending", func(l taskList) bool { return l.TotalItems == 0 })
	deadline := time.Now().Add(5 * time.Second)
	for runs.Load() < 2 {
		if time.Now().After(deadline) {
			t.Fatalf("the task ran %d times, want 2", runs.Load())
		}
		time.Sleep(20 * time.Millisecond)
	}

	// Archive and delete a task that waits.
	later, err := app.Jobs().Enqueue(context.Background(), "flaky", "not json {", core.ProcessIn(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	e.run(t, []scenario{
		{name: "scheduled", path: "/api/hg/jobs/queues/low/tasks?state=scheduled", token: "superuser", wantStatus: 200,
			wantContent: []string{`"id":"` + later + `"`, `"state":"scheduled"`, `"nextProcessAt":"`}},
		{name: "archive", method: "POST", path: "/api/hg/jobs/queues/low/tasks/" + later + "/archive", token: "superuser", wantStatus: 204},
		{name: "archived", path: "/api/hg/jobs/queues/low/tasks?state=archived", token: "superuser", wantStatus: 200,
			wantContent: []string{`"id":"` + later + `"`}},
		{name: "delete", method: "DELETE", path: "/api/hg/jobs/queues/low/tasks/" + later, token: "superuser", wantStatus: 204},
		{name: "deleted", path: "/api/hg/jobs/queues/low/tasks?state=archived", token: "superuser", wantStatus: 200,
			wantContent: []string{`"totalItems":0`}},
	})
}

// TestJobsAPIStringPayload shows a payload that is not JSON as a string.
func TestJobsAPIStringPayload(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t, coretest.WithConfig(fastJobs), coretest.WithJobWorkers())
	e := newEnv(t, app)
	if _, err := app.Jobs().Enqueue(context.Background(), "later", []byte("not json {"), core.ProcessIn(time.Hour)); err != nil {
		t.Fatal(err)
	}
	e.run(t, []scenario{
		{name: "scheduled", path: "/api/hg/jobs/queues/default/tasks?state=scheduled&perPage=5", token: "superuser", wantStatus: 200,
			wantContent: []string{`"payload":"not json {"`, `"perPage":5`, `"totalItems":1`}},
	})
}

// TestJobsAPIStaff lets a user with a read policy on admin:jobs look but
// not change anything.
func TestJobsAPIStaff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t, coretest.WithJobQueue()))
	mustCollection(t, e.app, `{"name":"users","type":"auth","fields":[]}`)
	user := account(t, e.app, "users", "staff@example.com")
	token := tokenOf(t, e.app, user)
	e.run(t, []scenario{
		{name: "user without policy", path: "/api/hg/jobs/queues", token: token, wantStatus: 403},
		{name: "grant read", method: "POST", path: "/api/hg/policies", token: "superuser", wantStatus: 200,
			body: `{"subject":"record:` + user.Collection().ID + `/` + user.ID() + `","resource":"admin:jobs","action":"read"}`},
		{name: "staff reads queues", path: "/api/hg/jobs/queues", token: token, wantStatus: 200, wantContent: []string{`"name":"low"`}},
		{name: "staff reads status", path: "/api/hg/jobs/status", token: token, wantStatus: 200, wantContent: []string{`"workers":false`}},
		{name: "staff may not pause", method: "POST", path: "/api/hg/jobs/queues/low/pause", token: token, wantStatus: 403},
	})
}

// TestJobsAPIPayloadsHiddenFromStaff: a holder of admin:jobs read sees the
// payload only of job types that opted in (core.JobShowPayload); a
// superuser sees every payload.
func TestJobsAPIPayloadsHiddenFromStaff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t, coretest.WithConfig(fastJobs), coretest.WithJobWorkers()))
	e.app.Jobs().Register("secretive", func(context.Context, *core.Job) error { return nil })
	e.app.Jobs().Register("open", func(context.Context, *core.Job) error { return nil }, core.JobShowPayload())
	ctx := context.Background()
	for _, typ := range []string{"secretive", "open", "unregistered"} {
		if _, err := e.app.Jobs().Enqueue(ctx, typ, map[string]any{"value": typ + "-payload"}, core.ProcessIn(time.Hour)); err != nil {
			t.Fatal(err)
		}
	}
	mustCollection(t, e.app, `{"name":"users","type":"auth","fields":[]}`)
	user := account(t, e.app, "users", "staff@example.com")
	if _, err := e.app.Authz().AddPolicy(ctx, authz.Policy{Subject: authz.RecordSubject(user.Collection().ID, user.ID()), Resource: authz.AdminJobs, Action: "read"}); err != nil {
		t.Fatal(err)
	}
	path := "/api/hg/jobs/queues/default/tasks?state=scheduled"
	e.run(t, []scenario{
		{name: "staff", path: path, token: tokenOf(t, e.app, user), wantStatus: 200,
			wantContent: []string{`"value":"open-payload"`, `"type":"secretive","payload":null,"payloadHidden":true`, `"type":"unregistered","payload":null,"payloadHidden":true`},
			notContent:  []string{"secretive-payload", "unregistered-payload"}},
		{name: "superuser", path: path, token: "superuser", wantStatus: 200,
			wantContent: []string{"open-payload", "secretive-payload", "unregistered-payload"}, notContent: []string{"payloadHidden"}},
	})
}
