package apis_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/apis/apitest"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

func mustCollection(t *testing.T, app *core.App, js string) *core.Collection {
	t.Helper()
	return coretest.CreateCollection(t, app, js)
}

func TestRecordsCRUD(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	mustCollection(t, e.app, `{"name":"authors","fields":[{"name":"name","type":"text","required":true}],"listRule":"","viewRule":""}`)
	mustCollection(t, e.app, `{"name":"posts","listRule":"","viewRule":"","createRule":"","updateRule":"","deleteRule":"",
		"fields":[
			{"name":"title","type":"text","required":true,"max":20},
			{"name":"views","type":"number"},
			{"name":"live","type":"bool"},
			{"name":"tags","type":"select","values":["a","b","c"],"maxSelect":3},
			{"name":"author","type":"relation","collectionId":"authors"},
			{"name":"meta","type":"json"},
			{"name":"created","type":"autodate","onCreate":true},
			{"name":"secret","type":"text","hidden":true}
		]}`)

	var authorID, postID string
	created := func(dst *string) func(t *testing.T, rec *httptest.ResponseRecorder) {
		return func(t *testing.T, rec *httptest.ResponseRecorder) {
			*dst = apitest.Wrap(rec).Record(t).ID()
			if len(*dst) != 15 {
				t.Fatalf("id = %q", *dst)
			}
		}
	}
	e.run(t, []scenario{
		{name: "create author", method: "POST", path: "/api/collections/authors/records", body: `{"name":"Ann"}`, token: "superuser", wantStatus: 200, check: created(&authorID)},
	})
	e.run(t, []scenario{
		{name: "create post", method: "POST", path: "/api/collections/posts/records",
			body:       `{"title":"Hello","views":"12","live":"yes","tags":["a","b"],"author":"` + authorID + `","meta":{"k":[1,2]},"secret":"s","unknown":1}`,
			wantStatus: 200, check: created(&postID),
			wantContent: []string{`"title":"Hello"`, `"views":12`, `"live":false`, `"tags":["a","b"]`, `"meta":{"k":[1,2]}`, `"collectionName":"posts"`},
			notContent:  []string{`"secret"`, `"unknown"`}},
		{name: "create invalid", method: "POST", path: "/api/collections/posts/records", body: `{"title":"` + strings.Repeat("x", 21) + `","tags":["z"],"author":"nope"}`,
			wantStatus: 400, wantContent: []string{`"title":{"code":"validation_max_text_constraint"`, `"tags":{"code":"validation_invalid_value"`, `"author":{"code":"validation_missing_rel_records"`}},
		{name: "create array for required text", method: "POST", path: "/api/collections/posts/records", body: `{"title":["x"]}`,
			wantStatus: 400, wantContent: []string{`"title":{"code":"validation_required"`}},
		{name: "query parameters are not body fields", method: "POST", path: "/api/collections/posts/records?title=fromquery",
			body: "views=1", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"},
			wantStatus: 400, wantContent: []string{`"title":{"code":"validation_required"`}},
		{name: "create malformed", method: "POST", path: "/api/collections/posts/records", body: `{"title":`, wantStatus: 400},
		{name: "create text/plain", method: "POST", path: "/api/collections/posts/records", body: `x`, headers: map[string]string{"Content-Type": "text/plain"}, wantStatus: 400},
		{name: "unknown collection", path: "/api/collections/nope/records", wantStatus: 404, wantContent: []string{"Missing collection context."}},
	})
	e.run(t, []scenario{
		{name: "view", path: "/api/collections/posts/records/" + postID, wantStatus: 200, wantContent: []string{`"id":"` + postID}},
		// As in PocketBase, hidden fields are the superusers' to set: the
		// guest's "secret" above was dropped.
		{name: "a guest sets no hidden field", path: "/api/collections/posts/records/" + postID, token: "superuser", wantStatus: 200, wantContent: []string{`"secret":""`}},
		{name: "a superuser does", method: "PATCH", path: "/api/collections/posts/records/" + postID, token: "superuser", body: `{"secret":"s"}`, wantStatus: 200},
		{name: "view as superuser shows hidden", path: "/api/collections/posts/records/" + postID, token: "superuser", wantStatus: 200, wantContent: []string{`"secret":"s"`}},
		{name: "view missing", path: "/api/collections/posts/records/aaaaaaaaaaaaaaa", wantStatus: 404},
		{name: "update with modifiers", method: "PATCH", path: "/api/collections/posts/records/" + postID,
			body: `{"views+":3,"tags-":"a","tags+":["c"]}`, wantStatus: 200, wantContent: []string{`"views":15`, `"tags":["b","c"]`}},
		{name: "update prepend", method: "PATCH", path: "/api/collections/posts/records/" + postID,
			body: `{"+tags":"a"}`, wantStatus: 200, wantContent: []string{`"tags":["a","b","c"]`}},
		{name: "list filter and sort", path: "/api/collections/posts/records?filter=" + urlq(`views > 10 && tags ~ 'b' && author.name = "Ann"`) + "&sort=-created,title",
			wantStatus: 200, wantContent: []string{`"totalItems":1`, `"id":"` + postID}},
		{name: "list filter no match", path: "/api/collections/posts/records?filter=" + urlq(`title = 'nope'`), wantStatus: 200, wantContent: []string{`"totalItems":0`, `"items":[]`}},
		{name: "list bad filter", path: "/api/collections/posts/records?filter=" + urlq(`title = `), wantStatus: 400, wantContent: []string{`"data":{}`}},
		{name: "list unknown field", path: "/api/collections/posts/records?filter=" + urlq(`nope = 1`), wantStatus: 400},
		{name: "list hidden field", path: "/api/collections/posts/records?filter=" + urlq(`secret = 's'`), wantStatus: 400},
		{name: "list hidden field as superuser", path: "/api/collections/posts/records?filter=" + urlq(`secret = 's'`), token: "superuser", wantStatus: 200, wantContent: []string{`"totalItems":1`}},
		{name: "list bad sort", path: "/api/collections/posts/records?sort=nope", wantStatus: 400},
		{name: "list perPage junk", path: "/api/collections/posts/records?perPage=x", wantStatus: 400},
		{name: "list skipTotal", path: "/api/collections/posts/records?skipTotal=1", wantStatus: 200, wantContent: []string{`"totalItems":-1`}},
		{name: "long filter", path: "/api/collections/posts/records?filter=" + urlq("title = '"+strings.Repeat("x", 3500)+"'"), wantStatus: 400},
		{name: "delete author in use (optional relation)", method: "DELETE", path: "/api/collections/authors/records/" + authorID, token: "superuser", wantStatus: 204},
		{name: "relation emptied", path: "/api/collections/posts/records/" + postID, wantStatus: 200, wantContent: []string{`"author":""`}},
		{name: "delete", method: "DELETE", path: "/api/collections/posts/records/" + postID, wantStatus: 204},
		{name: "delete again", method: "DELETE", path: "/api/collections/posts/records/" + postID, wantStatus: 404},
	})
}

