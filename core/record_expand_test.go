package core_test

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"gorm.io/gorm"
)

// expandSU is the request info of a superuser, fresh for each test.
func expandSU() *core.RequestInfo { return &core.RequestInfo{Actor: core.SystemActor()} }

func expandCollection(t *testing.T, app *core.App, js string) *core.Collection {
	t.Helper()
	var in core.CollectionInput
	if err := json.Unmarshal([]byte(js), &in); err != nil {
		t.Fatal(err)
	}
	c, err := app.Collections().Create(context.Background(), &in)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func expandRecord(t *testing.T, app *core.App, c *core.Collection, body map[string]any) *core.Record {
	t.Helper()
	r, err := app.Records().Create(core.AsSystem(context.Background()), c, body)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// expandBlog is a schema with every kind of expand: posts have a single author
// and several tags; comments point back at posts and at authors.
type expandBlog struct {
	app                            *core.App
	authors, tags, posts, comments *core.Collection
}

func newExpandBlog(t *testing.T) *expandBlog {
	app := coretest.NewApp(t)
	b := &expandBlog{app: app}
	b.authors = expandCollection(t, app, `{"name":"authors","viewRule":"","fields":[{"name":"name","type":"text"},{"name":"secret","type":"text","hidden":true}]}`)
	b.tags = expandCollection(t, app, `{"name":"tags","viewRule":"name != 'hidden'","fields":[{"name":"name","type":"text"}]}`)
	expandCollection(t, app, `{"name":"vault","fields":[{"name":"name","type":"text"}]}`)
	b.posts = expandCollection(t, app, `{"name":"posts","viewRule":"","fields":[
		{"name":"title","type":"text"},
		{"name":"author","type":"relation","collectionId":"authors"},
		{"name":"tags","type":"relation","collectionId":"tags","maxSelect":10},
		{"name":"vault","type":"relation","collectionId":"vault"},
		{"name":"editor","type":"relation","collectionId":"authors","hidden":true}]}`)
	b.comments = expandCollection(t, app, `{"name":"comments","viewRule":"public = true","fields":[
		{"name":"text","type":"text"},{"name":"public","type":"bool"},
		{"name":"post","type":"relation","collectionId":"posts"},
		{"name":"user","type":"relation","collectionId":"authors"}]}`)
	return b
}

func expandedOf(t *testing.T, r *core.Record, key string) []*core.Record {
	t.Helper()
	switch v := r.Expand[key].(type) {
	case nil:
		return nil
	case *core.Record:
		return []*core.Record{v}
	case []*core.Record:
		return v
	default:
		t.Fatalf("expand[%s] is %T", key, v)
	}
	return nil
}

func expandNames(recs []*core.Record) string {
	out := make([]string, len(recs))
	for i, r := range recs {
		out[i] = r.GetString("name") + r.GetString("text")
	}
	return strings.Join(out, ",")
}

func TestExpandRecords(t *testing.T) {
	t.Parallel()
	b := newExpandBlog(t)
	ctx := context.Background()
	ann := expandRecord(t, b.app, b.authors, map[string]any{"name": "Ann", "secret": "s"})
	bob := expandRecord(t, b.app, b.authors, map[string]any{"name": "Bob"})
	var tagIDs []string
	for _, n := range []string{"go", "hidden", "sql", "api"} {
		tagIDs = append(tagIDs, expandRecord(t, b.app, b.tags, map[string]any{"name": n}).ID())
	}
	vault := b.app.Collections()
	vc, _ := vault.Find("vault")
	v := expandRecord(t, b.app, vc, map[string]any{"name": "gold"})
	post := expandRecord(t, b.app, b.posts, map[string]any{"title": "p1", "author": ann.ID(), "vault": v.ID(), "editor": bob.ID(),
		"tags": []string{tagIDs[3], tagIDs[1], tagIDs[0], tagIDs[2]}})
	empty := expandRecord(t, b.app, b.posts, map[string]any{"title": "p2"})
	expandRecord(t, b.app, b.comments, map[string]any{"text": "c1", "public": true, "post": post.ID(), "user": bob.ID()})
	expandRecord(t, b.app, b.comments, map[string]any{"text": "c2", "post": post.ID(), "user": ann.ID()})
	expandRecord(t, b.app, b.comments, map[string]any{"text": "c3", "public": true, "post": post.ID(), "user": ann.ID()})

	load := func(t *testing.T, req *core.RequestInfo, paths ...string) (*core.Record, *core.Record) {
		t.Helper()
		p, _ := b.app.Records().Find(ctx, b.posts, post.ID())
		e, _ := b.app.Records().Find(ctx, b.posts, empty.ID())
		if err := b.app.Records().Expand(core.WithRequest(ctx, req), []*core.Record{p, e}, paths); err != nil {
			t.Fatal(err)
		}
		return p, e
	}
	guest := &core.RequestInfo{}

	t.Run("single relation is an object", func(t *testing.T) {
		p, e := load(t, guest, "author")
		if a, ok := p.Expand["author"].(*core.Record); !ok || a.ID() != ann.ID() {
			t.Fatalf("expand = %#v", p.Expand)
		}
		if e.Expand == nil || len(e.Expand) != 0 {
			t.Fatalf("empty relation: expand = %#v, want empty non-nil", e.Expand)
		}
	})
	t.Run("multiple relation keeps the stored order, minus what the view rule hides", func(t *testing.T) {
		p, _ := load(t, guest, "tags")
		if got := expandNames(expandedOf(t, p, "tags")); got != "api,go,sql" {
			t.Fatalf("tags = %s", got)
		}
		p, _ = load(t, expandSU(), "tags")
		if got := expandNames(expandedOf(t, p, "tags")); got != "api,hidden,go,sql" {
			t.Fatalf("superuser tags = %s", got)
		}
	})
	t.Run("back-relation is an array filtered by the view rule, nested", func(t *testing.T) {
		p, e := load(t, guest, " comments_via_post.user ", "comments_via_post")
		cs := expandedOf(t, p, "comments_via_post")
		if got := expandNames(cs); got != "c1,c3" {
			t.Fatalf("comments = %s", got)
		}
		if _, ok := p.Expand["comments_via_post"].([]*core.Record); !ok {
			t.Fatal("back-relation is not an array")
		}
		if got := expandNames(expandedOf(t, cs[0], "user")) + "/" + expandNames(expandedOf(t, cs[1], "user")); got != "Bob/Ann" {
			t.Fatalf("nested users = %s", got)
		}
		if len(e.Expand) != 0 {
			t.Fatalf("post without comments: %#v", e.Expand)
		}
		p, _ = load(t, expandSU(), "comments_via_post")
		if got := expandNames(expandedOf(t, p, "comments_via_post")); got != "c1,c2,c3" {
			t.Fatalf("superuser comments = %s", got)
		}
	})
	t.Run("legacy back-relation syntax", func(t *testing.T) {
		p, _ := load(t, guest, "comments(post)")
		if got := expandNames(expandedOf(t, p, "comments(post)")); got != "c1,c3" {
			t.Fatalf("comments = %s", got)
		}
	})
	t.Run("invalid paths are ignored as a whole", func(t *testing.T) {
		for _, path := range []string{"nope", "title", "author.nope", "comments_via_nope", "posts_via_author", "vault", "editor"} {
			p, _ := load(t, guest, path)
			if p.Expand != nil {
				t.Errorf("%q: expand = %#v, want none", path, p.Expand)
			}
		}
		p, _ := load(t, guest, "nope", "author")
		if len(p.Expand) != 1 || p.Expand["author"] == nil {
			t.Fatalf("expand = %#v", p.Expand)
		}
	})
	t.Run("superusers expand superuser-only collections and hidden relations", func(t *testing.T) {
		p, _ := load(t, expandSU(), "vault", "editor")
		if expandNames(expandedOf(t, p, "vault")) != "gold" || expandNames(expandedOf(t, p, "editor")) != "Bob" {
			t.Fatalf("expand = %#v", p.Expand)
		}
	})
	t.Run("two relations to one collection stay apart", func(t *testing.T) {
		p, _ := load(t, expandSU(), "author.comments_via_user", "editor")
		a, ed := expandedOf(t, p, "author")[0], expandedOf(t, p, "editor")[0]
		if len(ed.Expand) != 0 || expandNames(expandedOf(t, a, "comments_via_user")) != "c2,c3" {
			t.Fatalf("author = %#v, editor = %#v", a.Expand, ed.Expand)
		}
	})
	t.Run("export hides hidden fields of expanded records from guests", func(t *testing.T) {
		p, _ := load(t, guest, "author")
		out, _ := json.Marshal(p.ExportFor(guest))
		if !strings.Contains(string(out), `"expand":{"author":{`) || strings.Contains(string(out), `"secret"`) {
			t.Fatalf("guest export: %s", out)
		}
		p, _ = load(t, expandSU(), "author")
		out, _ = json.Marshal(p.ExportFor(expandSU()))
		if !strings.Contains(string(out), `"secret":"s"`) {
			t.Fatalf("superuser export: %s", out)
		}
	})
	t.Run("the view rule sees the expand context", func(t *testing.T) {
		ctxRule := "@request.context = 'expand'"
		in := core.CollectionInput{}
		if err := json.Unmarshal([]byte(`{"viewRule":"`+ctxRule+`"}`), &in); err != nil {
			t.Fatal(err)
		}
		if _, err := b.app.Collections().Update(ctx, "authors", &in); err != nil {
			t.Fatal(err)
		}
		p, _ := load(t, guest, "author")
		if expandedOf(t, p, "author") == nil {
			t.Fatalf("expand = %#v", p.Expand)
		}
	})
}

func TestExpandDepth(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	nodes := expandCollection(t, app, `{"name":"nodes","viewRule":"","fields":[{"name":"name","type":"text"}]}`)
	var in core.CollectionInput
	fields := `[{"name":"name","type":"text"},{"name":"parent","type":"relation","collectionId":"` + nodes.ID + `"}]`
	if err := json.Unmarshal([]byte(`{"fields":`+fields+`}`), &in); err != nil {
		t.Fatal(err)
	}
	nodes, err := app.Collections().Update(context.Background(), "nodes", &in)
	if err != nil {
		t.Fatal(err)
	}
	parent := ""
	var last *core.Record
	for i := 0; i < 9; i++ {
		last = expandRecord(t, app, nodes, map[string]any{"name": fmt.Sprint(i), "parent": parent})
		parent = last.ID()
	}
	path := strings.TrimSuffix(strings.Repeat("parent.", 8), ".")
	if err := app.Records().Expand(context.Background(), []*core.Record{last}, []string{path}); err != nil {
		t.Fatal(err)
	}
	depth := 0
	for r := last; ; depth++ {
		next, ok := r.Expand["parent"].(*core.Record)
		if !ok {
			if depth == 6 && r.Expand != nil {
				t.Errorf("the record at depth 6 has an expand: %#v", r.Expand)
			}
			break
		}
		r = next
	}
	if depth != 6 {
		t.Fatalf("expanded %d levels, want 6", depth)
	}
}

func TestExpandBackRelationCap(t *testing.T) {
	t.Parallel()
	b := newExpandBlog(t)
	ctx := context.Background()
	post := expandRecord(t, b.app, b.posts, map[string]any{"title": "busy"})
	other := expandRecord(t, b.app, b.posts, map[string]any{"title": "quiet"})
	// Rows straight into the table: 1,005 creates through the service are
	// slow and prove nothing more.
	var values []string
	var args []any
	for i := 0; i < 1005; i++ {
		values = append(values, "(?, ?, ?, ?)")
		args = append(args, fmt.Sprintf("c%014d", i), fmt.Sprintf("t%04d", i), true, post.ID())
	}
	values = append(values, "(?, ?, ?, ?)")
	args = append(args, "x00000000000000", "other", true, other.ID())
	q := `INSERT INTO "comments" ("id", "text", "public", "post") VALUES ` + strings.Join(values, ", ")
	if err := b.app.DB(ctx).Exec(q, args...).Error; err != nil {
		t.Fatal(err)
	}
	recs := []*core.Record{post, other}
	if err := b.app.Records().Expand(ctx, recs, []string{"comments_via_post"}); err != nil {
		t.Fatal(err)
	}
	cs := expandedOf(t, post, "comments_via_post")
	if len(cs) != 1000 {
		t.Fatalf("expanded %d comments, want 1000", len(cs))
	}
	if cs[0].GetString("text") != "t0000" || cs[999].GetString("text") != "t0999" {
		t.Fatalf("order: first %s, last %s", cs[0].GetString("text"), cs[999].GetString("text"))
	}
	if got := expandNames(expandedOf(t, other, "comments_via_post")); got != "other" {
		t.Fatalf("other post: %s", got)
	}
}

// TestExpandQueryCount checks that expanding a page costs one query per
// relation and level, not one per record.
func TestExpandQueryCount(t *testing.T) {
	t.Parallel()
	b := newExpandBlog(t)
	ctx := context.Background()
	var tagIDs []string
	for i := 0; i < 3; i++ {
		tagIDs = append(tagIDs, expandRecord(t, b.app, b.tags, map[string]any{"name": fmt.Sprint("t", i)}).ID())
	}
	for i := 0; i < 20; i++ {
		a := expandRecord(t, b.app, b.authors, map[string]any{"name": fmt.Sprint("a", i)})
		p := expandRecord(t, b.app, b.posts, map[string]any{"title": fmt.Sprint("p", i), "author": a.ID(), "tags": tagIDs})
		expandRecord(t, b.app, b.comments, map[string]any{"text": "c", "public": true, "post": p.ID(), "user": a.ID()})
	}
	page, err := b.app.Records().List(core.AsSystem(ctx), b.posts, core.RecordQuery{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Items) != 20 {
		t.Fatalf("list: %d items", len(page.Items))
	}
	var queries atomic.Int64
	count := func(*gorm.DB) { queries.Add(1) }
	db := b.app.ReadDB(ctx)
	if err := db.Callback().Row().After("gorm:row").Register("test:count_rows", count); err != nil {
		t.Fatal(err)
	}
	paths := []string{"author", "tags", "comments_via_post.user", "comments_via_post.post.author"}
	if err := b.app.Records().Expand(ctx, page.Items, paths); err != nil {
		t.Fatal(err)
	}
	// Level 1: authors, tags, comments. Level 2: authors (user), posts.
	// Level 3: authors.
	if n := queries.Load(); n != 6 {
		t.Fatalf("%d queries, want 6", n)
	}
	for _, p := range page.Items {
		c := expandedOf(t, p, "comments_via_post")
		if len(c) != 1 || len(expandedOf(t, c[0], "user")) != 1 || len(expandedOf(t, expandedOf(t, c[0], "post")[0], "author")) != 1 {
			t.Fatalf("post %s: %#v", p.ID(), p.Expand)
		}
	}
}
