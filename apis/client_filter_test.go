package apis_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// clientFilterEnv is the setup: a public posts collection whose
// author is a user (users may list only themselves) and whose secret is a
// record of secrets (superusers only). Alice's email is hidden; a members
// directory lists everyone but shows no email.
func clientFilterEnv(t *testing.T) (*env, map[string]string) {
	t.Helper()
	e := newEnv(t, coretest.NewApp(t))
	mustCollection(t, e.app, `{"name":"users","type":"auth","listRule":"id = @request.auth.id","viewRule":"id = @request.auth.id","fields":[{"name":"name","type":"text"}]}`)
	mustCollection(t, e.app, `{"name":"secrets","fields":[{"name":"value","type":"text"},{"name":"owner","type":"relation","collectionId":"users"}]}`)
	mustCollection(t, e.app, `{"name":"posts","listRule":"","viewRule":"","fields":[{"name":"title","type":"text"},
		{"name":"author","type":"relation","collectionId":"users"},{"name":"secret","type":"relation","collectionId":"secrets"}]}`)
	mustCollection(t, e.app, `{"name":"members","type":"auth","listRule":"","viewRule":"","fields":[{"name":"name","type":"text"}]}`)
	alice := mustRecord(t, e.app, "users", map[string]any{"email": "alice@example.com", "password": "Secret12345", "passwordConfirm": "Secret12345", "name": "Alice Private"})
	secret := mustRecord(t, e.app, "secrets", map[string]any{"value": "TOPSECRET-42", "owner": alice.ID()})
	post := mustRecord(t, e.app, "posts", map[string]any{"title": "hello", "author": alice.ID(), "secret": secret.ID()})
	for _, title := range []string{"zeta", "alpha"} {
		mustRecord(t, e.app, "posts", map[string]any{"title": title})
	}
	member := mustRecord(t, e.app, "members", map[string]any{"email": "hidden-member@example.com", "password": "Secret12345", "passwordConfirm": "Secret12345", "name": "M"})
	return e, map[string]string{
		"post": post.ID(), "alice": tokenOf(t, e.app, alice), "member": tokenOf(t, e.app, member),
	}
}

const (
	invalidFilter    = `"message":"Something went wrong while processing your request. Invalid filter."`
	onlyByCollection = `"message":"Only superusers can filter by @collection."`
	onlyByRequest    = `"message":"Only superusers can filter by @request."`
)

func filterPath(collection, filter string) string {
	return "/api/collections/" + collection + "/records?filter=" + urlq(filter)
}

