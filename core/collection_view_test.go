package core_test

import (
	"context"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

func TestViewCollection(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	posts, err := app.Collections().Create(ctx, input(t, `{"name":"posts","fields":[{"name":"title","type":"text"},{"name":"views","type":"number"},{"name":"live","type":"bool"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	sys := &core.RequestInfo{Actor: core.SystemActor()}
	for i, title := range []string{"a", "b", "c"} {
		if _, err := app.Records().Create(core.WithRequest(ctx, sys), posts, map[string]any{"title": title, "views": i * 10, "live": i > 0}); err != nil {
			t.Fatal(err)
		}
	}

	view, err := app.Collections().Create(ctx, input(t, `{"name":"popular","type":"view","listRule":"","viewRule":"",
		"viewQuery":"SELECT id, title, views, live FROM posts WHERE views >= 10"}`))
	if err != nil {
		t.Fatal(err)
	}
	types := map[string]string{}
	for _, f := range view.Fields {
		types[f.Name] = f.Type
	}
	if types["id"] != "text" || types["title"] != "text" || types["views"] != "number" {
		t.Fatalf("inferred fields = %v", types)
	}

	res, err := app.Records().List(core.WithRequest(ctx, &core.RequestInfo{}), view, core.RecordQuery{Filter: "views > 15", Sort: "-views"})
	if err != nil {
		t.Fatal(err)
	}
	if res.TotalItems != 1 || res.Items[0].GetString("title") != "c" {
		t.Fatalf("view list = %+v", res)
	}
	if _, err := app.Records().Create(core.WithRequest(ctx, sys), view, map[string]any{"title": "x"}); core.ErrorCodeOf(err) != core.CodeInvalid {
		t.Fatalf("create in a view: %v", err)
	}

	// The query can change; the fields follow.
	if _, err := app.Collections().Update(ctx, "popular", input(t, `{"viewQuery":"SELECT id, title AS headline FROM posts"}`)); err != nil {
		t.Fatal(err)
	}
	view, _ = app.Collections().Find("popular")
	if view.Field("headline") == nil || view.Field("views") != nil {
		t.Fatalf("fields after query change: %+v", view.Fields)
	}

	// The source table cannot go while the view uses it.
	if err := app.Collections().Delete(ctx, "posts"); core.ErrorCodeOf(err) != core.CodeInvalid {
		t.Fatalf("deleting a view's source: %v", err)
	}

	bad := map[string]string{
		"no id":       `{"name":"v1","type":"view","viewQuery":"SELECT title FROM posts"}`,
		"two queries": `{"name":"v2","type":"view","viewQuery":"SELECT id FROM posts; DELETE FROM posts"}`,
		"not select":  `{"name":"v3","type":"view","viewQuery":"DELETE FROM posts"}`,
		"bad sql":     `{"name":"v4","type":"view","viewQuery":"SELECT id FROM nowhere"}`,
		"write rule":  `{"name":"v5","type":"view","createRule":"","viewQuery":"SELECT id FROM posts"}`,
	}
	for name, body := range bad {
		if _, err := app.Collections().Create(ctx, input(t, body)); core.ErrorCodeOf(err) != core.CodeInvalid {
			t.Errorf("%s: err = %v, want a 400", name, err)
		}
	}
	if err := app.Collections().Delete(ctx, "popular"); err != nil {
		t.Fatal(err)
	}
	if err := app.Collections().Delete(ctx, "posts"); err != nil {
		t.Fatal(err)
	}
}
