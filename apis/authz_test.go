package apis_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// authzEnv is an env for the access tests.
func authzEnv(t *testing.T) *env {
	t.Helper()
	return newEnv(t, coretest.NewApp(t))
}

// tokenOf returns an auth token of rec, of whichever auth collection.
func tokenOf(t *testing.T, app *core.App, rec *core.Record) string {
	t.Helper()
	token, err := app.Auth().NewAuthToken(rec)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

func mustRecord(t *testing.T, app *core.App, collection string, body map[string]any) *core.Record {
	t.Helper()
	c, err := app.Collections().Find(collection)
	if err != nil {
		t.Fatal(err)
	}
	rec, err := app.Records().Create(core.AsSystem(context.Background()), c, body)
	if err != nil {
		t.Fatal(err)
	}
	return rec
}

func account(t *testing.T, app *core.App, collection, email string) *core.Record {
	t.Helper()
	return mustRecord(t, app, collection, map[string]any{"email": email, "password": "Secret12345", "passwordConfirm": "Secret12345"})
}

// policyID reads the id of the policy in a response.
func policyID(dst *string) func(t *testing.T, rec *httptest.ResponseRecorder) {
	return func(t *testing.T, rec *httptest.ResponseRecorder) {
		var p struct{ ID int64 }
		json.Unmarshal(rec.Body.Bytes(), &p)
		if p.ID <= 0 {
			t.Fatalf("no policy id in %s", rec.Body.String())
		}
		*dst = strconv.FormatInt(p.ID, 10)
	}
}

// TestEditorMayUpdateButNotDelete is the first demonstration: a
// role editor, allowed update but denied delete on posts, set up by a
// superuser through the API; a user holding it updates (200) and is
// refused the delete (403); then a policy edited through the API applies
// to the very next request.
func TestEditorMayUpdateButNotDelete(t *testing.T) {
	t.Parallel()
	e := authzEnv(t)
	mustCollection(t, e.app, `{"name":"users","type":"auth","fields":[]}`)
	mustCollection(t, e.app, `{"name":"posts","fields":[{"name":"title","type":"text"}],`+openRulesJSON+`}`)
	alice := account(t, e.app, "users", "alice@example.com")
	bob := account(t, e.app, "users", "bob@example.com")
	post := mustRecord(t, e.app, "posts", map[string]any{"title": "hello"}).ID()
	other := mustRecord(t, e.app, "posts", map[string]any{"title": "other"}).ID()
	records := "/api/collections/posts/records/"

	var denyID, updateDenyID string
	e.run(t, []scenario{
		{name: "allow editors to update posts", method: "POST", path: "/api/hg/policies", token: "superuser",
			body:       `{"subject":"role:editor","resource":"collection:posts","action":"update","effect":"allow"}`,
			wantStatus: 200, wantContent: []string{`"subject":"role:editor"`, `"effect":"allow"`}},
		{name: "deny editors deleting posts", method: "POST", path: "/api/hg/policies", token: "superuser",
			body:       `{"subject":"role:editor","resource":"collection:posts","action":"delete","effect":"deny"}`,
			wantStatus: 200, wantContent: []string{`"effect":"deny"`}, check: policyID(&denyID)},
		{name: "give alice the role", method: "PUT", path: "/api/hg/roles/editor", token: "superuser",
			body:       `{"members":[{"collectionName":"users","recordId":"` + alice.ID() + `"}]}`,
			wantStatus: 200, wantContent: []string{`"name":"editor"`, `"recordId":"` + alice.ID() + `"`, `"collectionName":"users"`}},

		{name: "editor updates", method: "PATCH", path: records + post, token: tokenOf(t, e.app, alice), body: `{"title":"edited"}`,
			wantStatus: 200, wantContent: []string{`"title":"edited"`}},
		{name: "editor is refused delete", method: "DELETE", path: records + post, token: tokenOf(t, e.app, alice),
			wantStatus: 403, wantContent: []string{`"message":"You are not allowed to perform this request."`}},
		{name: "a user without the role deletes", method: "DELETE", path: records + other, token: tokenOf(t, e.app, bob), wantStatus: 204},
		{name: "the post survived", path: records + post, wantStatus: 200},
	})
	e.run(t, []scenario{
		{name: "turn the deny into an allow", method: "PATCH", path: "/api/hg/policies/" + denyID, token: "superuser",
			body: `{"effect":"allow"}`, wantStatus: 200, wantContent: []string{`"id":` + denyID, `"action":"delete"`, `"effect":"allow"`}},
		{name: "deny editors updating", method: "POST", path: "/api/hg/policies", token: "superuser",
			body: `{"subject":"role:editor","resource":"collection:*","action":"update","effect":"deny"}`, wantStatus: 200, check: policyID(&updateDenyID)},
		{name: "the next update is refused", method: "PATCH", path: records + post, token: tokenOf(t, e.app, alice), body: `{"title":"again"}`, wantStatus: 403},
	})
	e.run(t, []scenario{
		{name: "drop the update deny", method: "DELETE", path: "/api/hg/policies/" + updateDenyID, token: "superuser", wantStatus: 204},
		{name: "the next update passes", method: "PATCH", path: records + post, token: tokenOf(t, e.app, alice), body: `{"title":"again"}`, wantStatus: 200},
		{name: "and the delete now passes", method: "DELETE", path: records + post, token: tokenOf(t, e.app, alice), wantStatus: 204},
	})
}

const openRulesJSON = `"listRule":"","viewRule":"","createRule":"","updateRule":"","deleteRule":""`

// TestStaffWithoutSchemaAccess is the last demonstration: a staff
// account whose role reaches the records but not admin:schema cannot
// change a collection.
func TestStaffWithoutSchemaAccess(t *testing.T) {
	t.Parallel()
	e := authzEnv(t)
	mustCollection(t, e.app, `{"name":"posts","fields":[{"name":"title","type":"text"}],`+openRulesJSON+`}`)
	post := mustRecord(t, e.app, "posts", map[string]any{"title": "hello"}).ID()
	staff := account(t, e.app, core.StaffCollectionName, "staff@example.com")
	bare := account(t, e.app, core.StaffCollectionName, "nobody@example.com")

	e.run(t, []scenario{
		{name: "staff sign in like any auth record", method: "POST", path: "/api/collections/_staff/auth-with-password",
			body: `{"identity":"staff@example.com","password":"Secret12345"}`, wantStatus: 200,
			wantContent: []string{`"token":"`, `"collectionName":"_staff"`}},
		{name: "support may work on records", method: "POST", path: "/api/hg/policies", token: "superuser",
			body: `{"subject":"role:support","resource":"collection:*","action":"*"}`, wantStatus: 200},
		{name: "and read schemas", method: "POST", path: "/api/hg/policies", token: "superuser",
			body: `{"subject":"role:support","resource":"admin:schema","action":"read"}`, wantStatus: 200},
		{name: "staff gets support", method: "POST", path: "/api/hg/roles/support/members", token: "superuser",
			body: `{"collectionId":"` + staff.Collection().ID + `","recordId":"` + staff.ID() + `"}`, wantStatus: 200,
			wantContent: []string{`"collectionName":"_staff"`}},

		{name: "staff edits a record", method: "PATCH", path: "/api/collections/posts/records/" + post, token: tokenOf(t, e.app, staff),
			body: `{"title":"by staff"}`, wantStatus: 200},
		{name: "staff reads the collection", path: "/api/collections/posts", token: tokenOf(t, e.app, staff), wantStatus: 200},
		{name: "staff lists collections", path: "/api/collections", token: tokenOf(t, e.app, staff), wantStatus: 200},
		{name: "staff cannot change the collection", method: "PATCH", path: "/api/collections/posts", token: tokenOf(t, e.app, staff),
			body: `{"listRule":null}`, wantStatus: 403},
		{name: "nor create one", method: "POST", path: "/api/collections", token: tokenOf(t, e.app, staff), body: `{"name":"mine"}`, wantStatus: 403},
		{name: "nor truncate one", method: "DELETE", path: "/api/collections/posts/truncate", token: tokenOf(t, e.app, staff), wantStatus: 403},
		{name: "nor read settings", path: "/api/settings", token: tokenOf(t, e.app, staff), wantStatus: 403},
		{name: "nor read logs", path: "/api/logs", token: tokenOf(t, e.app, staff), wantStatus: 403},
		{name: "nor manage policies", path: "/api/hg/policies", token: tokenOf(t, e.app, staff), wantStatus: 403},
		{name: "a staff account without roles reads no schema", path: "/api/collections", token: tokenOf(t, e.app, bare), wantStatus: 403},
		{name: "guests get a 401", path: "/api/collections", wantStatus: 401},
		{name: "the rule was not changed", path: "/api/collections/posts", token: "superuser", wantStatus: 200, wantContent: []string{`"listRule":""`}},
	})
	e.run(t, []scenario{
		{name: "grant schema writes", method: "POST", path: "/api/hg/policies", token: "superuser",
			body: `{"subject":"role:support","resource":"admin:schema","action":"write"}`, wantStatus: 200},
		{name: "now staff changes the collection", method: "PATCH", path: "/api/collections/posts", token: tokenOf(t, e.app, staff),
			body: `{"listRule":null}`, wantStatus: 200, wantContent: []string{`"listRule":null`}},
		{name: "grant policies to support", method: "POST", path: "/api/hg/policies", token: "superuser",
			body: `{"subject":"role:support","resource":"admin:policies","action":"*"}`, wantStatus: 200},
		{name: "staff manages policies within its rights", method: "POST", path: "/api/hg/policies", token: tokenOf(t, e.app, staff),
			body: `{"subject":"role:readers","resource":"admin:schema","action":"read"}`, wantStatus: 200},
		{name: "but grants nothing it lacks", method: "POST", path: "/api/hg/policies", token: tokenOf(t, e.app, staff),
			body: `{"subject":"role:support","resource":"admin:logs","action":"read"}`, wantStatus: 403,
			wantContent: []string{"You can only grant, deny or remove what you are allowed yourself (admin:logs read)."}},
		{name: "so reads no logs", path: "/api/logs", token: tokenOf(t, e.app, staff), wantStatus: 403},
	})
}