func TestRecordRules(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	mustCollection(t, e.app, `{"name":"locked","fields":[{"name":"title","type":"text"}]}`)
	mustCollection(t, e.app, `{"name":"notes","fields":[{"name":"title","type":"text"},{"name":"public","type":"bool"}],
		"listRule":"public = true","viewRule":"public = true","createRule":"@request.body.title != 'forbidden'",
		"updateRule":"public = true && @request.body.public:isset = false","deleteRule":"public = true"}`)
	ctx := context.Background()
	notes, _ := e.app.Collections().Find("notes")
	sys := &core.RequestInfo{Actor: core.SystemActor()}
	pub, _ := e.app.Records().Create(core.WithRequest(ctx, sys), notes, map[string]any{"title": "open", "public": true})
	priv, _ := e.app.Records().Create(core.WithRequest(ctx, sys), notes, map[string]any{"title": "closed"})

	only := `"message":"Only superusers can perform this action."`
	e.run(t, []scenario{
		{name: "null rule list", path: "/api/collections/locked/records", wantStatus: 403, wantContent: []string{only}},
		{name: "null rule view", path: "/api/collections/locked/records/aaaaaaaaaaaaaaa", wantStatus: 403, wantContent: []string{only}},
		{name: "null rule create", method: "POST", path: "/api/collections/locked/records", body: `{}`, wantStatus: 403},
		{name: "null rule superuser", path: "/api/collections/locked/records", token: "superuser", wantStatus: 200},
		{name: "list mismatch is filtered", path: "/api/collections/notes/records", wantStatus: 200, wantContent: []string{`"totalItems":1`, pub.ID()}, notContent: []string{priv.ID()}},
		{name: "view mismatch is 404", path: "/api/collections/notes/records/" + priv.ID(), wantStatus: 404},
		{name: "update mismatch is 404", method: "PATCH", path: "/api/collections/notes/records/" + priv.ID(), body: `{"title":"x"}`, wantStatus: 404},
		{name: "delete mismatch is 404", method: "DELETE", path: "/api/collections/notes/records/" + priv.ID(), wantStatus: 404},
		{name: "create mismatch is 400", method: "POST", path: "/api/collections/notes/records", body: `{"title":"forbidden"}`, wantStatus: 400, wantContent: []string{`"data":{}`}},
		{name: "create match", method: "POST", path: "/api/collections/notes/records", body: `{"title":"fine"}`, wantStatus: 200},
		{name: "update body rule", method: "PATCH", path: "/api/collections/notes/records/" + pub.ID(), body: `{"public":false}`, wantStatus: 404},
		{name: "update ok", method: "PATCH", path: "/api/collections/notes/records/" + pub.ID(), body: `{"title":"edited"}`, wantStatus: 200},
	})
	// The rejected create left nothing behind.
	res, _ := e.app.Records().List(core.WithRequest(ctx, sys), notes, core.RecordQuery{Filter: `title = "forbidden"`})
	if res.TotalItems != 0 {
		t.Fatal("a create refused by its rule was stored")
	}
}

