package audit_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/apis/apitest"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/plugins/audit"
)

// env is the API kit's Env over an App with the plugin.
type env struct {
	*apitest.Env
	app    *core.App
	router http.Handler
	token  string // a superuser's
}

func newEnv(t *testing.T, p *audit.Plugin, opts ...coretest.Option) *env {
	t.Helper()
	kit := apitest.New(t, append(opts, coretest.WithAppOptions(core.WithPlugins(p)))...)
	return &env{Env: kit, app: kit.App, router: kit.Router, token: kit.SuperuserToken}
}

func (e *env) do(t *testing.T, method, path, body, token string) (int, string) {
	t.Helper()
	res := e.Do(apitest.Request{Method: method, Path: path, Body: body, Token: token})
	return res.Code, res.String()
}

func (e *env) must(t *testing.T, method, path, body string) string {
	t.Helper()
	code, out := e.do(t, method, path, body, e.token)
	if code/100 != 2 {
		t.Fatalf("%s %s: %d %s", method, path, code, out)
	}
	return out
}

func (e *env) list(t *testing.T, query string) apitest.List[audit.Entry] {
	t.Helper()
	var p apitest.List[audit.Entry]
	e.AsSuperuser().Must(t, http.MethodGet, "/api/hg/audit?"+query, "", 200).JSON(t, &p)
	return p
}

func (e *env) createPosts(t *testing.T) {
	t.Helper()
	e.must(t, http.MethodPost, "/api/collections",
		`{"name":"posts","createRule":"","updateRule":"","viewRule":"","fields":[{"name":"title","type":"text"}]}`)
}

// TestCollectionAndPolicyChangesWithActorAndDiff is the issue's
// demonstration: the audit log shows a collection change and a policy
// change, with the actor and the diff, through the HTTP API.
func TestCollectionAndPolicyChangesWithActorAndDiff(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &audit.Plugin{})
	e.createPosts(t)
	e.must(t, http.MethodPatch, "/api/collections/posts", `{"listRule":"","fields":[{"name":"title","type":"text","required":true}]}`)
	e.must(t, http.MethodPost, "/api/hg/policies", `{"subject":"role:editor","resource":"collection:posts","action":"update"}`)

	// Saving it again as it is changes nothing worth an entry.
	e.must(t, http.MethodPatch, "/api/collections/posts", `{"listRule":""}`)

	cols := e.list(t, "kind=collection")
	if cols.TotalItems != 2 || len(cols.Items) != 2 || cols.Page != 1 || cols.PerPage != 30 || cols.TotalPages != 1 {
		t.Fatalf("collection entries: %+v", cols)
	}
	up := cols.Items[0] // newest first
	if up.Action != "collection.update" || up.Resource.Kind != "collection" || up.Resource.Name != "posts" || up.Resource.ID == "" {
		t.Fatalf("update entry: %+v", up)
	}
	if up.Actor.Type != audit.ActorSuperuser || up.Actor.Email != "admin@example.com" || up.Actor.Collection != core.SuperusersCollectionName || up.Actor.ID == "" {
		t.Fatalf("actor: %+v", up.Actor)
	}
	if up.IP != "192.0.2.1" {
		t.Fatalf("ip = %q", up.IP)
	}
	if c, ok := up.Changes["listRule"]; !ok || c.Before != nil || c.After != "" {
		t.Fatalf("listRule change: %+v in %+v", c, up.Changes)
	}
	if c, ok := up.Changes["fields.title.required"]; !ok || c.Before != false || c.After != true {
		t.Fatalf("field change: %+v in %+v", c, up.Changes)
	}
	if _, ok := up.Changes["name"]; ok {
		t.Fatalf("unchanged key in the diff: %+v", up.Changes)
	}
	if cols.Items[1].Action != "collection.create" || cols.Items[1].Changes["name"].After != "posts" {
		t.Fatalf("create entry: %+v", cols.Items[1])
	}

	pols := e.list(t, "kind=policy")
	if len(pols.Items) != 1 {
		t.Fatalf("policy entries: %+v", pols)
	}
	pe := pols.Items[0]
	if pe.Action != core.PolicyCreate || pe.Actor.Email != "admin@example.com" || pe.Resource.Name != "role:editor collection:posts update" {
		t.Fatalf("policy entry: %+v", pe)
	}
	if pe.Changes["subject"].After != "role:editor" || pe.Changes["effect"].After != "allow" || pe.Changes["subject"].Before != nil {
		t.Fatalf("policy diff: %+v", pe.Changes)
	}

	e.must(t, http.MethodPut, "/api/hg/roles/editor", `{"inherits":["viewer"]}`)
	roles := e.list(t, "kind=role")
	if len(roles.Items) != 1 || roles.Items[0].Action != core.RoleSave || roles.Items[0].Resource.Name != "editor" {
		t.Fatalf("role entries: %+v", roles)
	}
	if c := roles.Items[0].Changes["inherits"]; c.After == nil {
		t.Fatalf("role diff: %+v", roles.Items[0].Changes)
	}

	var one audit.Entry
	if err := json.Unmarshal([]byte(e.must(t, http.MethodGet, "/api/hg/audit/"+pe.ID, "")), &one); err != nil || one.ID != pe.ID || one.Action != pe.Action {
		t.Fatalf("view: %+v %v", one, err)
	}
	if code, body := e.do(t, http.MethodGet, "/api/hg/audit/nosuchentry", "", e.token); code != 404 || !strings.Contains(body, `"status":404`) {
		t.Fatalf("missing entry: %d %s", code, body)
	}
	if got := e.list(t, "actor=admin@example.com&action=collection.update"); len(got.Items) != 1 || got.Items[0].ID != up.ID {
		t.Fatalf("filter by actor and action: %+v", got)
	}
	if got := e.list(t, "resource=posts&perPage=1&page=2"); got.TotalItems != 2 || got.TotalPages != 2 || len(got.Items) != 1 || got.Items[0].Action != "collection.create" {
		t.Fatalf("filter by resource, paged: %+v", got)
	}
}

