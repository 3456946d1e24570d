package apis_test

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// shapeEnv is a blog whose posts expand to authors, tags and comments.
type shapeEnv struct {
	*env
	ann, bob, post, bare string
	tags                 []string // go, hidden, sql
}

func newShapeEnv(t *testing.T) *shapeEnv {
	t.Helper()
	e := &shapeEnv{env: newEnv(t, coretest.NewApp(t))}
	mustCollection(t, e.app, `{"name":"authors","listRule":"","viewRule":"","fields":[{"name":"name","type":"text"},{"name":"secret","type":"text","hidden":true}]}`)
	mustCollection(t, e.app, `{"name":"tags","viewRule":"name != 'hidden'","fields":[{"name":"name","type":"text"}]}`)
	mustCollection(t, e.app, `{"name":"vault","fields":[{"name":"name","type":"text"}]}`)
	mustCollection(t, e.app, `{"name":"posts","listRule":"","viewRule":"","createRule":"","updateRule":"","fields":[
		{"name":"title","type":"text"},{"name":"body","type":"editor"},
		{"name":"author","type":"relation","collectionId":"authors"},
		{"name":"tags","type":"relation","collectionId":"tags","maxSelect":10},
		{"name":"vault","type":"relation","collectionId":"vault"}]}`)
	mustCollection(t, e.app, `{"name":"comments","viewRule":"public = true","fields":[
		{"name":"text","type":"text"},{"name":"public","type":"bool"},
		{"name":"post","type":"relation","collectionId":"posts"},
		{"name":"user","type":"relation","collectionId":"authors"}]}`)

	create := func(col string, body map[string]any) string {
		c, err := e.app.Collections().Find(col)
		if err != nil {
			t.Fatal(err)
		}
		r, err := e.app.Records().Create(core.AsSystem(context.Background()), c, body)
		if err != nil {
			t.Fatal(err)
		}
		return r.ID()
	}
	e.ann = create("authors", map[string]any{"name": "Ann", "secret": "s3"})
	e.bob = create("authors", map[string]any{"name": "Bob"})
	for _, n := range []string{"go", "hidden", "sql"} {
		e.tags = append(e.tags, create("tags", map[string]any{"name": n}))
	}
	vault := create("vault", map[string]any{"name": "gold"})
	e.post = create("posts", map[string]any{"title": "Hello", "author": e.ann, "vault": vault,
		"body": "<h1>Big   news</h1><p>Today we <b>ship</b> expand<script>alert(1)</script> and fields.</p>",
		"tags": []string{e.tags[2], e.tags[1], e.tags[0]}})
	e.bare = create("posts", map[string]any{"title": "Bare"})
	create("comments", map[string]any{"text": "first", "public": true, "post": e.post, "user": e.bob})
	create("comments", map[string]any{"text": "private", "post": e.post, "user": e.ann})
	create("comments", map[string]any{"text": "third", "public": true, "post": e.post, "user": e.ann})
	return e
}

// jsonAt decodes the body and checks the value at a dot path (array
// indexes as numbers) against want, compared as JSON.
func jsonAt(path string, want any) func(t *testing.T, rec *httptest.ResponseRecorder) {
	return func(t *testing.T, rec *httptest.ResponseRecorder) {
		t.Helper()
		var v any
		if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
			t.Fatalf("body: %v", err)
		}
		got, ok := lookup(v, path)
		wantJSON, _ := json.Marshal(want)
		var wantV any
		_ = json.Unmarshal(wantJSON, &wantV)
		if want == nil && !ok {
			return // absent is what nil asks for
		}
		if !ok || !reflect.DeepEqual(got, wantV) {
			gotJSON, _ := json.Marshal(got)
			t.Errorf("%s = %s (found %v), want %s; body %s", path, gotJSON, ok, wantJSON, rec.Body.String())
		}
	}
}

