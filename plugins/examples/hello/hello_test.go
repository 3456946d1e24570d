package hello_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/plugins/examples/hello"
)

// env is an App with the plugin, its router, a superuser's and a user's
// tokens.
type env struct {
	app        *core.App
	router     http.Handler
	superuser  string
	user       string
	userRecord *core.Record
}

func newEnv(t *testing.T, p *hello.Plugin, opts ...coretest.Option) *env {
	t.Helper()
	app := coretest.NewApp(t, append(opts, coretest.WithAppOptions(core.WithPlugins(p)))...)
	ctx := context.Background()
	var in core.CollectionInput
	if err := json.Unmarshal([]byte(`{"name":"users","type":"auth"}`), &in); err != nil {
		t.Fatal(err)
	}
	users, err := app.Collections().Create(ctx, &in)
	if err != nil {
		t.Fatal(err)
	}
	ann, err := app.Records().Create(core.AsSystem(ctx), users, map[string]any{"email": "ann@example.com", "password": "Secret12345", "passwordConfirm": "Secret12345"})
	if err != nil {
		t.Fatal(err)
	}
	su, err := app.Superusers().Upsert(ctx, "admin@example.com", "Secret12345")
	if err != nil {
		t.Fatal(err)
	}
	e := &env{app: app, router: apis.NewRouter(app), userRecord: ann}
	if e.superuser, err = app.Auth().NewAuthToken(su); err != nil {
		t.Fatal(err)
	}
	if e.user, err = app.Auth().NewAuthToken(ann); err != nil {
		t.Fatal(err)
	}
	return e
}

// do sends one request through the App's HTTP handler and decodes the
// JSON answer.
func (e *env) do(t *testing.T, method, path, body, token string) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	rec := httptest.NewRecorder()
	e.router.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s %s: %d, not JSON: %q", method, path, rec.Code, rec.Body.String())
	}
	return rec.Code, out
}

// greetings lists the greetings through the API, as token.
func (e *env) greetings(t *testing.T, token string) []map[string]any {
	t.Helper()
	code, body := e.do(t, http.MethodGet, "/api/hello/greetings", "", token)
	if code != http.StatusOK {
		t.Fatalf("GET /api/hello/greetings: %d %v", code, body)
	}
	raw, _ := body["items"].([]any)
	items := make([]map[string]any, 0, len(raw))
	for _, it := range raw {
		m, _ := it.(map[string]any)
		items = append(items, m)
	}
	return items
}

// wantError checks a PocketBase error body.
func wantError(t *testing.T, what string, code int, body map[string]any, wantStatus int) {
	t.Helper()
	_, isMap := body["data"].(map[string]any)
	msg, _ := body["message"].(string)
	if code != wantStatus || body["status"] != float64(wantStatus) || msg == "" || !isMap || len(body) != 3 {
		t.Fatalf("%s: %d %v, want a PocketBase %d error", what, code, body, wantStatus)
	}
}

// cronEntry returns app's cron entry name.
func cronEntry(app *core.App, name string) (core.CronEntry, bool) {
	for _, c := range app.Cron().Entries() {
		if c.Name == name {
			return c, true
		}
	}
	return core.CronEntry{}, false
}