func TestSettingsChangeRedactsSecrets(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &audit.Plugin{})
	e.must(t, http.MethodPatch, "/api/settings", `{"smtp":{"host":"mail.example.com","password":"hunter2-secret"},"meta":{"appName":"Audited"}}`)

	e.must(t, http.MethodPatch, "/api/settings", `{"meta":{"appName":"Audited"}}`) // no change, no entry

	got := e.list(t, "kind=settings")
	if len(got.Items) != 1 {
		t.Fatalf("settings entries: %+v", got)
	}
	ch := got.Items[0].Changes
	if ch["smtp.password"].After != audit.Redacted || ch["meta.appName"].Before != "Acme" || ch["meta.appName"].After != "Audited" || ch["smtp.host"].After != "mail.example.com" {
		t.Fatalf("settings diff: %+v", ch)
	}
	if _, ok := ch["smtp.port"]; ok {
		t.Fatalf("unchanged key in the diff: %+v", ch)
	}
	body := e.must(t, http.MethodGet, "/api/hg/audit/"+got.Items[0].ID, "")
	if strings.Contains(body, "hunter2") {
		t.Fatalf("the secret leaked: %s", body)
	}
}

func TestRecordsOfChosenCollectionsOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &audit.Plugin{Collections: []string{"posts", "users"}})
	e.createPosts(t)
	e.must(t, http.MethodPost, "/api/collections", `{"name":"notes","createRule":"","fields":[{"name":"body","type":"text"}]}`)
	e.must(t, http.MethodPost, "/api/collections", `{"name":"users","type":"auth","createRule":"","fields":[]}`)

	// Guests may create posts (createRule ""): their entries say so.
	if code, body := e.do(t, http.MethodPost, "/api/collections/posts/records", `{"id":"post00000000001","title":"hello"}`, ""); code != 200 {
		t.Fatalf("create post: %d %s", code, body)
	}
	e.must(t, http.MethodPatch, "/api/collections/posts/records/post00000000001", `{"title":"bye"}`)
	if code, body := e.do(t, http.MethodPost, "/api/collections/notes/records", `{"body":"not audited"}`, ""); code != 200 {
		t.Fatalf("create note: %d %s", code, body)
	}
	if code, body := e.do(t, http.MethodPost, "/api/collections/users/records",
		`{"email":"u@example.com","password":"Secret12345","passwordConfirm":"Secret12345"}`, ""); code != 200 {
		t.Fatalf("create user: %d %s", code, body)
	}

	recs := e.list(t, "kind=record")
	if len(recs.Items) != 3 {
		t.Fatalf("record entries (posts x2, users x1, no notes): %+v", recs)
	}
	user, upd, create := recs.Items[0], recs.Items[1], recs.Items[2]
	if create.Action != "record.create" || create.Resource.Name != "posts" || create.Resource.ID != "post00000000001" ||
		create.Actor.Type != audit.ActorGuest || create.IP != "192.0.2.1" || create.Changes["title"].After != "hello" {
		t.Fatalf("create entry: %+v", create)
	}
	if upd.Action != "record.update" || upd.Actor.Type != audit.ActorSuperuser || upd.Changes["title"].Before != "hello" || upd.Changes["title"].After != "bye" {
		t.Fatalf("update entry: %+v", upd)
	}
	if _, ok := upd.Changes["id"]; ok {
		t.Fatalf("unchanged id in the diff: %+v", upd.Changes)
	}
	if user.Resource.Name != "users" || user.Changes["password"].After != audit.Redacted || user.Changes["tokenKey"].After != audit.Redacted {
		t.Fatalf("user entry: %+v", user)
	}
	if got := e.list(t, "resource=notes&kind=record"); got.TotalItems != 0 {
		t.Fatalf("entries of a collection not chosen: %+v", got)
	}
}

