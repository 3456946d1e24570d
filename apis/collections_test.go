package apis_test

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/apis/apitest"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

func TestCollectionsAPI(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	create := `{"name":"posts","fields":[{"name":"title","type":"text","required":true},{"name":"tags","type":"select","values":["a","b"],"maxSelect":2}],"listRule":""}`
	e.run(t, []scenario{
		{name: "guest list", path: "/api/collections", wantStatus: 401},
		{name: "guest create", method: "POST", path: "/api/collections", body: create, wantStatus: 401},
		{name: "create", method: "POST", path: "/api/collections", body: create, token: "superuser", wantStatus: 200,
			wantContent: []string{`"name":"posts"`, `"type":"base"`, `"listRule":""`, `"viewRule":null`, `"maxSelect":2`}},
		{name: "create duplicate", method: "POST", path: "/api/collections", body: create, token: "superuser", wantStatus: 400,
			wantContent: []string{`"name":{"code":"validation_collection_name_exists"`}},
		{name: "create malformed", method: "POST", path: "/api/collections", body: `{"name":`, token: "superuser", wantStatus: 400},
		{name: "create array body", method: "POST", path: "/api/collections", body: `[]`, token: "superuser", wantStatus: 400},
		{name: "create wrong types", method: "POST", path: "/api/collections", body: `{"name":1}`, token: "superuser", wantStatus: 400},
		{name: "view by name", path: "/api/collections/posts", token: "superuser", wantStatus: 200, wantContent: []string{`"name":"posts"`}},
		{name: "view missing", path: "/api/collections/nope", token: "superuser", wantStatus: 404},
		{name: "list", path: "/api/collections?perPage=1&sort=-name", token: "superuser", wantStatus: 200,
			wantContent: []string{`"perPage":1`, `"name":"posts"`}},
		{name: "list bad sort", path: "/api/collections?sort=nope", token: "superuser", wantStatus: 400},
		{name: "update rename field", method: "PATCH", path: "/api/collections/posts", token: "superuser",
			body: `{"listRule":null,"fields":[{"id":"text724990059","name":"headline","type":"text"}]}`, wantStatus: 200,
			wantContent: []string{`"name":"headline"`, `"listRule":null`}, notContent: []string{`"name":"tags"`}},
		{name: "update type change refused", method: "PATCH", path: "/api/collections/posts", token: "superuser",
			body: `{"fields":[{"id":"text724990059","name":"headline","type":"number"}]}`, wantStatus: 400,
			wantContent: []string{`validation_field_type_change`}},
		{name: "superusers rename refused", method: "PATCH", path: "/api/collections/_superusers", token: "superuser",
			body: `{"name":"admins"}`, wantStatus: 400},
		{name: "scaffolds", path: "/api/collections/meta/scaffolds", token: "superuser", wantStatus: 200,
			wantContent: []string{`"auth":{`, `"base":{`, `"view":{`, `"name":"tokenKey"`}},
		{name: "truncate", method: "DELETE", path: "/api/collections/posts/truncate", token: "superuser", wantStatus: 204},
		{name: "import", method: "PUT", path: "/api/collections/import", token: "superuser",
			body: `{"collections":[{"name":"imported","fields":[{"name":"x","type":"bool"}]}]}`, wantStatus: 204},
		{name: "import invalid", method: "PUT", path: "/api/collections/import", token: "superuser",
			body: `{"collections":[{"name":"bad name"}]}`, wantStatus: 400, wantContent: []string{`"collections":{"0":{"name":{"code":"validation_invalid_name"`}},
		{name: "delete", method: "DELETE", path: "/api/collections/posts", token: "superuser", wantStatus: 204},
		{name: "delete again", method: "DELETE", path: "/api/collections/posts", token: "superuser", wantStatus: 404},
		{name: "delete system", method: "DELETE", path: "/api/collections/_superusers", token: "superuser", wantStatus: 400},
		{
			name: "list after", path: "/api/collections", token: "superuser", wantStatus: 200,
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				res := apitest.Wrap(rec).Collections(t)
				var names []string
				for _, it := range res.Items {
					if !strings.HasPrefix(it.Name, "_") {
						names = append(names, it.Name)
					}
				}
				if len(names) != 1 || names[0] != "imported" {
					t.Fatalf("user collections = %v", names)
				}
			},
		},
	})
}

func TestCollectionsListFilter(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	mustCollection(t, e.app, `{"name":"posts"}`)
	mustCollection(t, e.app, `{"name":"people","type":"auth"}`)
	e.run(t, []scenario{
		{name: "by type", path: "/api/collections?filter=" + urlq("type = 'auth' && system = false"), token: "superuser", wantStatus: 200,
			wantContent: []string{`"totalItems":1`, `"name":"people"`}},
		{name: "by name", path: "/api/collections?filter=" + urlq("name ~ 'pos'"), token: "superuser", wantStatus: 200,
			wantContent: []string{`"totalItems":1`, `"name":"posts"`}},
		{name: "bad filter", path: "/api/collections?filter=" + urlq("fields = 1"), token: "superuser", wantStatus: 400},
	})
}