func lookup(v any, path string) (any, bool) {
	if path == "" {
		return v, true
	}
	for _, key := range strings.Split(path, ".") {
		switch x := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = x[key]; !ok {
				return nil, false
			}
		case []any:
			i := 0
			for _, d := range key {
				i = i*10 + int(d-'0')
			}
			if i >= len(x) {
				return nil, false
			}
			v = x[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// all runs several checks.
func all(checks ...func(*testing.T, *httptest.ResponseRecorder)) func(*testing.T, *httptest.ResponseRecorder) {
	return func(t *testing.T, rec *httptest.ResponseRecorder) {
		t.Helper()
		for _, c := range checks {
			c(t, rec)
		}
	}
}

// keysAre checks the sorted keys of the object at path.
func keysAre(path string, want ...string) func(*testing.T, *httptest.ResponseRecorder) {
	return func(t *testing.T, rec *httptest.ResponseRecorder) {
		t.Helper()
		var v any
		_ = json.Unmarshal(rec.Body.Bytes(), &v)
		got, _ := lookup(v, path)
		m, ok := got.(map[string]any)
		if !ok {
			t.Fatalf("%s is not an object: %s", path, rec.Body.String())
		}
		var keys []string
		for k := range m {
			keys = append(keys, k)
		}
		if strings.Join(sorted(keys), ",") != strings.Join(sorted(want), ",") {
			t.Errorf("%s keys = %v, want %v", path, sorted(keys), sorted(want))
		}
	}
}

func sorted(s []string) []string {
	out := append([]string{}, s...)
	for i := range out {
		for j := i + 1; j < len(out); j++ {
			if out[j] < out[i] {
				out[i], out[j] = out[j], out[i]
			}
		}
	}
	return out
}

func TestRecordExpand(t *testing.T) {
	t.Parallel()
	e := newShapeEnv(t)
	view := "/api/collections/posts/records/" + e.post + "?expand="
	e.run(t, []scenario{
		{name: "single relation", path: view + "author", wantStatus: 200, check: all(
			jsonAt("expand.author.id", e.ann), jsonAt("expand.author.name", "Ann"),
			jsonAt("expand.author.collectionName", "authors"), jsonAt("expand.author.secret", nil))},
		{name: "hidden fields of expanded records for superusers", path: view + "author", token: "superuser", wantStatus: 200,
			check: jsonAt("expand.author.secret", "s3")},
		{name: "multiple relation in stored order, view rule applied", path: view + "tags", wantStatus: 200, check: all(
			jsonAt("expand.tags.0.name", "sql"), jsonAt("expand.tags.1.name", "go"), jsonAt("expand.tags.2", nil))},
		{name: "multiple relation as superuser", path: view + "tags", token: "superuser", wantStatus: 200, check: all(
			jsonAt("expand.tags.0.name", "sql"), jsonAt("expand.tags.1.name", "hidden"), jsonAt("expand.tags.2.name", "go"))},
		{name: "back-relation, view rule and nested", path: view + urlq("comments_via_post.user,author"), wantStatus: 200, check: all(
			jsonAt("expand.comments_via_post.0.text", "first"), jsonAt("expand.comments_via_post.0.expand.user.name", "Bob"),
			jsonAt("expand.comments_via_post.1.text", "third"), jsonAt("expand.comments_via_post.1.expand.user.name", "Ann"),
			jsonAt("expand.comments_via_post.2", nil), jsonAt("expand.author.name", "Ann"))},
		{name: "back-relation as superuser", path: view + "comments_via_post", token: "superuser", wantStatus: 200,
			check: jsonAt("expand.comments_via_post.1.text", "private")},
		{name: "deep path back to the start", path: view + "comments_via_post.post.author", wantStatus: 200,
			check: jsonAt("expand.comments_via_post.0.expand.post.expand.author.name", "Ann")},
		{name: "superuser-only collection is not expanded for guests", path: view + "vault", wantStatus: 200,
			notContent: []string{`"expand"`, "gold"}},
		{name: "superuser-only collection for superusers", path: view + "vault", token: "superuser", wantStatus: 200,
			check: jsonAt("expand.vault.name", "gold")},
		{name: "unknown paths are ignored", path: view + urlq("nope,title,tags.nope,author"), wantStatus: 200, check: all(
			keysAre("expand", "author"), jsonAt("expand.author.name", "Ann"))},
		{name: "only unknown paths: no expand", path: view + "nope", wantStatus: 200, notContent: []string{`"expand"`}},
		{name: "no expand parameter", path: "/api/collections/posts/records/" + e.post, wantStatus: 200, notContent: []string{`"expand"`}},
		{name: "empty relation gives an empty expand", path: "/api/collections/posts/records/" + e.bare + "?expand=author,comments_via_post",
			wantStatus: 200, wantContent: []string{`"expand":{}`}},
		{name: "list expands every item", path: "/api/collections/posts/records?sort=title&expand=author", wantStatus: 200, check: all(
			jsonAt("items.0.title", "Bare"), jsonAt("items.0.expand", map[string]any{}),
			jsonAt("items.1.expand.author.name", "Ann"))},
		{name: "create expands the response", method: "POST", path: "/api/collections/posts/records?expand=author",
			body: `{"title":"New","author":"` + e.bob + `"}`, wantStatus: 200, check: jsonAt("expand.author.name", "Bob")},
		{name: "update expands the response", method: "PATCH", path: "/api/collections/posts/records/" + e.bare + "?expand=tags",
			body: `{"tags":["` + e.tags[0] + `"]}`, wantStatus: 200, check: jsonAt("expand.tags.0.name", "go")},
	})
}

func TestRecordFields(t *testing.T) {
	t.Parallel()
	e := newShapeEnv(t)
	view := "/api/collections/posts/records/" + e.post
	e.run(t, []scenario{
		{name: "pick keys", path: view + "?fields=id,title", wantStatus: 200, check: all(
			keysAre("", "id", "title"), jsonAt("title", "Hello"))},
		{name: "pick into expand", path: view + "?expand=author,tags&fields=" + urlq("id,expand.author.name,expand.tags.name"), wantStatus: 200, check: all(
			keysAre("", "id", "expand"), keysAre("expand", "author", "tags"), keysAre("expand.author", "name"),
			keysAre("expand.tags.0", "name"), jsonAt("expand.tags.1.name", "go"))},
		{name: "wildcard keeps the rest of its level", path: view + "?expand=author&fields=" + urlq("*,expand.author.name"), wantStatus: 200, check: all(
			keysAre("", "id", "title", "body", "author", "tags", "vault", "collectionId", "collectionName", "expand"),
			keysAre("expand.author", "name"))},
		{name: "nested wildcard", path: view + "?expand=author&fields=" + urlq("id,expand.author.*"), wantStatus: 200, check: all(
			keysAre("", "id", "expand"), keysAre("expand.author", "id", "name", "collectionId", "collectionName"))},
		{name: "excerpt strips HTML and adds an ellipsis", path: view + "?fields=" + urlq("body:excerpt(18,true)"), wantStatus: 200,
			check: all(keysAre("", "body"), jsonAt("body", "Big news Today we..."))},
		{name: "excerpt without ellipsis", path: view + "?fields=" + urlq("title,body:excerpt(200)"), wantStatus: 200,
			check: jsonAt("body", "Big news Today we ship expand and fields.")},
		{name: "excerpt with spaces in the arguments", path: view + "?fields=" + urlq("body:excerpt(8, true)"), wantStatus: 200,
			check: jsonAt("body", "Big news...")},
		{name: "wildcard with a modifier", path: view + "?fields=" + urlq("*:excerpt(3)"), wantStatus: 200,
			check: all(jsonAt("title", "Hel"), jsonAt("body", "Big"))},
		{name: "list picks items and keeps paging", path: "/api/collections/posts/records?sort=title&fields=" + urlq("title"), wantStatus: 200, check: all(
			keysAre("", "page", "perPage", "totalItems", "totalPages", "items"), keysAre("items.0", "title"), jsonAt("items.1.title", "Hello"))},
		{name: "unknown keys pick nothing", path: view + "?fields=nope", wantStatus: 200, check: keysAre("")},
		{name: "unknown modifier", path: view + "?fields=" + urlq("title:nope(1)"), wantStatus: 400},
		{name: "excerpt needs a positive max", path: view + "?fields=" + urlq("title:excerpt(0)"), wantStatus: 400},
		{name: "errors are not picked", path: "/api/collections/posts/records/aaaaaaaaaaaaaaa?fields=id", wantStatus: 404,
			wantContent: []string{`"message"`, `"status":404`}},
		{name: "create picks", method: "POST", path: "/api/collections/posts/records?fields=title", body: `{"title":"New"}`, wantStatus: 200,
			check: keysAre("", "title")},
		{name: "excerpt never splits a character", method: "POST", path: "/api/collections/posts/records?fields=" + urlq("title:excerpt(2,true)"),
			body: `{"title":"héllo"}`, wantStatus: 200, check: jsonAt("title", "h...")},
	})
}
