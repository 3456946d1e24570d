package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/apis/apitest"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/plugins/webhooks"
)

const secret = "s3cret-for-tests-only"

// receiver records the deliveries it gets and fails the first failFirst.
type receiver struct {
	t         *testing.T
	mu        sync.Mutex
	failFirst int
	calls     int
	got       []map[string]any
	headers   []http.Header
	srv       *httptest.Server
}

func newReceiver(t *testing.T, failFirst int) *receiver {
	r := &receiver{t: t, failFirst: failFirst}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		r.calls++
		if got, want := req.Header.Get(webhooks.HeaderSignature), webhooks.Sign(secret, body); got != want {
			t.Errorf("signature = %q, want %q", got, want)
		}
		if r.calls <= r.failFirst {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		var m map[string]any
		if err := json.Unmarshal(body, &m); err != nil {
			t.Errorf("body: %v", err)
		}
		r.got = append(r.got, m)
		r.headers = append(r.headers, req.Header.Clone())
		w.WriteHeader(http.StatusNoContent)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiver) snapshot() (int, []map[string]any, []http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls, append([]map[string]any(nil), r.got...), append([]http.Header(nil), r.headers...)
}

// env is the API kit's Env over an App with the plugin and a posts
// collection anyone may write.
type env struct {
	*apitest.Env
	app   *core.App
	token string
	posts *core.Collection
}

// allowLoopback lets webhooks call the test's receivers, on 127.0.0.1:
// private and loopback addresses are refused by default.
func allowLoopback() coretest.Option {
	return coretest.WithConfig(func(c *core.Config) { c.Outbound.WebhooksPrivate = true })
}

func newEnv(t *testing.T, p *webhooks.Plugin, opts ...coretest.Option) *env {
	t.Helper()
	opts = append([]coretest.Option{allowLoopback(), coretest.WithAppOptions(core.WithPlugins(p))}, opts...)
	kit := apitest.New(t, opts...)
	posts := coretest.CreateCollection(t, kit.App, `{"name":"posts","createRule":"","updateRule":"","viewRule":"","fields":[{"name":"title","type":"text"}]}`)
	return &env{Env: kit, app: kit.App, token: kit.SuperuserToken, posts: posts}
}

func (e *env) do(t *testing.T, method, path, body, token string) (int, string) {
	t.Helper()
	res := e.Do(apitest.Request{Method: method, Path: path, Body: body, Token: token})
	return res.Code, res.String()
}

func (e *env) createWebhook(t *testing.T, url string) string {
	t.Helper()
	code, body := e.do(t, http.MethodPost, "/api/hg/webhooks",
		`{"collection":"posts","events":["create","update"],"url":"`+url+`","secret":"`+secret+`"}`, e.token)
	if code != 200 {
		t.Fatalf("create webhook: %d %s", code, body)
	}
	if strings.Contains(body, secret) || strings.Contains(body, `"secret"`) {
		t.Fatalf("create returned the secret: %s", body)
	}
	var w struct{ ID string }
	apitest.Decode(t, body, &w)
	return w.ID
}

type deliveryRow struct {
	ID           string
	Event        string
	RecordID     string
	Attempt      int
	Status       string
	ResponseCode int
	DurationMs   int64
	Error        string
}

func (e *env) deliveries(t *testing.T, id string) []deliveryRow {
	t.Helper()
	code, body := e.do(t, http.MethodGet, "/api/hg/webhooks/"+id+"/deliveries", "", e.token)
	if code != 200 {
		t.Fatalf("deliveries: %d %s", code, body)
	}
	var out apitest.List[deliveryRow]
	apitest.Decode(t, body, &out)
	return out.Items
}

func TestCreateIsDeliveredSigned(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t, 0)
	e := newEnv(t, &webhooks.Plugin{})
	id := e.createWebhook(t, recv.srv.URL)

	code, body := e.do(t, http.MethodPost, "/api/collections/posts/records", `{"title":"Hello"}`, "")
	if code != 200 {
		t.Fatalf("create record: %d %s", code, body)
	}
	rec := apitest.Record{}
	apitest.Decode(t, body, &rec)

	calls, got, headers := recv.snapshot()
	if calls != 1 || len(got) != 1 {
		t.Fatalf("receiver got %d calls, %d deliveries", calls, len(got))
	}
	r, _ := got[0]["record"].(map[string]any)
	if got[0]["event"] != "create" || got[0]["collection"] != "posts" || r["id"] != rec.ID() || r["title"] != "Hello" {
		t.Fatalf("body = %v", got[0])
	}
	if headers[0].Get(webhooks.HeaderEvent) != "create" || headers[0].Get(webhooks.HeaderDelivery) == "" {
		t.Fatalf("headers = %v", headers[0])
	}
	rows := e.deliveries(t, id)
	if len(rows) != 1 || rows[0].Status != webhooks.StatusDelivered || rows[0].ResponseCode != 204 || rows[0].Attempt != 1 || rows[0].RecordID != rec.ID() {
		t.Fatalf("deliveries = %+v", rows)
	}

	// Events not configured are not delivered.
	if code, body := e.do(t, http.MethodDelete, "/api/collections/posts/records/"+rec.ID(), "", e.token); code != 204 {
		t.Fatalf("delete: %d %s", code, body)
	}
	if calls, _, _ := recv.snapshot(); calls != 1 {
		t.Fatalf("delete was delivered: %d calls", calls)
	}

	// Manual redelivery sends the same body again.
	code, body = e.do(t, http.MethodPost, "/api/hg/webhooks/deliveries/"+rows[0].ID+"/redeliver", "", e.token)
	if code != 200 {
		t.Fatalf("redeliver: %d %s", code, body)
	}
	calls, got, _ = recv.snapshot()
	if calls != 2 || got[1]["event"] != "create" {
		t.Fatalf("redelivery: %d calls, %v", calls, got)
	}
	if rows := e.deliveries(t, id); len(rows) != 2 {
		t.Fatalf("deliveries after redelivery = %+v", rows)
	}
}

