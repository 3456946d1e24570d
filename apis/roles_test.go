package apis_test

import (
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
)

func TestPoliciesAPI(t *testing.T) {
	t.Parallel()
	e := authzEnv(t)
	mustCollection(t, e.app, `{"name":"users","type":"auth","fields":[]}`)
	user := account(t, e.app, "users", "u@example.com")
	var id string
	e.run(t, []scenario{
		{name: "guest", path: "/api/hg/policies", wantStatus: 401},
		{name: "user", path: "/api/hg/policies", token: tokenOf(t, e.app, user), wantStatus: 403},
		{name: "list has the default policy", path: "/api/hg/policies", token: "superuser", wantStatus: 200,
			wantContent: []string{`"totalItems":1`, `"subject":"*","resource":"collection:*","action":"*","effect":"allow"`}},
		{name: "create defaults to allow", method: "POST", path: "/api/hg/policies", token: "superuser",
			body:       `{"subject":"record:` + user.Collection().ID + `/` + user.ID() + `","resource":"admin:logs","action":"read"}`,
			wantStatus: 200, wantContent: []string{`"effect":"allow"`}, check: policyID(&id)},
		{name: "duplicate", method: "POST", path: "/api/hg/policies", token: "superuser",
			body:       `{"subject":"record:` + user.Collection().ID + `/` + user.ID() + `","resource":"admin:logs","action":"read","effect":"allow"}`,
			wantStatus: 400, wantContent: []string{`"policy":{"code":"validation_not_unique"`}},
		{name: "bad subject", method: "POST", path: "/api/hg/policies", token: "superuser",
			body: `{"subject":"alice","resource":"collection:posts","action":"list"}`, wantStatus: 400,
			wantContent: []string{`"subject":{"code":"validation_invalid_value"`}},
		{name: "bad resource", method: "POST", path: "/api/hg/policies", token: "superuser",
			body: `{"subject":"*","resource":"posts","action":"list"}`, wantStatus: 400, wantContent: []string{`"resource":{"code":"validation_invalid_value"`}},
		{name: "bad action", method: "POST", path: "/api/hg/policies", token: "superuser",
			body: `{"subject":"*","resource":"admin:schema","action":"list"}`, wantStatus: 400, wantContent: []string{`"action":{"code":"validation_invalid_value"`}},
		{name: "bad effect", method: "POST", path: "/api/hg/policies", token: "superuser",
			body: `{"subject":"*","resource":"collection:x","action":"list","effect":"maybe"}`, wantStatus: 400, wantContent: []string{`"effect":`}},
		{name: "malformed", method: "POST", path: "/api/hg/policies", token: "superuser", body: `{"subject":`, wantStatus: 400},
		{name: "not an id", path: "/api/hg/policies/abc", token: "superuser", wantStatus: 404},
		{name: "unknown id", path: "/api/hg/policies/999999", token: "superuser", wantStatus: 404},
		{name: "update unknown", method: "PATCH", path: "/api/hg/policies/999999", token: "superuser", body: `{"effect":"deny"}`, wantStatus: 404},
		{name: "delete unknown", method: "DELETE", path: "/api/hg/policies/999999", token: "superuser", wantStatus: 404},
	})
	e.run(t, []scenario{
		{name: "view", path: "/api/hg/policies/" + id, token: "superuser", wantStatus: 200, wantContent: []string{`"id":` + id, `"resource":"admin:logs"`}},
		{name: "the user reads logs", path: "/api/logs", token: tokenOf(t, e.app, user), wantStatus: 200},
		{name: "but writes no settings", method: "PATCH", path: "/api/settings", token: tokenOf(t, e.app, user), body: `{}`, wantStatus: 403},
		{name: "update to an invalid action", method: "PATCH", path: "/api/hg/policies/" + id, token: "superuser", body: `{"action":"delete"}`, wantStatus: 400},
		{name: "update to a duplicate", method: "PATCH", path: "/api/hg/policies/" + id, token: "superuser",
			body: `{"subject":"*","resource":"collection:*","action":"*"}`, wantStatus: 400, wantContent: []string{`validation_not_unique`}},
		{name: "update", method: "PATCH", path: "/api/hg/policies/" + id, token: "superuser", body: `{"effect":"deny"}`, wantStatus: 200,
			wantContent: []string{`"id":` + id, `"effect":"deny"`}},
		{name: "the user reads no logs", path: "/api/logs", token: tokenOf(t, e.app, user), wantStatus: 403},
		{name: "paging", path: "/api/hg/policies?perPage=1&page=2", token: "superuser", wantStatus: 200,
			wantContent: []string{`"page":2`, `"totalItems":2`, `"id":` + id}},
		{name: "delete", method: "DELETE", path: "/api/hg/policies/" + id, token: "superuser", wantStatus: 204},
		{name: "deleted", path: "/api/hg/policies/" + id, token: "superuser", wantStatus: 404},
	})
}

