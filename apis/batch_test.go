package apis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// newBatchEnv is an env with batch requests enabled (changed by adjust, if
// given) and two collections: public "posts" and superuser-only "locked".
func newBatchEnv(t *testing.T, adjust func(*core.BatchSettings)) *env {
	t.Helper()
	e := newEnv(t, coretest.NewApp(t))
	s := e.app.Settings()
	s.Batch.Enabled = true
	// A wall-clock budget for the whole batch: PocketBase's 3 s default
	// is shorter than one bcrypt hash under the race detector on a busy
	// 2-core machine (4-5 s seen), so a batch creating an auth record
	// timed out instead of failing the way the test expects. Tests of the
	// timeout set their own.
	s.Batch.Timeout = 120
	if adjust != nil {
		adjust(&s.Batch)
	}
	if err := e.app.SaveSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	mustCollection(t, e.app, `{"name":"posts","listRule":"","viewRule":"","createRule":"","updateRule":"","deleteRule":"",
		"fields":[{"name":"title","type":"text","required":true},{"name":"views","type":"number"}]}`)
	mustCollection(t, e.app, `{"name":"locked","fields":[{"name":"title","type":"text"}]}`)
	return e
}

// titles returns the titles of the stored records of collection, sorted.
func titles(t *testing.T, app *core.App, collection string) string {
	t.Helper()
	c, err := app.Collections().Find(collection)
	if err != nil {
		t.Fatal(err)
	}
	res, err := app.Records().List(core.AsSystem(context.Background()), c, core.RecordQuery{Sort: "title"})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, r := range res.Items {
		out = append(out, r.GetString("title"))
	}
	return strings.Join(out, ",")
}

func seedPost(t *testing.T, app *core.App, id, title string) {
	t.Helper()
	c, _ := app.Collections().Find("posts")
	if _, err := app.Records().Create(core.AsSystem(context.Background()), c, map[string]any{"id": id, "title": title}); err != nil {
		t.Fatal(err)
	}
}

func TestBatchDisabled(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	mustCollection(t, e.app, `{"name":"posts","createRule":"","fields":[{"name":"title","type":"text"}]}`)
	body := `{"requests":[{"method":"POST","url":"/api/collections/posts/records","body":{"title":"x"}}]}`
	e.run(t, []scenario{
		{name: "guest", method: "POST", path: "/api/batch", body: body, wantStatus: 403,
			wantContent: []string{`"data":{}`, `"message":"Batch requests are not allowed."`}},
		{name: "superuser", method: "POST", path: "/api/batch", body: body, token: "superuser", wantStatus: 403},
		{name: "enable", method: "PATCH", path: "/api/settings", body: `{"batch":{"enabled":true}}`, token: "superuser", wantStatus: 200},
		{name: "enabled", method: "POST", path: "/api/batch", body: body, wantStatus: 200, wantContent: []string{`"title":"x"`}},
	})
}

