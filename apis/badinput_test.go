package apis_test

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/apis/apitest"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// TestBadInputNever5xx throws malformed and hostile requests at the
// collection and record routes: each must get a 4xx in PocketBase's
// error shape, never a 5xx, and leave the data as it was.
func TestBadInputNever5xx(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	mustCollection(t, e.app, `{"name":"posts","listRule":"","viewRule":"","createRule":"","updateRule":"","deleteRule":"",
		"fields":[{"name":"title","type":"text","required":true},{"name":"n","type":"number"},{"name":"meta","type":"json","maxSize":100},
		{"name":"tags","type":"select","values":["a"],"maxSelect":1},{"name":"due","type":"date"}]}`)
	rec := e.do(scenario{method: "POST", path: "/api/collections/posts/records", body: `{"title":"keep"}`})
	if rec.Code != 200 {
		t.Fatal(rec.Body.String())
	}

	records := "/api/collections/posts/records"
	type req struct{ method, path, body, ctype string }
	var reqs []req
	add := func(method, path, body string) { reqs = append(reqs, req{method, path, body, "application/json"}) }
	for _, body := range []string{
		`{`, `[]`, `[1,2]`, `"str"`, `123`, `null`, `true`, `{"title":`, `{"title":"x"}}`, `{"title":"x"} {"title":"y"}`, "\x00\x01",
		`{"title":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
		`{"title":"` + strings.Repeat("x", 6000) + `"}`, `{"title":["a","b"]}`, `{"title":{"a":1}}`,
		`{"meta":"` + strings.Repeat("y", 200) + `","title":"x"}`, `{"title":"x","tags":["a","b"]}`, `{"title":"x","tags":"zzz"}`,
		`{"title":"x","id":"short"}`, `{"title":"x","id":"UPPERCASE123456"}`, `{"title":"x","id":"../../etc/passwd"}`,
		`{"title":null}`, `{"title":""}`, `{"title":"\u0000"}`,
	} {
		add("POST", records, body)
		add("PATCH", records+"/nonexistent0000", body)
	}
	for _, f := range []string{
		`title = `, `title = 'x`, `(title = 'x'`, `title == 'x'`, `title = 'x' &&`, `&& title = 1`, `nope = 1`, `title.x = 1`,
		`title = nope`, `@request.nope = 1`, `@collection.nope.x = 1`, `@collection.posts = 1`, `posts_via_x.y = 1`,
		`title:nope = 1`, `n:each = 1`, `title = foo()`, `title = 'x'; DROP TABLE posts`, `title = '` + strings.Repeat("z", 3600) + `'`,
		strings.Repeat("(", 100) + "title = 1" + strings.Repeat(")", 100), `title ~ '\'`, "title = '\x00'",
	} {
		add("GET", records+"?filter="+url.QueryEscape(f), "")
	}
	for _, q := range []string{
		"?perPage=abc", "?page=x", "?skipTotal=maybe", "?sort=nope", "?sort=-", "?sort=@nope", "?sort=title,,", "?sort=@request.auth.id",
		"?perPage=999999999999999999999",
	} {
		add("GET", records+q, "")
	}
	for _, p := range []string{"/api/collections/nope/records", "/api/collections/../records", "/api/collections/posts/records/%00", "/api/collections/posts/records/" + strings.Repeat("a", 5000)} {
		add("GET", p, "")
		add("DELETE", p, "")
	}
	for _, body := range []string{`{`, `[]`, `{"name":123}`, `{"name":"x","fields":"nope"}`, `{"name":"x","fields":[{"name":"a"}]}`,
		`{"name":"x","fields":[{"type":"text"}]}`, `{"name":"x","indexes":["CREATE INDEX x ON x (a) WHERE 1; DROP TABLE posts"]}`,
		`{"name":"x","type":"view","viewQuery":"DROP TABLE posts"}`, `{"name":"x","type":"view","viewQuery":"SELECT id FROM posts; DROP TABLE posts"}`,
		`{"name":"x","listRule":"title ="}`, `{"name":"` + strings.Repeat("n", 300) + `"}`, `{"name":"posts"}`,
		`{"name":"x","fields":[{"name":"r","type":"relation","collectionId":"nope"}]}`, `{"name":"x","fields":[{"name":"n","type":"number","min":5,"max":1}]}`,
	} {
		reqs = append(reqs, req{"POST", "/api/collections", body, "application/json"})
	}
	for _, body := range []string{`{`, `[]`, `{"type":"view"}`, `{"name":"bad name"}`, `{"fields":[{"name":"title","type":"number"}]}`,
		`{"indexes":["CREATE UNIQUE INDEX i ON posts (nope)"]}`, `{"listRule":"title = "}`, `{"fields":"x"}`} {
		reqs = append(reqs, req{"PATCH", "/api/collections/posts", body, "application/json"})
	}
	reqs = append(reqs,
		req{"POST", records, "title=x", "text/plain"},
		req{"POST", records, "--b\r\n", "multipart/form-data; boundary=b"},
		req{"POST", records, "title=%zz", "application/x-www-form-urlencoded"},
		req{"PUT", "/api/collections/import", `{"collections":[{"name":"ok"},{"name":"bad name"}]}`, "application/json"},
		req{"PUT", "/api/collections/import", `{"collections":null}`, "application/json"},
	)

	for _, r := range reqs {
		headers := map[string]string{"Content-Type": r.ctype}
		token := ""
		if strings.HasPrefix(r.path, "/api/collections") && !strings.Contains(r.path, "/records") {
			token = "superuser"
		}
		res := e.do(scenario{method: r.method, path: r.path, body: r.body, headers: headers, token: token})
		if res.Code >= 500 || res.Code < 400 {
			t.Errorf("%s %.80s body %.60q: status %d %.200s", r.method, r.path, r.body, res.Code, res.Body.String())
			continue
		}
		if r.method != http.MethodHead {
			apitest.AssertErrorShape(t, res)
		}
	}

	// The data survived: one record, the collection intact.
	res := e.do(scenario{path: records})
	if !strings.Contains(res.Body.String(), `"totalItems":1`) || !strings.Contains(res.Body.String(), `"title":"keep"`) {
		t.Fatalf("data changed: %s", res.Body.String())
	}
	t.Logf("%d bad requests, none answered 5xx", len(reqs))
}