func TestRolesAPI(t *testing.T) {
	t.Parallel()
	e := authzEnv(t)
	mustCollection(t, e.app, `{"name":"users","type":"auth","fields":[]}`)
	mustCollection(t, e.app, `{"name":"posts","fields":[],"listRule":""}`)
	alice := account(t, e.app, "users", "alice@example.com")
	bob := account(t, e.app, "users", "bob@example.com")
	users := alice.Collection()
	member := func(r *core.Record) string { return `{"collectionId":"` + users.ID + `","recordId":"` + r.ID() + `"}` }
	roleIs := func(inherits []string, members ...string) func(t *testing.T, rec *httptest.ResponseRecorder) {
		return func(t *testing.T, rec *httptest.ResponseRecorder) {
			var r core.RoleView
			json.Unmarshal(rec.Body.Bytes(), &r)
			if len(r.Inherits) != len(inherits) || len(r.Members) != len(members) {
				t.Fatalf("role = %+v", r)
			}
			for i, want := range inherits {
				if r.Inherits[i] != want {
					t.Fatalf("inherits = %v", r.Inherits)
				}
			}
			for i, want := range members {
				if r.Members[i].Subject != want {
					t.Fatalf("members = %+v", r.Members)
				}
			}
		}
	}
	sub := func(r *core.Record) string { return "record:" + users.ID + "/" + r.ID() }

	e.run(t, []scenario{
		{name: "no roles yet", path: "/api/hg/roles", token: "superuser", wantStatus: 200, wantContent: []string{`"items":[]`, `"totalItems":0`}},
		{name: "user", path: "/api/hg/roles", token: tokenOf(t, e.app, alice), wantStatus: 403},
		{name: "unknown role", path: "/api/hg/roles/editor", token: "superuser", wantStatus: 404},
		{name: "create author", method: "PUT", path: "/api/hg/roles/author", token: "superuser", body: `{"members":[` + member(bob) + `]}`,
			wantStatus: 200, check: roleIs(nil, sub(bob))},
		{name: "create editor", method: "PUT", path: "/api/hg/roles/editor", token: "superuser",
			body: `{"inherits":["author"],"members":[` + member(alice) + `,{"subject":"guest"}]}`, wantStatus: 200,
			check: roleIs([]string{"author"}, "guest", sub(alice))},
		{name: "cycle", method: "PUT", path: "/api/hg/roles/author", token: "superuser", body: `{"inherits":["editor"]}`,
			wantStatus: 400, wantContent: []string{`"inherits":{"code":"validation_invalid_value"`}},
		{name: "bad name", method: "PUT", path: "/api/hg/roles/-x", token: "superuser", body: `{}`, wantStatus: 400, wantContent: []string{`"name":`}},
		{name: "member of a base collection", method: "PUT", path: "/api/hg/roles/editor", token: "superuser",
			body: `{"members":[{"collectionName":"posts","recordId":"aaaaaaaaaaaaaaa"}]}`, wantStatus: 400, wantContent: []string{`"members":{"0":`}},
		{name: "missing record", method: "PUT", path: "/api/hg/roles/editor", token: "superuser",
			body: `{"members":[{"collectionName":"users","recordId":"aaaaaaaaaaaaaaa"}]}`, wantStatus: 400},
		{name: "role as member", method: "POST", path: "/api/hg/roles/editor/members", token: "superuser",
			body: `{"subject":"role:author"}`, wantStatus: 400},
		{name: "list", path: "/api/hg/roles", token: "superuser", wantStatus: 200,
			wantContent: []string{`"totalItems":2`, `"name":"author"`, `"name":"editor"`, `"inherits":["author"]`}},
		{name: "add bob to editor", method: "POST", path: "/api/hg/roles/editor/members", token: "superuser",
			body: `{"collectionName":"users","recordId":"` + bob.ID() + `"}`, wantStatus: 200},
		{name: "remove alice by collection name", method: "DELETE", path: "/api/hg/roles/editor/members/users/" + alice.ID(), token: "superuser", wantStatus: 204},
		{name: "remove alice again", method: "DELETE", path: "/api/hg/roles/editor/members/users/" + alice.ID(), token: "superuser", wantStatus: 404},
		{name: "remove guest", method: "DELETE", path: "/api/hg/roles/editor/members/guest", token: "superuser", wantStatus: 204},
		{name: "editor now", path: "/api/hg/roles/editor", token: "superuser", wantStatus: 200, check: roleIs([]string{"author"}, sub(bob))},
		{name: "drop inheritance", method: "PUT", path: "/api/hg/roles/editor", token: "superuser", body: `{"inherits":[]}`,
			wantStatus: 200, check: roleIs(nil, sub(bob))},
		{name: "delete editor", method: "DELETE", path: "/api/hg/roles/editor", token: "superuser", wantStatus: 204},
		{name: "deleted", path: "/api/hg/roles/editor", token: "superuser", wantStatus: 404},
		{name: "delete again", method: "DELETE", path: "/api/hg/roles/editor", token: "superuser", wantStatus: 404},
	})
}