func TestBatchRequestValidation(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, func(b *core.BatchSettings) { b.MaxRequests = 2 })
	invalid := `"message":"Invalid batch request data."`
	unreadable := `"message":"Failed to read the submitted batch data."`
	e.run(t, []scenario{
		{name: "empty body", method: "POST", path: "/api/batch", wantStatus: 400,
			wantContent: []string{invalid, `"data":{"requests":{"code":"validation_required","message":"Cannot be blank."}}`}},
		{name: "no requests", method: "POST", path: "/api/batch", body: `{"requests":[]}`, wantStatus: 400, wantContent: []string{invalid}},
		{name: "too many", method: "POST", path: "/api/batch", wantStatus: 400,
			body:        `{"requests":[{"method":"GET","url":"/a"},{"method":"GET","url":"/b"},{"method":"GET","url":"/c"}]}`,
			wantContent: []string{invalid, `"requests":{"code":"validation_length_too_long","message":"The length must be no more than 2."}`}},
		{name: "bad items", method: "POST", path: "/api/batch", wantStatus: 400,
			body: `{"requests":[{},{"method":"post","url":"` + strings.Repeat("a", 2001) + `"}]}`,
			wantContent: []string{invalid,
				`"0":{"method":{"code":"validation_required","message":"Cannot be blank."},"url":{"code":"validation_required"`,
				`"1":{"method":{"code":"validation_in_invalid","message":"Must be a valid value."},"url":{"code":"validation_length_too_long"`}},
		{name: "malformed json", method: "POST", path: "/api/batch", body: `{"requests":[`, wantStatus: 400, wantContent: []string{unreadable, `"data":{}`}},
		{name: "requests not an array", method: "POST", path: "/api/batch", body: `{"requests":{}}`, wantStatus: 400, wantContent: []string{unreadable}},
		{name: "item body not an object", method: "POST", path: "/api/batch", wantStatus: 400, wantContent: []string{unreadable},
			body: `{"requests":[{"method":"POST","url":"/api/collections/posts/records","body":[1]}]}`},
		{name: "text/plain", method: "POST", path: "/api/batch", body: `{"requests":[]}`, headers: map[string]string{"Content-Type": "text/plain"},
			wantStatus: 400, wantContent: []string{unreadable}},
		{name: "unknown action", method: "POST", path: "/api/batch", wantStatus: 400,
			body: `{"requests":[{"method":"GET","url":"/api/health"}]}`,
			wantContent: []string{`"message":"Batch transaction failed."`,
				`"data":{"requests":{"0":{"code":"batch_request_failed","message":"Batch request failed.","response":{"data":{},"message":"Something went wrong while processing your request.","status":400}}}}`}},
		{name: "get is not a batch action", method: "POST", path: "/api/batch", wantStatus: 400,
			body: `{"requests":[{"method":"GET","url":"/api/collections/posts/records"}]}`, wantContent: []string{`"batch_request_failed"`}},
	})
}

func TestBatchBodyLimit(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, func(b *core.BatchSettings) { b.MaxBodySize = 10 })
	e.run(t, []scenario{{name: "over maxBodySize", method: "POST", path: "/api/batch", wantStatus: 413,
		body: `{"requests":[{"method":"POST","url":"/api/collections/posts/records","body":{"title":"x"}}]}`}})
	if got := titles(t, e.app, "posts"); got != "" {
		t.Fatalf("posts = %q", got)
	}
}

func TestBatchSuccess(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, nil)
	seedPost(t, e.app, "aaaaaaaaaaaaaaa", "old")
	seedPost(t, e.app, "bbbbbbbbbbbbbbb", "doomed")
	seedPost(t, e.app, "ccccccccccccccc", "upsert me")
	body := `{"requests":[
		{"method":"POST","url":"/api/collections/posts/records","body":{"title":"new","views":"7"}},
		{"method":"POST","url":"/api/collections/posts/records","body":{"id":"ddddddddddddddd","title":"with id"}},
		{"method":"PATCH","url":"/api/collections/posts/records/aaaaaaaaaaaaaaa","body":{"title":"edited","views+":2}},
		{"method":"DELETE","url":"/api/collections/posts/records/bbbbbbbbbbbbbbb"},
		{"method":"PUT","url":"/api/collections/posts/records","body":{"id":"ccccccccccccccc","title":"upserted"}},
		{"method":"PUT","url":"/api/collections/posts/records","body":{"id":"eeeeeeeeeeeeeee","title":"upsert new"}},
		{"method":"PATCH","url":"/api/collections/posts/records/ddddddddddddddd","body":{"views":1}}
	]}`
	e.run(t, []scenario{{name: "mixed", method: "POST", path: "/api/batch", body: body, wantStatus: 200,
		check: func(t *testing.T, rec *httptest.ResponseRecorder) {
			var results []struct {
				Status int            `json:"status"`
				Body   map[string]any `json:"body"`
			}
			if err := json.Unmarshal(rec.Body.Bytes(), &results); err != nil {
				t.Fatal(err)
			}
			wantStatus := []int{200, 200, 200, 204, 200, 200, 200}
			wantTitle := []string{"new", "with id", "edited", "", "upserted", "upsert new", "with id"}
			if len(results) != len(wantStatus) {
				t.Fatalf("results = %s", rec.Body.String())
			}
			for i, r := range results {
				if r.Status != wantStatus[i] || (wantTitle[i] != "" && r.Body["title"] != wantTitle[i]) {
					t.Errorf("result %d = %d %v, want %d %q", i, r.Status, r.Body, wantStatus[i], wantTitle[i])
				}
			}
			if results[3].Body != nil || !strings.Contains(rec.Body.String(), `{"body":null,"status":204}`) {
				t.Errorf("delete result: %s", rec.Body.String())
			}
			if results[0].Body["views"] != 7.0 || results[2].Body["views"] != 2.0 || results[4].Body["id"] != "ccccccccccccccc" {
				t.Errorf("bodies: %s", rec.Body.String())
			}
		}}})
	if got := titles(t, e.app, "posts"); got != "edited,new,upsert new,upserted,with id" {
		t.Fatalf("posts after batch = %q", got)
	}
}