func TestFailingReceiverIsRetried(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t, 3)
	e := newEnv(t, &webhooks.Plugin{RetryDelay: func(int) time.Duration { return 10 * time.Millisecond }},
		coretest.WithJobWorkers(),
		coretest.WithConfig(func(c *core.Config) { c.Jobs.PollInterval = 50 * time.Millisecond }))
	id := e.createWebhook(t, recv.srv.URL)

	if code, body := e.do(t, http.MethodPost, "/api/collections/posts/records", `{"title":"Retry me"}`, ""); code != 200 {
		t.Fatalf("create record: %d %s", code, body)
	}
	var rows []deliveryRow
	coretest.Poll(30*time.Second, func() bool {
		rows = e.deliveries(t, id)
		return len(rows) == 4
	})
	if len(rows) != 4 {
		t.Fatalf("deliveries = %+v", rows)
	}
	for i, r := range rows {
		want, code := webhooks.StatusFailed, 500
		if i == 3 {
			want, code = webhooks.StatusDelivered, 204
		}
		if r.Attempt != i+1 || r.Status != want || r.ResponseCode != code {
			t.Errorf("attempt %d = %+v", i+1, r)
		}
	}
	if calls, got, _ := recv.snapshot(); calls != 4 || len(got) != 1 || got[0]["event"] != "create" {
		t.Fatalf("receiver: %d calls, %v", calls, got)
	}
}

func TestRolledBackCreateSendsNothing(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t, 0)
	e := newEnv(t, &webhooks.Plugin{})
	id := e.createWebhook(t, recv.srv.URL)

	errUndo := errors.New("undo")
	err := e.app.InTx(context.Background(), func(ctx context.Context) error {
		if _, err := e.app.Records().Create(core.AsSystem(ctx), e.posts, map[string]any{"title": "Gone"}); err != nil {
			return err
		}
		return errUndo
	})
	if !errors.Is(err, errUndo) {
		t.Fatalf("InTx: %v", err)
	}
	var outbox int64
	if err := e.app.ReadDB(context.Background()).Table("_outbox").Count(&outbox).Error; err != nil {
		t.Fatal(err)
	}
	if calls, _, _ := recv.snapshot(); calls != 0 || outbox != 0 {
		t.Fatalf("rolled-back create: %d calls, %d outbox rows", calls, outbox)
	}
	if rows := e.deliveries(t, id); len(rows) != 0 {
		t.Fatalf("deliveries = %+v", rows)
	}
}

func TestAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &webhooks.Plugin{})
	id := e.createWebhook(t, "http://127.0.0.1:1/hook")

	for _, path := range []string{"/api/hg/webhooks", "/api/hg/webhooks/" + id} {
		code, body := e.do(t, http.MethodGet, path, "", e.token)
		if code != 200 || !strings.Contains(body, id) || strings.Contains(body, secret) || strings.Contains(body, `"secret"`) {
			t.Fatalf("GET %s: %d %s", path, code, body)
		}
	}
	code, body := e.do(t, http.MethodPatch, "/api/hg/webhooks/"+id, `{"enabled":false,"secret":"another-secret"}`, e.token)
	if code != 200 || strings.Contains(body, "another-secret") || !strings.Contains(body, `"enabled":false`) {
		t.Fatalf("PATCH: %d %s", code, body)
	}

	for _, bad := range []string{
		`{"collection":"posts","events":["create"],"url":"ftp://example.com/x","secret":"x"}`,
		`{"collection":"posts","events":["create"],"url":"file:///etc/passwd","secret":"x"}`,
		`{"collection":"posts","events":["explode"],"url":"https://example.com","secret":"x"}`,
		`{"collection":"nope","events":["create"],"url":"https://example.com","secret":"x"}`,
		`{"collection":"posts","events":["create"],"url":"https://example.com"}`,
	} {
		if code, body := e.do(t, http.MethodPost, "/api/hg/webhooks", bad, e.token); code != 400 {
			t.Errorf("create %s: %d %s", bad, code, body)
		}
	}

	if code, _ := e.do(t, http.MethodGet, "/api/hg/webhooks", "", ""); code != 401 {
		t.Errorf("guest list: %d", code)
	}
	if code, _ := e.do(t, http.MethodDelete, "/api/hg/webhooks/"+id, "", e.token); code != 204 {
		t.Errorf("delete: %d", code)
	}
	if code, _ := e.do(t, http.MethodGet, "/api/hg/webhooks/"+id, "", e.token); code != 404 {
		t.Errorf("view deleted: %d", code)
	}
}

func TestDefaultRetryDelay(t *testing.T) {
	t.Parallel()
	for n, want := range map[int]time.Duration{0: time.Second, 1: 2 * time.Second, 5: 32 * time.Second, 12: time.Hour, 40: time.Hour} {
		if got := webhooks.DefaultRetryDelay(n); got != want {
			t.Errorf("DefaultRetryDelay(%d) = %v, want %v", n, got, want)
		}
	}
}

// The enabled webhooks are cached; every change through the API applies
// from the next record write on.
func TestWebhookChangesApplyToTheNextWrite(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t, 0)
	e := newEnv(t, &webhooks.Plugin{})
	create := func(want int) {
		t.Helper()
		if code, body := e.do(t, http.MethodPost, "/api/collections/posts/records", `{"title":"x"}`, ""); code != 200 {
			t.Fatalf("create record: %d %s", code, body)
		}
		if calls, _, _ := recv.snapshot(); calls != want {
			t.Fatalf("receiver got %d calls, want %d", calls, want)
		}
	}
	create(0) // caches "no webhooks"
	id := e.createWebhook(t, recv.srv.URL)
	create(1)
	if code, body := e.do(t, http.MethodPatch, "/api/hg/webhooks/"+id, `{"enabled":false}`, e.token); code != 200 {
		t.Fatalf("disable: %d %s", code, body)
	}
	create(1)
	if code, body := e.do(t, http.MethodPatch, "/api/hg/webhooks/"+id, `{"enabled":true}`, e.token); code != 200 {
		t.Fatalf("enable: %d %s", code, body)
	}
	create(2)
	if code, body := e.do(t, http.MethodDelete, "/api/hg/webhooks/"+id, "", e.token); code != 204 {
		t.Fatalf("delete: %d %s", code, body)
	}
	create(2)
}

// A webhook created on one instance is called for writes on another from
// the next request: the cache is cleared across the cluster.
func TestWebhookChangesReachTheCluster(t *testing.T) {
	t.Parallel()
	recv := newReceiver(t, 0)
	redisURL := coretest.NewRedisDB(t)
	prefix := "hgtest_" + strings.ReplaceAll(t.Name(), "/", "_")
	a := newEnv(t, &webhooks.Plugin{}, coretest.WithConfig(func(c *core.Config) { c.Redis.URL, c.Redis.Prefix = redisURL, prefix }))
	b := coretest.NewApp(t, coretest.InCluster(a.app), coretest.WithAppOptions(core.WithPlugins(&webhooks.Plugin{})), allowLoopback())
	onB := &env{Env: apitest.WithoutSuperuser(b), app: b, token: a.token, posts: a.posts}
	create := func(want int) {
		t.Helper()
		if code, body := onB.do(t, http.MethodPost, "/api/collections/posts/records", `{"title":"x"}`, ""); code != 200 {
			t.Fatalf("create record on B: %d %s", code, body)
		}
		if calls, _, _ := recv.snapshot(); calls != want {
			t.Fatalf("receiver got %d calls, want %d", calls, want)
		}
	}
	create(0) // B caches "no webhooks"
	id := a.createWebhook(t, recv.srv.URL)
	create(1)
	if code, body := a.do(t, http.MethodDelete, "/api/hg/webhooks/"+id, "", a.token); code != 204 {
		t.Fatalf("delete on A: %d %s", code, body)
	}
	create(1)
}