func urlq(s string) string {
	r := strings.NewReplacer("%", "%25", " ", "%20", "&", "%26", "+", "%2B", "#", "%23", "'", "%27", `"`, "%22", "=", "%3D", "?", "%3F")
	return r.Replace(s)
}

func TestRecordRequestHooks(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	e := newEnv(t, app)
	mustCollection(t, app, `{"name":"posts","listRule":"","viewRule":"","createRule":"","deleteRule":"","fields":[{"name":"title","type":"text"},{"name":"hidden","type":"bool"}]}`)
	mustCollection(t, app, `{"name":"other","listRule":"","createRule":"","fields":[{"name":"title","type":"text"}]}`)

	app.OnRecordCreateRequest("posts").BindFunc(func(ev *core.RecordRequestEvent) error {
		ev.Body["title"] = strings.ToUpper(fmt.Sprint(ev.Body["title"])) // change the input
		if err := ev.Next(); err != nil {
			return err
		}
		ev.Record.Set("title", ev.Record.GetString("title")+"!") // and the output, after the create
		return nil
	})
	app.OnRecordsListRequest("posts").BindFunc(func(ev *core.RecordRequestEvent) error {
		ev.Query.Filter = "hidden = false" // narrow every list
		return ev.Next()
	})
	app.OnRecordViewRequest("posts").BindFunc(func(ev *core.RecordRequestEvent) error {
		if ev.ID == "custom000000000" {
			ev.Response.Header().Set("Content-Type", "application/json")
			ev.Response.WriteHeader(http.StatusAccepted)
			_, err := ev.Response.Write([]byte(`{"custom":true}`))
			return err
		}
		return ev.Next()
	})
	app.OnRecordDeleteRequest().BindFunc(func(ev *core.RecordRequestEvent) error {
		return core.Errorf(core.CodeForbidden, "Deletes are disabled.")
	})

	var id string
	e.run(t, []scenario{
		{name: "create hook changes input and output", method: "POST", path: "/api/collections/posts/records", body: `{"title":"hi"}`,
			wantStatus: 200, wantContent: []string{`"title":"HI!"`},
			check: apitest.Grab("id", &id)},
		{name: "other collection untouched", method: "POST", path: "/api/collections/other/records", body: `{"title":"hi"}`,
			wantStatus: 200, wantContent: []string{`"title":"hi"`}},
		{name: "hidden record", method: "POST", path: "/api/collections/posts/records", body: `{"title":"x","hidden":true}`, wantStatus: 200},
		{name: "list narrowed by hook", path: "/api/collections/posts/records", wantStatus: 200, wantContent: []string{`"totalItems":1`}},
		{name: "view answered by hook", path: "/api/collections/posts/records/custom000000000", wantStatus: http.StatusAccepted, wantContent: []string{`{"custom":true}`}},
	})
	e.run(t, []scenario{
		{name: "delete vetoed", method: "DELETE", path: "/api/collections/posts/records/" + id, wantStatus: 403, wantContent: []string{"Deletes are disabled."}},
		{name: "still there", path: "/api/collections/posts/records/" + id, wantStatus: 200, wantContent: []string{`"title":"HI"`}}})
}

func TestRecordBodyLimitGrowsWithFileFields(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t, coretest.WithConfig(func(c *core.Config) { c.Server.BodyLimit = 1024 }))
	e := newEnv(t, app)
	mustCollection(t, app, `{"name":"plain","createRule":"","fields":[{"name":"title","type":"text"}]}`)
	mustCollection(t, app, `{"name":"docs","createRule":"","fields":[{"name":"title","type":"text"},{"name":"file","type":"file","maxSize":4096}]}`)
	big := `{"title":"` + strings.Repeat("x", 2000) + `"}`
	e.run(t, []scenario{
		{name: "over the server limit", method: "POST", path: "/api/collections/plain/records", body: big, wantStatus: 413},
		{name: "within the file allowance", method: "POST", path: "/api/collections/docs/records", body: big, wantStatus: 200},
		{name: "other routes keep the server limit", method: "POST", path: "/api/collections/_superusers/auth-with-password", body: big, wantStatus: 413},
	})
}