// TestClientFiltersReachOnlyWhatTheCallerMayList replays finding 2 of
// issue 15: a guest read secrets, a user's name and the superusers through
// a filter, one character at a time. PocketBase's answers: @collection and
// @request are for superusers (403), a join into a collection the caller
// may not list is a 400, and a join into one it may list sees only what
// its listRule lets the caller list.
func TestClientFiltersReachOnlyWhatTheCallerMayList(t *testing.T) {
	t.Parallel()
	e, ids := clientFilterEnv(t)
	e.run(t, []scenario{
		{name: "@collection into a null listRule", path: filterPath("posts", `@collection.secrets.value ~ 'TOPSECRET-4%'`),
			wantStatus: 403, wantContent: []string{onlyByCollection}},
		{name: "@collection into _superusers", path: filterPath("posts", `@collection._superusers.id != ''`),
			wantStatus: 403, wantContent: []string{onlyByCollection}},
		{name: "@collection into a public collection", path: filterPath("posts", `@collection.posts.title ?= 'hello'`),
			wantStatus: 403, wantContent: []string{onlyByCollection}},
		{name: "@collection into no collection", path: filterPath("posts", `@collection.nothing.x = 1`),
			wantStatus: 403, wantContent: []string{onlyByCollection}},
		{name: "@collection in sort", path: "/api/collections/posts/records?sort=" + urlq("@collection.secrets.value"),
			wantStatus: 403, wantContent: []string{onlyByCollection}},
		{name: "relation into a null listRule", path: filterPath("posts", `secret.value ~ 'TOPSECRET%'`),
			wantStatus: 400, wantContent: []string{invalidFilter}},
		{name: "relation with a modifier into a null listRule", path: filterPath("posts", `secret.value:length > 3`),
			wantStatus: 400, wantContent: []string{invalidFilter}},
		{name: "a relation's stored id needs no join", path: filterPath("posts", `secret.id != ''`),
			wantStatus: 200, wantContent: []string{`"totalItems":1`, ids["post"]}},
		{name: "back-relation into a null listRule", path: filterPath("posts", `author.secrets_via_owner.value ?~ 'TOP'`),
			wantStatus: 400, wantContent: []string{invalidFilter}},
		{name: "relation under the target's listRule, guest", path: filterPath("posts", `author.name ~ 'Alice P%'`),
			wantStatus: 200, wantContent: []string{`"totalItems":0`}},
		{name: "relation under the target's listRule, the user herself", path: filterPath("posts", `author.name ~ 'Alice P%'`), token: ids["alice"],
			wantStatus: 200, wantContent: []string{`"totalItems":1`, ids["post"]}},
		{name: "relation under the target's listRule, someone else", path: filterPath("posts", `author.name ~ 'Alice P%'`), token: ids["member"],
			wantStatus: 200, wantContent: []string{`"totalItems":0`}},
		{name: "@request.auth in a user's filter", path: filterPath("posts", `@request.auth.name ~ 'Alice'`), token: ids["alice"],
			wantStatus: 403, wantContent: []string{onlyByRequest}},
		{name: "@request in a guest's sort", path: "/api/collections/posts/records?sort=" + urlq("@request.auth.id"),
			wantStatus: 403, wantContent: []string{onlyByRequest}},
		{name: "hidden field through a relation", path: filterPath("posts", `author.tokenKey ~ 'a'`), token: ids["alice"],
			wantStatus: 400, wantContent: []string{invalidFilter}},
		{name: "superuser: @collection", path: filterPath("posts", `@collection.secrets.value ~ 'TOPSECRET-4%'`), token: "superuser",
			wantStatus: 200, wantContent: []string{`"totalItems":3`}},
		{name: "superuser: relations and @request", path: filterPath("posts", `secret.value ~ 'TOPSECRET%' && author.name ~ 'Alice P%' && @request.auth.id != ''`), token: "superuser",
			wantStatus: 200, wantContent: []string{`"totalItems":1`, ids["post"]}},
	})
}

// TestClientFilterJoinsAskCasbin: a collection whose list Casbin denies the
// caller cannot be joined, even with a listRule that lets anyone list.
func TestClientFilterJoinsAskCasbin(t *testing.T) {
	t.Parallel()
	e, ids := clientFilterEnv(t)
	var open core.CollectionInput
	json.Unmarshal([]byte(`{"listRule":""}`), &open)
	if _, err := e.app.Collections().Update(context.Background(), "users", &open); err != nil {
		t.Fatal(err)
	}
	q := filterPath("posts", `author.name ~ 'Alice P%'`)
	e.run(t, []scenario{{name: "open listRule", path: q, wantStatus: 200, wantContent: []string{`"totalItems":1`}}})
	deny := authz.Policy{Subject: "*", Resource: authz.CollectionResource("users"), Action: "list", Effect: "deny"}
	if _, err := e.app.Authz().AddPolicy(context.Background(), deny); err != nil {
		t.Fatal(err)
	}
	e.run(t, []scenario{
		{name: "Casbin denies guests", path: q, wantStatus: 400, wantContent: []string{invalidFilter}},
		{name: "Casbin denies users", path: q, token: ids["alice"], wantStatus: 400, wantContent: []string{invalidFilter}},
		{name: "superusers pass", path: q, token: "superuser", wantStatus: 200, wantContent: []string{`"totalItems":1`}},
	})
}

