package jobsclient_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/jobs"
	"github.com/hatchgrid/hatchgrid/core/jobsclient"
)

// TestClient: the client sends its token, decodes the jobs API's answers
// into core/jobs types, and reports a 404 as jobs.ErrTaskNotFound and
// other failures with the server's message.
func TestClient(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "tok" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"status":401,"message":"No token."}`))
			return
		}
		switch r.Method + " " + r.URL.Path {
		case "GET /api/hg/jobs/queues":
			_, _ = w.Write([]byte(`[{"name":"critical"},{"name":"my q"}]`))
		case "GET /api/hg/jobs/queues/my q/tasks":
			if r.URL.Query().Get("state") != "retry" || r.URL.Query().Get("perPage") != "2" {
				t.Errorf("query %s", r.URL.RawQuery)
			}
			_, _ = w.Write([]byte(`{"page":1,"perPage":2,"totalItems":5,"items":[{"id":"a","type":"x","queue":"my q","state":"retry","retried":2,"maxRetry":3,"lastError":"boom"}]}`))
		case "DELETE /api/hg/jobs/queues/my q/tasks":
			_, _ = w.Write([]byte(`{"deleted":4}`))
		default:
			w.WriteHeader(http.StatusNotFound)
		}
	}))
	defer srv.Close()
	ctx := context.Background()
	c, err := jobsclient.New(strings.TrimPrefix(srv.URL, "http://"), "tok")
	if err != nil {
		t.Fatal(err)
	}
	names, err := c.QueueNames(ctx)
	if err != nil || strings.Join(names, ",") != "critical,my q" {
		t.Fatalf("queues %v %v", names, err)
	}
	tasks, total, err := c.Tasks(ctx, "my q", "retry", 1, 2)
	if err != nil || total != 5 || len(tasks) != 1 {
		t.Fatalf("tasks %+v %d %v", tasks, total, err)
	}
	if got := tasks[0]; !reflect.DeepEqual(got, &jobs.TaskInfo{ID: "a", Type: "x", Queue: "my q", State: "retry", Retried: 2, MaxRetry: 3, LastError: "boom"}) {
		t.Fatalf("task %+v", got)
	}
	if n, err := c.PurgeTasks(ctx, "my q", "retry"); err != nil || n != 4 {
		t.Fatalf("purge %d %v", n, err)
	}
	if err := c.RunTask(ctx, "my q", "gone"); !errors.Is(err, jobs.ErrTaskNotFound) {
		t.Fatalf("run a missing task: %v", err)
	}
	bad, _ := jobsclient.New(strings.TrimPrefix(srv.URL, "http://"), "wrong")
	if _, err := bad.QueueNames(ctx); err == nil || !strings.Contains(err.Error(), "401: No token.") {
		t.Fatalf("bad token: %v", err)
	}
	if _, err := jobsclient.New("no port", "tok"); err == nil {
		t.Fatal("an address without a port is accepted")
	}
}