func TestRoutes(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &hello.Plugin{}) // jobs run inline

	code, body := e.do(t, http.MethodGet, "/api/hello/greetings", "", "")
	wantError(t, "guest GET", code, body, http.StatusUnauthorized)
	code, body = e.do(t, http.MethodPost, "/api/hello/greetings", `{"to":"Ann"}`, "")
	wantError(t, "guest POST", code, body, http.StatusUnauthorized)
	code, body = e.do(t, http.MethodPost, "/api/hello/greetings", `{"to":"Ann"}`, e.user)
	wantError(t, "user POST", code, body, http.StatusForbidden)
	code, body = e.do(t, http.MethodGet, "/api/hello/greetings", "", "not-a-token")
	wantError(t, "bad token GET", code, body, http.StatusUnauthorized)

	code, body = e.do(t, http.MethodPost, "/api/hello/greetings", `{}`, e.superuser)
	wantError(t, "POST without to", code, body, http.StatusBadRequest)
	to, _ := body["data"].(map[string]any)["to"].(map[string]any)
	if to["code"] != "validation_required" {
		t.Fatalf("POST without to: %v", body)
	}
	if items := e.greetings(t, e.user); len(items) != 0 {
		t.Fatalf("greetings before any job: %v", items)
	}

	for _, name := range []string{"Ann", "Bob"} {
		code, body = e.do(t, http.MethodPost, "/api/hello/greetings", `{"to":"`+name+`"}`, e.superuser)
		if job, _ := body["job"].(string); code != http.StatusOK || job == "" {
			t.Fatalf("POST %s: %d %v", name, code, body)
		}
	}
	items := e.greetings(t, e.user)
	if len(items) != 2 {
		t.Fatalf("greetings = %v", items)
	}
	got := map[string]any{}
	for _, it := range items {
		got[it["to"].(string)] = it["message"]
	}
	if got["Ann"] != "Hello, Ann!" || got["Bob"] != "Hello, Bob!" {
		t.Fatalf("greetings = %v", items)
	}
}

func TestCronEntry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &hello.Plugin{Collection: "greetings", Every: time.Second, CronTo: "cron"}, coretest.WithJobWorkers())
	if entry, ok := cronEntry(e.app, hello.CronName); !ok || entry.Spec != "@every 1s" {
		t.Fatalf("cron entries = %+v", e.app.Cron().Entries())
	}
	// The plugin's collection is the one it was given, superusers only
	// through the records API.
	if code, body := e.do(t, http.MethodGet, "/api/collections/greetings/records", "", e.user); code == http.StatusOK {
		t.Fatalf("user listed the greetings collection: %v", body)
	}

	// A queued job (not inline: real workers) and the cron entry both
	// store greetings, seen through the API within a few seconds.
	if code, body := e.do(t, http.MethodPost, "/api/hello/greetings", `{"to":"queued"}`, e.superuser); code != http.StatusOK {
		t.Fatalf("POST: %d %v", code, body)
	}
	seen := map[string]bool{}
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline) && !(seen["queued"] && seen["cron"]); time.Sleep(100 * time.Millisecond) {
		for _, it := range e.greetings(t, e.user) {
			seen[it["to"].(string)] = true
		}
	}
	if !seen["queued"] || !seen["cron"] {
		t.Fatalf("greetings seen: %v, want queued and cron", seen)
	}
}

func TestNoCronEntry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &hello.Plugin{Every: -1})
	if _, ok := cronEntry(e.app, hello.CronName); ok {
		t.Fatalf("cron entries = %+v", e.app.Cron().Entries())
	}
}

// A second instance on the same database finds the collection the first
// created and serves its greetings.
func TestSecondInstance(t *testing.T) {
	t.Parallel()
	redisURL := coretest.NewRedisDB(t)
	prefix := "hgtest_" + strings.ReplaceAll(t.Name(), "/", "_")
	a := newEnv(t, &hello.Plugin{}, coretest.WithConfig(func(c *core.Config) { c.Redis.URL, c.Redis.Prefix = redisURL, prefix }))
	if code, body := a.do(t, http.MethodPost, "/api/hello/greetings", `{"to":"Ann"}`, a.superuser); code != http.StatusOK {
		t.Fatalf("POST on A: %d %v", code, body)
	}
	b := coretest.NewApp(t, coretest.InCluster(a.app), coretest.WithAppOptions(core.WithPlugins(&hello.Plugin{})))
	onB := &env{app: b, router: apis.NewRouter(b)}
	items := onB.greetings(t, a.user)
	if len(items) != 1 || items[0]["message"] != "Hello, Ann!" {
		t.Fatalf("greetings on B = %v", items)
	}
}
