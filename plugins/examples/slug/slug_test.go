package slug_test

import (
	"net/http"
	"testing"

	"github.com/hatchgrid/hatchgrid/apis/apitest"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/plugins/examples/slug"
)

func TestMake(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]string{
		"Hello, World!":    "hello-world",
		"  Crème brûlée  ": "creme-brulee",
		"Go 1.26 --- Fast": "go-1-26-fast",
		"日本":               "",
	} {
		if got := slug.Make(in); got != want {
			t.Errorf("Make(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestPluginThroughTheAPI(t *testing.T) {
	t.Parallel()
	e := apitest.New(t, coretest.WithAppOptions(core.WithPlugins(&slug.Plugin{Collections: []string{"posts"}, Source: "title", Field: "slug"})))
	coretest.CreateCollection(t, e.App, `{"name":"posts","createRule":"","updateRule":"","viewRule":"","fields":[{"name":"title","type":"text"},{"name":"slug","type":"text"}]}`)
	do := func(method, path, body string) (int, apitest.Record) {
		res := e.AsGuest().Do(method, path, body)
		return res.Code, res.Record(t)
	}

	code, first := do(http.MethodPost, "/api/collections/posts/records", `{"title":"Hello World"}`)
	if code != 200 || first["slug"] != "hello-world" {
		t.Fatalf("create: %d %v", code, first)
	}
	code, dup := do(http.MethodPost, "/api/collections/posts/records", `{"title":"hello, world"}`)
	data, _ := dup["data"].(map[string]any)
	title, _ := data["title"].(map[string]any)
	if code != 400 || title["code"] != "validation_slug_taken" {
		t.Fatalf("duplicate slug: %d %v", code, dup)
	}
	code, _ = do(http.MethodPost, "/api/collections/posts/records", `{"title":"!!!"}`)
	if code != 400 {
		t.Fatalf("empty slug: %d", code)
	}
	code, upd := do(http.MethodPatch, "/api/collections/posts/records/"+first["id"].(string), `{"title":"Hello Again"}`)
	if code != 200 || upd["slug"] != "hello-again" {
		t.Fatalf("update: %d %v", code, upd)
	}
}
