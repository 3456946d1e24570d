package apis_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// storedRecord reads a record as stored, rules aside.
func storedRecord(t *testing.T, app *core.App, collection, id string) *core.Record {
	t.Helper()
	c, err := app.Collections().Find(collection)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := app.Records().Find(context.Background(), c, id)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

// recordCount is the number of stored records of collection.
func recordCount(t *testing.T, app *core.App, collection string) int {
	t.Helper()
	c, err := app.Collections().Find(collection)
	if err != nil {
		t.Fatal(err)
	}
	res, err := app.Records().List(core.AsSystem(context.Background()), c, core.RecordQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return res.TotalItems
}

// signIn returns a token of an auth record of users.
func signIn(t *testing.T, e *env, email, password string) string {
	t.Helper()
	var token string
	e.run(t, []scenario{{name: "sign in " + email, method: "POST", path: "/api/collections/users/auth-with-password",
		body: signInBody(email, password), wantStatus: 200, check: grabAuth(nil, &token)}})
	return token
}

// TestModifierKeysCannotBypassBodyRules replays finding 1 of issue 15: the
// create and update rules below are PocketBase's documented idiom against
// setting a field, and "role+", "+role", "credits+" and "credits-" used to
// pass them because rules read the body as sent.
func TestModifierKeysCannotBypassBodyRules(t *testing.T) {
	t.Parallel()
	e := newBatchEnv(t, nil)
	mustCollection(t, e.app, `{"name":"users","type":"auth","viewRule":"id = @request.auth.id",
		"createRule":"@request.body.role:isset = false && @request.body.credits:isset = false",
		"updateRule":"id = @request.auth.id && @request.body.credits:isset = false",
		"fields":[{"name":"role","type":"select","values":["admin","user"],"maxSelect":1},{"name":"credits","type":"number"}]}`)
	const records = "/api/collections/users/records"
	user := func(email, extra string) string {
		return `{"email":"` + email + `","password":"Secret12345","passwordConfirm":"Secret12345"` + extra + `}`
	}
	refused := []string{`"message":"Failed to create record."`}
	e.run(t, []scenario{
		{name: "plain role refused", method: "POST", path: records, body: user("a@example.com", `,"role":"admin"`), wantStatus: 400, wantContent: refused},
		{name: "role+ and credits+ refused", method: "POST", path: records, body: user("b@example.com", `,"role+":"admin","credits+":1000000`), wantStatus: 400, wantContent: refused},
		{name: "+role refused", method: "POST", path: records, body: user("c@example.com", `,"+role":"admin"`), wantStatus: 400, wantContent: refused},
		{name: "credits- refused", method: "POST", path: records, body: user("d@example.com", `,"credits-":-1000000`), wantStatus: 400, wantContent: refused},
		multipartScenario(t, scenario{name: "multipart role+ refused", method: "POST", path: records, wantStatus: 400, wantContent: refused},
			part{"email", "", "e@example.com"}, part{"password", "", "Secret12345"}, part{"passwordConfirm", "", "Secret12345"}, part{"role+", "", "admin"}),
		multipartScenario(t, scenario{name: "@jsonPayload credits+ refused", method: "POST", path: records, wantStatus: 400, wantContent: refused},
			part{"@jsonPayload", "", user("f@example.com", `,"credits+":1000000`)}),
		{name: "batch item role+ refused", method: "POST", path: "/api/batch",
			body:       `{"requests":[{"method":"POST","url":"` + records + `","body":` + user("g@example.com", `,"role+":"admin"`) + `}]}`,
			wantStatus: 400, wantContent: []string{`"code":"batch_request_failed"`, `"status":400`}},
	})
	if n := recordCount(t, e.app, "users"); n != 0 {
		t.Fatalf("%d users stored by refused creates", n)
	}

	var id string
	e.run(t, []scenario{{name: "plain sign-up passes", method: "POST", path: records, body: user("ok@example.com", ""), wantStatus: 200, check: grabAuth(&id, nil)}})
	token := signIn(t, e, "ok@example.com", "Secret12345")
	e.run(t, []scenario{
		{name: "update credits refused", method: "PATCH", path: records + "/" + id, token: token, body: `{"credits":5}`, wantStatus: 404},
		{name: "update credits+ refused", method: "PATCH", path: records + "/" + id, token: token, body: `{"credits+":1}`, wantStatus: 404},
		{name: "update credits- refused", method: "PATCH", path: records + "/" + id, token: token, body: `{"credits-":-1}`, wantStatus: 404},
		multipartScenario(t, scenario{name: "update multipart credits+ refused", method: "PATCH", path: records + "/" + id, token: token, wantStatus: 404},
			part{"credits+", "", "7"}),
		{name: "batch update credits+ refused", method: "POST", path: "/api/batch", token: token,
			body:       `{"requests":[{"method":"PATCH","url":"` + records + "/" + id + `","body":{"credits+":9}}]}`,
			wantStatus: 400, wantContent: []string{`"code":"batch_request_failed"`, `"status":404`}},
		{name: "an update without credits passes", method: "PATCH", path: records + "/" + id, token: token, body: `{"emailVisibility":true}`, wantStatus: 200},
	})
	rec := storedRecord(t, e.app, "users", id)
	if rec.GetString("role") != "" || rec.GetString("credits") != "0" {
		t.Fatalf("stored role %q credits %v", rec.GetString("role"), rec.Get("credits"))
	}
}

// TestPasswordModifierNeedsOldPassword replays finding 6 of issue 15:
// "password+" changed a password without oldPassword, for the owner and
// for anyone the update rule let in, manageRule or not. Modifiers on the
// auth fields (and on any field that is not a number, select, relation or
// file) are a 400 now.
func TestPasswordModifierNeedsOldPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	mustCollection(t, e.app, `{"name":"users","type":"auth","createRule":"","viewRule":"@request.auth.id != ''",
		"updateRule":"@request.auth.id != ''","manageRule":"@request.auth.role = \"admin\"",
		"fields":[{"name":"role","type":"text"}]}`)
	const records = "/api/collections/users/records"
	var annID, bobID string
	user := func(email string) string {
		return `{"email":"` + email + `","password":"Secret12345","passwordConfirm":"Secret12345"}`
	}
	e.run(t, []scenario{
		{name: "ann", method: "POST", path: records, token: "superuser", body: user("ann@example.com"), wantStatus: 200, check: grabAuth(&annID, nil)},
		{name: "bob", method: "POST", path: records, token: "superuser", body: user("bob@example.com"), wantStatus: 200, check: grabAuth(&bobID, nil)},
	})
	annToken := signIn(t, e, "ann@example.com", "Secret12345")
	unsupported := func(field string) []string {
		return []string{`"` + field + `":{"code":"validation_unsupported_modifier"`}
	}
	var scenarios []scenario
	for _, target := range []struct{ who, id string }{{"own", annID}, {"another's", bobID}} {
		for _, key := range []string{"password+", "+password", "password-"} {
			scenarios = append(scenarios, scenario{name: key + " on " + target.who + " record", method: "PATCH", path: records + "/" + target.id, token: annToken,
				body: `{"` + key + `":"Changed12345","passwordConfirm":"Changed12345"}`, wantStatus: 400, wantContent: unsupported("password")})
		}
		scenarios = append(scenarios,
			scenario{name: "email+ on " + target.who + " record", method: "PATCH", path: records + "/" + target.id, token: annToken,
				body: `{"email+":"x@example.com"}`, wantStatus: 400, wantContent: unsupported("email")},
			scenario{name: "verified+ on " + target.who + " record", method: "PATCH", path: records + "/" + target.id, token: annToken,
				body: `{"verified+":true}`, wantStatus: 400, wantContent: unsupported("verified")},
			multipartScenario(t, scenario{name: "multipart password+ on " + target.who + " record", method: "PATCH", path: records + "/" + target.id,
				token: annToken, wantStatus: 400, wantContent: unsupported("password")},
				part{"password+", "", "Changed12345"}, part{"passwordConfirm", "", "Changed12345"}),
		)
	}
	scenarios = append(scenarios, scenario{name: "verified+ on create", method: "POST", path: records,
		body:       `{"email":"cid@example.com","password":"Secret12345","passwordConfirm":"Secret12345","verified+":true}`,
		wantStatus: 400, wantContent: unsupported("verified")})
	e.run(t, scenarios)

	for _, email := range []string{"ann@example.com", "bob@example.com"} {
		signIn(t, e, email, "Secret12345")
		e.run(t, []scenario{{name: email + " keeps the old password", method: "POST", path: "/api/collections/users/auth-with-password",
			body: signInBody(email, "Changed12345"), wantStatus: 400}})
	}
	for _, id := range []string{annID, bobID} {
		if rec := storedRecord(t, e.app, "users", id); rec.Get("verified") != false || strings.HasPrefix(rec.GetString("email"), "x@") {
			t.Fatalf("record %s changed: verified %v email %s", id, rec.Get("verified"), rec.GetString("email"))
		}
	}
	if n := recordCount(t, e.app, "users"); n != 2 {
		t.Fatalf("%d users, want 2", n)
	}
}

// TestHooksAndExpandSeeResolvedBody checks the other readers of a write's
// body: the request hooks (e.Body, e.Info.Body), the record hooks
// (e.Request.Body) and the expand of the response, whose rules read
// @request.body too, all get the final values, not the keys as sent.
func TestHooksAndExpandSeeResolvedBody(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	e := newEnv(t, app)
	authors := mustCollection(t, app, `{"name":"authors","viewRule":"@request.body.credits:isset = false","fields":[{"name":"name","type":"text"}]}`)
	mustCollection(t, app, `{"name":"posts","createRule":"","updateRule":"","viewRule":"",
		"fields":[{"name":"author","type":"relation","collectionId":"`+authors.ID+`"},{"name":"credits","type":"number"},
		{"name":"tags","type":"select","values":["a","b","c"],"maxSelect":3}]}`)
	author, err := app.Records().Create(core.AsSystem(context.Background()), authors, map[string]any{"name": "ann"})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	note := func(where string, body map[string]any) {
		seen = append(seen, fmt.Sprintf("%s credits=%v tags=%v credits+=%v", where, body["credits"], body["tags"], body["credits+"]))
	}
	app.OnRecordCreateRequest("posts").BindFunc(func(ev *core.RecordRequestEvent) error {
		note("create request", ev.Body)
		note("create request info", ev.Info.Body)
		return ev.Next()
	})
	app.OnRecordUpdateRequest("posts").BindFunc(func(ev *core.RecordRequestEvent) error {
		note("update request", ev.Body)
		return ev.Next()
	})
	app.OnRecordUpdate("posts").BindFunc(func(ev *core.RecordEvent) error {
		note("update record", ev.Request.Body)
		return ev.Next()
	})
	var id string
	e.run(t, []scenario{
		{name: "create with credits+ and tags+", method: "POST", path: "/api/collections/posts/records?expand=author",
			body: `{"author":"` + author.ID() + `","credits+":2,"tags+":["b"]}`, wantStatus: 200, check: grabAuth(&id, nil),
			notContent: []string{`"expand":{"author"`}},
		{name: "without credits the author expands", method: "POST", path: "/api/collections/posts/records?expand=author",
			body: `{"author":"` + author.ID() + `"}`, wantStatus: 200, wantContent: []string{`"expand":{"author"`}},
	})
	e.run(t, []scenario{{name: "update with credits- and +tags", method: "PATCH", path: "/api/collections/posts/records/" + id,
		body: `{"credits-":1.5,"+tags":"a"}`, wantStatus: 200, wantContent: []string{`"credits":0.5`, `"tags":["a","b"]`}}})
	want := []string{
		"create request credits=2 tags=[b] credits+=<nil>",
		"create request info credits=2 tags=[b] credits+=<nil>",
		"create request credits=<nil> tags=<nil> credits+=<nil>",
		"create request info credits=<nil> tags=<nil> credits+=<nil>",
		"update request credits=0.5 tags=[a b] credits+=<nil>",
		"update record credits=0.5 tags=[a b] credits+=<nil>",
	}
	if strings.Join(seen, "\n") != strings.Join(want, "\n") {
		t.Fatalf("hooks saw\n%s\nwant\n%s", strings.Join(seen, "\n"), strings.Join(want, "\n"))
	}
}

// TestConcurrentIncrementsAllCount checks that resolving modifiers before
// the rules did not cost their atomicity: "views+" writes sent at once
// each resolve against the row their transaction reads and locks, and all
// count, on both dialects.
func TestConcurrentIncrementsAllCount(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	e := newEnv(t, app)
	c := mustCollection(t, app, `{"name":"posts","updateRule":"@request.body.views:isset = false || @request.body.views <= 100",
		"fields":[{"name":"views","type":"number"}]}`)
	post, err := app.Records().Create(core.AsSystem(context.Background()), c, map[string]any{})
	if err != nil {
		t.Fatal(err)
	}
	app.OnRecordUpdateRequest("posts").BindFunc(func(ev *core.RecordRequestEvent) error { return ev.Next() })
	const writers = 12
	done := make(chan int, writers)
	for range writers {
		go func() {
			rec := e.do(scenario{method: "PATCH", path: "/api/collections/posts/records/" + post.ID(), body: `{"views+":1}`})
			done <- rec.Code
		}()
	}
	for range writers {
		if code := <-done; code != 200 {
			t.Fatalf("increment = %d", code)
		}
	}
	if got := storedRecord(t, app, "posts", post.ID()).GetString("views"); got != fmt.Sprint(writers) {
		t.Fatalf("views = %s after %d increments", got, writers)
	}
}