func TestBatchRollsBack(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, nil)
	seedPost(t, e.app, "aaaaaaaaaaaaaaa", "keep")
	seedPost(t, e.app, "bbbbbbbbbbbbbbb", "survivor")
	var committed []string
	e.app.OnRecordCreateCommitted("posts").BindFunc(func(ev *core.RecordEvent) error {
		committed = append(committed, ev.Record.GetString("title"))
		return ev.Next()
	})
	body := `{"requests":[
		{"method":"POST","url":"/api/collections/posts/records","body":{"title":"batch1"}},
		{"method":"PATCH","url":"/api/collections/posts/records/aaaaaaaaaaaaaaa","body":{"title":"changed"}},
		{"method":"DELETE","url":"/api/collections/posts/records/bbbbbbbbbbbbbbb"},
		{"method":"POST","url":"/api/collections/posts/records","body":{"title":""}},
		{"method":"POST","url":"/api/collections/posts/records","body":{"title":"never"}}
	]}`
	e.run(t, []scenario{{name: "fourth fails", method: "POST", path: "/api/batch", body: body, wantStatus: 400,
		wantContent: []string{`"message":"Batch transaction failed."`,
			`"data":{"requests":{"3":{"code":"batch_request_failed","message":"Batch request failed.","response":{"data":{"title":{"code":"validation_required","message":"Cannot be blank."}},"message":"Failed to create record.","status":400}}}}`},
		notContent: []string{`"0":`, `"4":`}}})
	if got := titles(t, e.app, "posts"); got != "keep,survivor" {
		t.Fatalf("posts after a failed batch = %q", got)
	}
	if len(committed) != 0 {
		t.Fatalf("committed hooks fired for a rolled back batch: %v", committed)
	}

	// On success the committed hooks fire once the batch has committed:
	// each sees every record of the batch.
	posts, _ := e.app.Collections().Find("posts")
	e.app.OnRecordCreateCommitted("posts").BindFunc(func(ev *core.RecordEvent) error {
		res, err := e.app.Records().List(core.AsSystem(ev.Context), posts, core.RecordQuery{Filter: `title ~ "ok"`})
		if err != nil || res.TotalItems != 2 {
			t.Errorf("committed hook saw %v records (%v) before the commit", res, err)
		}
		return ev.Next()
	})
	e.run(t, []scenario{{name: "success", method: "POST", path: "/api/batch", wantStatus: 200,
		body: `{"requests":[{"method":"POST","url":"/api/collections/posts/records","body":{"title":"ok1"}},
			{"method":"POST","url":"/api/collections/posts/records","body":{"title":"ok2"}}]}`}})
	if strings.Join(committed, ",") != "ok1,ok2" {
		t.Fatalf("committed = %v", committed)
	}
}

