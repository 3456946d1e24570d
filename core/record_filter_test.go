package core_test

import (
	"context"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// filterFixture: authors, and posts with a single author, several tags
// (a multi relation) and a JSON field.
func filterFixture(t *testing.T) (*core.App, map[string]string) {
	t.Helper()
	app := coretest.NewApp(t)
	ctx := context.Background()
	must := func(js string) *core.Collection {
		c, err := app.Collections().Create(ctx, input(t, js))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	authors := must(`{"name":"authors","fields":[{"name":"name","type":"text"}],"listRule":""}`)
	tags := must(`{"name":"tags","fields":[{"name":"label","type":"text"}],"listRule":""}`)
	posts := must(`{"name":"posts","listRule":"","fields":[
		{"name":"title","type":"text"},{"name":"views","type":"number"},
		{"name":"author","type":"relation","collectionId":"authors"},
		{"name":"tags","type":"relation","collectionId":"tags","maxSelect":5},
		{"name":"kinds","type":"select","values":["a","b","c"],"maxSelect":3},
		{"name":"meta","type":"json"}]}`)

	sys := &core.RequestInfo{Actor: core.SystemActor()}
	ids := map[string]string{}
	create := func(c *core.Collection, key string, body map[string]any) {
		r, err := app.Records().Create(core.WithRequest(ctx, sys), c, body)
		if err != nil {
			t.Fatalf("%s: %v", key, err)
		}
		ids[key] = r.ID()
	}
	create(authors, "ann", map[string]any{"name": "Ann"})
	create(authors, "bob", map[string]any{"name": "Bob"})
	create(tags, "go", map[string]any{"label": "go"})
	create(tags, "db", map[string]any{"label": "db"})
	create(posts, "p1", map[string]any{"title": "Go tips", "views": 10, "author": ids["ann"], "tags": []any{ids["go"], ids["db"]}, "kinds": []any{"a", "b"}, "meta": map[string]any{"lang": "en", "n": 3}})
	create(posts, "p2", map[string]any{"title": "DB 100%_off", "views": 5, "author": ids["bob"], "tags": []any{ids["db"]}, "kinds": []any{"c"}, "meta": map[string]any{"lang": "fr"}})
	create(posts, "p3", map[string]any{"title": "it's \"quoted\" -- ; '||'", "views": 0})
	return app, ids
}

func listIDs(t *testing.T, app *core.App, collection, filter string, req *core.RequestInfo) ([]string, error) {
	t.Helper()
	c, _ := app.Collections().Find(collection)
	res, err := app.Records().List(core.WithRequest(context.Background(), req), c, core.RecordQuery{Filter: filter})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, r := range res.Items {
		out = append(out, r.ID())
	}
	sort.Strings(out)
	return out, nil
}

func TestFilterSemantics(t *testing.T) {
	t.Parallel()
	app, ids := filterFixture(t)
	guest := &core.RequestInfo{}
	su := &core.RequestInfo{Actor: core.SystemActor()} // @collection and @request are theirs
	cases := []struct {
		filter string
		want   []string
	}{
		{`views > 1 && views < 10 || title = "Go tips"`, []string{"p1", "p2"}},
		{`title ~ 'go'`, []string{"p1"}},                // case-insensitive contains
		{`title ~ '%100%_o%'`, []string{"p2"}},          // % kept as a wildcard, _ literal
		{`title ~ 'DB_1'`, nil},                         // _ is not a wildcard
		{`author.name = 'Ann'`, []string{"p1"}},         // single relation path
		{`author.name != 'Ann'`, []string{"p2"}},        // an empty relation matches nothing
		{`tags.label ?= 'go'`, []string{"p1"}},          // any
		{`tags.label = 'db'`, []string{"p2"}},           // all (p1 also has go)
		{`tags.label ?!= 'go'`, []string{"p1", "p2"}},   // any not equal
		{`tags:length = 2`, []string{"p1"}},             // multi :length
		{`kinds:each = 'c'`, []string{"p2"}},            // every value
		{`kinds:each ?= 'b'`, []string{"p1"}},           // any value
		{`kinds ?= 'a'`, nil},                           // no any-matching on a plain multi select
		{`posts_via_author.views > 7`, []string{"ann"}}, // back-relation (on authors, see below)
		{`meta.lang = 'fr'`, []string{"p2"}},            // JSON path
		{`title = "it's \"quoted\" -- ; '||'"`, []string{"p3"}},
		{`title = '\' OR 1=1 --'`, nil},
		{`title = 'x'; DROP TABLE posts`, nil},
		{`@collection.authors.name ?= 'Bob' && author.name = 'Bob'`, []string{"p2"}},
		{`@collection.authors:a.name ?= 'Bob' && @collection.authors:b.name ?= 'Ann' && views < 6`, []string{"p2", "p3"}},
		{`title:lower = 'go tips'`, []string{"p1"}},
		{`author = null`, []string{"p3"}},
		{`@request.auth.id = ''`, []string{"p1", "p2", "p3"}},
		{`created > @now`, nil},
	}
	for _, c := range cases {
		collection := "posts"
		if strings.HasPrefix(c.filter, "posts_via") {
			collection = "authors"
		}
		req := guest
		if strings.Contains(c.filter, "@collection") || strings.Contains(c.filter, "@request") {
			req = su
		}
		got, err := listIDs(t, app, collection, c.filter, req)
		if strings.Contains(c.filter, "DROP TABLE") || strings.Contains(c.filter, "created >") {
			if err == nil {
				t.Errorf("%s: want a 400, got %v", c.filter, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.filter, err)
			continue
		}
		var want []string
		for _, k := range c.want {
			want = append(want, ids[k])
		}
		sort.Strings(want)
		if !slices.Equal(got, want) {
			t.Errorf("%s: got %v, want %v", c.filter, got, c.want)
		}
	}
	// Nothing above changed the data.
	if got, _ := listIDs(t, app, "posts", "", guest); len(got) != 3 {
		t.Fatalf("posts after the hostile filters: %d, want 3", len(got))
	}
}

// TestFilterParamsNeverChangeSQL checks, on the dialect under test, that
// quotes, '||', ';' and '--' in values (as the SDK's pb.filter() would bind
// them) only ever match as data.
func TestFilterParamsNeverChangeSQL(t *testing.T) {
	t.Parallel()
	app, ids := filterFixture(t)
	req := &core.RequestInfo{Actor: core.SystemActor(), Query: map[string]string{"q": `it's "quoted" -- ; '||'`}, Body: map[string]any{"t": `' OR '1'='1`}}
	got, err := listIDs(t, app, "posts", `title = @request.query.q`, req)
	if err != nil || !slices.Equal(got, []string{ids["p3"]}) {
		t.Fatalf("query param match: %v %v", got, err)
	}
	got, err = listIDs(t, app, "posts", `title = @request.body.t || title ~ @request.body.t`, req)
	if err != nil || len(got) != 0 {
		t.Fatalf("injection through a body value matched %v (%v)", got, err)
	}
}

// TestFilterJoinsListEveryKind: the security matrix is generated from
// FilterJoins and FilterModifiers, so each must describe everything the
// resolver does.
func TestFilterJoinsListEveryKind(t *testing.T) {
	t.Parallel()
	joins := core.FilterJoins()
	if len(joins) != core.NumFilterJoinKinds {
		t.Fatalf("FilterJoins describes %d join kinds, the resolver has %d", len(joins), core.NumFilterJoinKinds)
	}
	for i, j := range joins {
		if j.Kind == "" || j.Step == nil || j.Step("rel", "target") == "" {
			t.Errorf("join kind %d is not described: %+v", i, j)
		}
	}
	if mods := core.FilterModifiers(); len(mods) == 0 || mods[0] != "" {
		t.Fatalf("FilterModifiers = %q, want \"\" (none) first", mods)
	}
	// A modifier the list does not name is refused.
	app, _ := filterFixture(t)
	for _, m := range []string{"upper", "isset", "changed", "x"} {
		if _, err := listIDs(t, app, "posts", "title:"+m+" = 'x'", &core.RequestInfo{Actor: core.SystemActor()}); core.ErrorCodeOf(err) != core.CodeInvalid {
			t.Errorf(":%s on a field: %v, want a 400", m, err)
		}
	}
}