// TestHiddenEmailsAreNotFilterable replays the email:length part of
// finding 10: a directory that lists its members but hides their emails
// told their length, and so their characters through :lower, ~ and sort.
// As in PocketBase, a hidden email matches nothing in a client filter, for
// its owner too, whatever the modifier.
func TestHiddenEmailsAreNotFilterable(t *testing.T) {
	t.Parallel()
	e, ids := clientFilterEnv(t)
	mustRecord(t, e.app, "members", map[string]any{"email": "shown@example.com", "emailVisibility": true, "password": "Secret12345", "passwordConfirm": "Secret12345"})
	none := []string{`"totalItems":0`}
	var scenarios []scenario
	for _, f := range []string{`email:length = 25`, `email:length > 0`, `email:length != 3`, `email:lower ~ 'hidden'`, `email ~ 'hidden-m%'`,
		`email = null`, `email != 'x'`, `email > ''`} {
		for _, token := range []string{"", ids["member"], ids["alice"]} {
			scenarios = append(scenarios, scenario{name: f, path: filterPath("members", f+` && emailVisibility = false`), token: token, wantStatus: 200, wantContent: none})
		}
		if f != `email = null` { // which no stored email is
			scenarios = append(scenarios, scenario{name: "superuser " + f, path: filterPath("members", f+` && emailVisibility = false`), token: "superuser", wantStatus: 200, notContent: none})
		}
	}
	scenarios = append(scenarios,
		scenario{name: "a visible email is filterable", path: filterPath("members", `email:length = 17 && email ~ 'shown'`), wantStatus: 200, wantContent: []string{`"totalItems":1`}},
		scenario{name: "through a relation", path: filterPath("posts", `author.email:length > 0`), token: ids["alice"], wantStatus: 200, wantContent: none},
	)
	e.run(t, scenarios)

	// Sorting by the email keeps the insertion order of hidden ones,
	// whatever they hold: "hidden-member" < "shown", then add "a..." and
	// "z..." members and check the order does not follow their emails.
	mustRecord(t, e.app, "members", map[string]any{"email": "zzz@example.com", "password": "Secret12345", "passwordConfirm": "Secret12345"})
	mustRecord(t, e.app, "members", map[string]any{"email": "aaa@example.com", "password": "Secret12345", "passwordConfirm": "Secret12345"})
	for _, sort := range []string{"email", "-email", "email:lower", "email:length"} {
		got := listEmailsOrder(t, e, "/api/collections/members/records?filter="+urlq("emailVisibility = false")+"&sort="+urlq(sort))
		if want := []string{"hidden-member", "zzz", "aaa"}; !slices.Equal(got, want) {
			t.Errorf("sort=%s: names in order %v, want insertion order %v", sort, got, want)
		}
	}
}

// listEmailsOrder lists as a guest and returns the local part of each
// item's email as the superuser knows it, in the order listed.
func listEmailsOrder(t *testing.T, e *env, path string) []string {
	t.Helper()
	rec := e.do(scenario{path: path})
	if rec.Code != 200 {
		t.Fatalf("%s: %d %s", path, rec.Code, rec.Body.String())
	}
	c, _ := e.app.Collections().Find("members")
	var out []string
	for _, id := range itemIDs(t, rec) {
		r, err := e.app.Records().Find(context.Background(), c, id)
		if err != nil {
			t.Fatal(err)
		}
		local, _, _ := cutAt(r.GetString("email"))
		out = append(out, local)
	}
	return out
}

func cutAt(email string) (string, string, bool) {
	for i := range email {
		if email[i] == '@' {
			return email[:i], email[i+1:], true
		}
	}
	return email, "", false
}

func itemIDs(t *testing.T, rec *httptest.ResponseRecorder) []string {
	t.Helper()
	var page struct {
		Items []struct {
			ID string `json:"id"`
		} `json:"items"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, it := range page.Items {
		ids = append(ids, it.ID)
	}
	return ids
}

// TestRulesKeepFullAccess: API rules are the admin's and reach what client
// filters may not, as in PocketBase: other collections through
// @collection, relations and back-relations, hidden fields and hidden
// emails.
func TestRulesKeepFullAccess(t *testing.T) {
	t.Parallel()
	e, _ := clientFilterEnv(t)
	mustCollection(t, e.app, `{"name":"notes","fields":[{"name":"title","type":"text"},{"name":"code","type":"text","hidden":true},{"name":"author","type":"relation","collectionId":"users"}],
		"listRule":"code = 'abc' && author.email ~ 'alice@' && author.secrets_via_owner.value ?~ 'TOP' && @collection.secrets.value ?= 'TOPSECRET-42'"}`)
	c, _ := e.app.Collections().Find("users")
	alice, err := e.app.Records().List(core.AsSystem(context.Background()), c, core.RecordQuery{})
	if err != nil || len(alice.Items) != 1 {
		t.Fatal(err)
	}
	mustRecord(t, e.app, "notes", map[string]any{"title": "yes", "code": "abc", "author": alice.Items[0].ID()})
	mustRecord(t, e.app, "notes", map[string]any{"title": "no", "code": "xyz", "author": alice.Items[0].ID()})
	e.run(t, []scenario{{name: "guest list", path: "/api/collections/notes/records", wantStatus: 200,
		wantContent: []string{`"totalItems":1`, `"title":"yes"`}, notContent: []string{`"code"`}}})
}