func TestBatchRules(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, nil)
	mustCollection(t, e.app, `{"name":"guarded","createRule":"@request.headers.x_token = 'abc' && @request.context = 'batch'","fields":[{"name":"title","type":"text"}]}`)
	mixed := `{"requests":[
		{"method":"POST","url":"/api/collections/posts/records","body":{"title":"public"}},
		{"method":"POST","url":"/api/collections/locked/records","body":{"title":"secret"},"headers":{"Authorization":"ignored"}}
	]}`
	only := `"response":{"data":{},"message":"Only superusers can perform this action.","status":403}`
	e.run(t, []scenario{
		{name: "guest on superuser-only collection", method: "POST", path: "/api/batch", body: mixed, wantStatus: 400,
			wantContent: []string{`"1":{"code":"batch_request_failed"`, only}, notContent: []string{`"0":`}},
		{name: "item token does not authenticate", method: "POST", path: "/api/batch", wantStatus: 400, wantContent: []string{only},
			body: `{"requests":[{"method":"POST","url":"/api/collections/locked/records","body":{"title":"x"},"headers":{"Authorization":"` + e.token + `"}}]}`},
		{name: "update of a missing record is 404", method: "POST", path: "/api/batch", wantStatus: 400, wantContent: []string{`"status":404`},
			body:  `{"requests":[{"method":"PATCH","url":"/api/collections/posts/records/aaaaaaaaaaaaaaa","body":{}}]}`,
			token: "nope"},
		{name: "item headers reach the rules", method: "POST", path: "/api/batch", wantStatus: 200,
			body: `{"requests":[{"method":"POST","url":"/api/collections/guarded/records","body":{"title":"h"},"headers":{"X-Token":"abc"}}]}`},
		{name: "outer headers reach the rules", method: "POST", path: "/api/batch", wantStatus: 200, headers: map[string]string{"X-Token": "abc"},
			body: `{"requests":[{"method":"POST","url":"/api/collections/guarded/records","body":{"title":"outer"}}]}`},
		{name: "missing header", method: "POST", path: "/api/batch", wantStatus: 400, wantContent: []string{`"response":{"data":{},"message":"Failed to create record.","status":400}`},
			body: `{"requests":[{"method":"POST","url":"/api/collections/guarded/records","body":{"title":"no"}}]}`},
	})
	if got := titles(t, e.app, "posts"); got != "" {
		t.Fatalf("posts after a refused batch = %q", got)
	}
	e.run(t, []scenario{{name: "superuser", method: "POST", path: "/api/batch", body: mixed, token: "superuser", wantStatus: 200,
		wantContent: []string{`"title":"public"`, `"title":"secret"`}}})
	if got := titles(t, e.app, "locked"); got != "secret" {
		t.Fatalf("locked = %q", got)
	}
}

func TestBatchMultipart(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, nil)
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	mw.WriteField("@jsonPayload", `{"requests":[{"method":"POST","url":"/api/collections/posts/records","body":{"title":"form"}}]}`)
	mw.Close()
	req := httptest.NewRequest("POST", "/api/batch", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	rec := httptest.NewRecorder()
	e.router.ServeHTTP(rec, req)
	if rec.Code != 200 || !strings.Contains(rec.Body.String(), `"title":"form"`) {
		t.Fatalf("multipart batch = %d %s", rec.Code, rec.Body.String())
	}
}

func TestBatchTimeout(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, func(b *core.BatchSettings) { b.Timeout = 1 })
	// The second create waits past the batch deadline.
	e.app.OnRecordCreate("posts").BindFunc(func(ev *core.RecordEvent) error {
		if ev.Record.GetString("title") == "slow" {
			<-ev.Context.Done()
		}
		return ev.Next()
	})
	e.run(t, []scenario{{name: "timeout", method: "POST", path: "/api/batch", wantStatus: 400,
		body: `{"requests":[{"method":"POST","url":"/api/collections/posts/records","body":{"title":"fast"}},
			{"method":"POST","url":"/api/collections/posts/records","body":{"title":"slow"}}]}`,
		wantContent: []string{`"data":{}`, `"message":"Batch transaction failed."`}}})
	if got := titles(t, e.app, "posts"); got != "" {
		t.Fatalf("posts after a timed out batch = %q", got)
	}
}