func TestRolledBackChangesLeaveNoEntry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &audit.Plugin{Collections: []string{"posts"}})
	e.createPosts(t)
	ctx := context.Background()

	// A handler that fails after the write (and the audit entry) rolls the
	// whole transaction back.
	boom := errors.New("boom")
	e.app.OnRecordCreate("posts").BindFunc(func(ev *core.RecordEvent) error {
		if err := ev.Next(); err != nil {
			return err
		}
		return boom
	})
	if code, _ := e.do(t, http.MethodPost, "/api/collections/posts/records", `{"title":"never"}`, e.token); code == 200 {
		t.Fatal("the failing create succeeded")
	}

	err := e.app.InTx(ctx, func(ctx context.Context) error {
		s := e.app.Settings()
		s.Meta.AppName = "Never"
		if err := e.app.SaveSettings(ctx, s); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("err = %v", err)
	}

	if got := e.list(t, "kind=record"); got.TotalItems != 0 {
		t.Fatalf("entries of a rolled-back record: %+v", got)
	}
	if got := e.list(t, "kind=settings"); got.TotalItems != 0 {
		t.Fatalf("entries of rolled-back settings: %+v", got)
	}
	if got := e.list(t, ""); got.TotalItems != 1 || got.Items[0].Action != "collection.create" {
		t.Fatalf("all entries: %+v", got)
	}
}

func TestTableIsAppendOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &audit.Plugin{})
	e.createPosts(t)
	db := e.app.DB(context.Background())
	if err := db.Exec(`UPDATE "_audit_log" SET "action" = 'forged'`).Error; err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("UPDATE: %v", err)
	}
	if err := db.Exec(`DELETE FROM "_audit_log"`).Error; err == nil || !strings.Contains(err.Error(), "append-only") {
		t.Fatalf("DELETE: %v", err)
	}
	if got := e.list(t, ""); got.TotalItems != 1 || got.Items[0].Action != "collection.create" {
		t.Fatalf("entries after the refused writes: %+v", got)
	}
}

func TestAccessAndBadParams(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &audit.Plugin{})
	e.must(t, http.MethodPost, "/api/collections", `{"name":"users","type":"auth","createRule":"","fields":[]}`)
	if code, body := e.do(t, http.MethodPost, "/api/collections/users/records",
		`{"id":"auditor00000001","email":"a@example.com","password":"Secret12345","passwordConfirm":"Secret12345"}`, ""); code != 200 {
		t.Fatalf("create user: %d %s", code, body)
	}
	users, err := e.app.Collections().Find("users")
	if err != nil {
		t.Fatal(err)
	}
	rec, err := e.app.Records().Find(context.Background(), users, "auditor00000001")
	if err != nil {
		t.Fatal(err)
	}
	userToken, err := e.app.Auth().NewAuthToken(rec)
	if err != nil {
		t.Fatal(err)
	}

	if code, body := e.do(t, http.MethodGet, "/api/hg/audit", "", ""); code != 401 || !strings.Contains(body, `"status":401`) {
		t.Fatalf("guest: %d %s", code, body)
	}
	if code, body := e.do(t, http.MethodGet, "/api/hg/audit", "", userToken); code != 403 || !strings.Contains(body, `"status":403`) {
		t.Fatalf("user: %d %s", code, body)
	}
	access := func() string {
		code, body := e.do(t, http.MethodGet, "/api/hg/access", "", userToken)
		if code != 200 {
			t.Fatalf("access: %d %s", code, body)
		}
		return body
	}
	// The access summary the dashboard reads reports admin:audit too.
	if body := access(); !strings.Contains(body, `"admin:audit":{"read":false,"write":false}`) {
		t.Fatalf("access before the policy: %s", body)
	}
	// A policy allowing read on admin:audit opens it to that user.
	e.must(t, http.MethodPost, "/api/hg/policies", `{"subject":"record:`+users.ID+`/auditor00000001","resource":"admin:audit","action":"read"}`)
	if code, body := e.do(t, http.MethodGet, "/api/hg/audit", "", userToken); code != 200 {
		t.Fatalf("user with admin:audit read: %d %s", code, body)
	}
	if body := access(); !strings.Contains(body, `"admin:audit":{"read":true,"write":false}`) {
		t.Fatalf("access after the policy: %s", body)
	}

	for _, q := range []string{"page=abc", "perPage=x", "skipTotal=maybe"} {
		res := e.AsSuperuser().Do(http.MethodGet, "/api/hg/audit?"+q, "")
		if res.Code != 400 {
			t.Fatalf("%s: %d %s", q, res.Code, res.String())
		}
		if apiErr := res.Error(t); apiErr.Status != 400 || apiErr.Message == "" || apiErr.Data == nil {
			t.Fatalf("%s: %d %s", q, res.Code, res.String())
		}
	}
	if got := e.list(t, "skipTotal=true"); got.TotalItems != -1 || got.TotalPages != -1 || len(got.Items) == 0 {
		t.Fatalf("skipTotal: %+v", got)
	}
}

func TestConfigChoosesCollectionsAndTrustedProxyGivesIP(t *testing.T) {
	t.Parallel()
	p := &audit.Plugin{}
	e := newEnv(t, p, coretest.WithConfig(func(c *core.Config) {
		c.Plugins = map[string]map[string]any{"audit": {"collections": "posts"}} // as HG_PLUGINS_AUDIT_COLLECTIONS gives it
	}))
	e.createPosts(t)
	e.must(t, http.MethodPatch, "/api/settings", `{"trustedProxy":{"headers":["X-Forwarded-For"]}}`)

	req := httptest.NewRequest(http.MethodPost, "/api/collections/posts/records", strings.NewReader(`{"title":"via proxy"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Forwarded-For", "203.0.113.7, 198.51.100.2")
	rec := httptest.NewRecorder()
	e.router.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("create: %d %s", rec.Code, rec.Body.String())
	}
	got := e.list(t, "kind=record")
	if len(got.Items) != 1 || got.Items[0].IP != "198.51.100.2" || got.Items[0].Actor.Type != audit.ActorGuest {
		t.Fatalf("record entry behind the proxy: %+v", got)
	}
}

func TestFailedBatchLeavesNoEntry(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &audit.Plugin{Collections: []string{"*"}})
	e.createPosts(t)
	e.must(t, http.MethodPatch, "/api/settings", `{"batch":{"enabled":true}}`)
	code, body := e.do(t, http.MethodPost, "/api/batch", `{"requests":[
		{"method":"POST","url":"/api/collections/posts/records","body":{"title":"first"}},
		{"method":"POST","url":"/api/collections/nosuch/records","body":{"title":"second"}}]}`, e.token)
	if code != 400 {
		t.Fatalf("batch: %d %s", code, body)
	}
	// "*" audits every collection, _superusers included: only posts count here.
	if got := e.list(t, "kind=record&resource=posts"); got.TotalItems != 0 {
		t.Fatalf("entries of a failed batch: %+v", got)
	}
	e.must(t, http.MethodPost, "/api/batch", `{"requests":[{"method":"POST","url":"/api/collections/posts/records","body":{"title":"ok"}}]}`)
	if got := e.list(t, "kind=record&resource=posts"); got.TotalItems != 1 || got.Items[0].Changes["title"].After != "ok" {
		t.Fatalf("entries of a batch: %+v", got)
	}
}

// Saving a system collection without touching its indexes logs no index
// change: the system migrations stored theirs quoted otherwise than a
// save does.
func TestSystemCollectionSaveLogsOnlyWhatChanged(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &audit.Plugin{})
	e.must(t, http.MethodPatch, "/api/collections/_superusers", `{"authToken":{"duration":3600}}`)
	p := e.list(t, "kind=collection")
	if len(p.Items) != 1 {
		t.Fatalf("%d entries, want 1", len(p.Items))
	}
	changes := p.Items[0].Changes
	if _, ok := changes["indexes"]; ok {
		t.Fatalf("indexes logged as changed: %+v", changes["indexes"])
	}
	if c, ok := changes["authToken.duration"]; !ok || fmt.Sprint(c.After) != "3600" {
		t.Fatalf("changes = %+v", changes)
	}
}
