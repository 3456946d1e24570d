package core_test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"gorm.io/gorm"
)

// input decodes a collection as a client would send it.
func input(t *testing.T, js string) *core.CollectionInput {
	t.Helper()
	var in core.CollectionInput
	if err := json.Unmarshal([]byte(js), &in); err != nil {
		t.Fatalf("bad test input: %v", err)
	}
	return &in
}

func columns(t *testing.T, app *core.App, table string) []string {
	t.Helper()
	types, err := app.DB(context.Background()).Migrator().ColumnTypes(table)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, c := range types {
		out = append(out, c.Name())
	}
	sort.Strings(out)
	return out
}

const everyFieldType = `{
	"name": "everything",
	"fields": [
		{"name": "title", "type": "text", "required": true, "min": 1, "max": 200, "pattern": "^[^<]*$"},
		{"name": "count", "type": "number", "min": 0, "onlyInt": true},
		{"name": "done", "type": "bool"},
		{"name": "contact", "type": "email", "onlyDomains": ["example.com"]},
		{"name": "site", "type": "url"},
		{"name": "body", "type": "editor"},
		{"name": "due", "type": "date", "min": "2020-01-01 00:00:00.000Z"},
		{"name": "created", "type": "autodate", "onCreate": true},
		{"name": "updated", "type": "autodate", "onCreate": true, "onUpdate": true},
		{"name": "status", "type": "select", "values": ["draft", "live"]},
		{"name": "tags", "type": "select", "values": ["a", "b", "c"], "maxSelect": 3},
		{"name": "meta", "type": "json", "maxSize": 2000},
		{"name": "cover", "type": "file", "maxSelect": 1, "mimeTypes": ["image/png"], "thumbs": ["100x100"]},
		{"name": "docs", "type": "file", "maxSelect": 5, "protected": true},
		{"name": "secret", "type": "password"},
		{"name": "where", "type": "geoPoint"}
	],
	"indexes": ["CREATE INDEX ` + "`idx_everything_title`" + ` ON ` + "`everything`" + ` (` + "`title`" + `)"],
	"listRule": "", "viewRule": "title != ''", "createRule": null
}`

func TestCreateCollectionWithEveryFieldType(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()

	c, err := app.Collections().Create(ctx, input(t, everyFieldType))
	if err != nil {
		t.Fatal(err)
	}
	if c.ID != core.DefaultCollectionID("base", "everything") || c.Type != "base" {
		t.Fatalf("collection = %s %s", c.ID, c.Type)
	}
	want := []string{"body", "contact", "count", "cover", "created", "docs", "done", "due", "id", "meta", "secret", "site", "status", "tags", "title", "updated", "where"}
	if got := columns(t, app, "everything"); !slices.Equal(got, want) {
		t.Fatalf("columns = %v", got)
	}

	out, _ := json.Marshal(c)
	for _, frag := range []string{
		`"fields":[{`, `"name":"id"`, `"primaryKey":true`, `"listRule":""`, `"createRule":null`, `"viewRule":"title != ''"`,
		`"onlyInt":true`, `"maxSelect":3`, `"values":["a","b","c"]`, `"thumbs":["100x100"]`, `"protected":true`,
		"CREATE INDEX `idx_everything_title` ON `everything`", `"type":"base"`, `"system":false`,
	} {
		if !strings.Contains(string(out), frag) {
			t.Errorf("JSON lacks %s:\n%s", frag, out)
		}
	}
	// Round trip: what the API returns can be sent back unchanged.
	var again core.CollectionInput
	if err := json.Unmarshal(out, &again); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Collections().Update(ctx, c.ID, &again); err != nil {
		t.Fatalf("re-sending the collection: %v", err)
	}

	// Default values of every column let a bare row in.
	if err := app.DB(ctx).Exec(`INSERT INTO "everything" ("id") VALUES ('aaaaaaaaaaaaaaa')`).Error; err != nil {
		t.Fatalf("insert with defaults: %v", err)
	}
	found, err := app.Collections().Find("EVERYTHING")
	if err != nil || found.ID != c.ID {
		t.Fatalf("Find is not case-insensitive: %v", err)
	}
}

func TestCreateAuthCollection(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	c, err := app.Collections().Create(context.Background(), input(t, `{"name":"users","type":"auth","fields":[{"name":"name","type":"text"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"email", "emailVisibility", "id", "name", "password", "tokenKey", "verified"}
	if got := columns(t, app, "users"); !slices.Equal(got, want) {
		t.Fatalf("columns = %v", got)
	}
	if len(c.Auth.AuthToken.Secret) != 50 || c.Auth.AuthToken.Duration != 604800 {
		t.Fatalf("auth token options = %+v", c.Auth.AuthToken)
	}
	out, _ := json.Marshal(c)
	if strings.Contains(string(out), c.Auth.AuthToken.Secret) || strings.Contains(string(out), `"secret"`) {
		t.Fatalf("collection JSON exposes a token secret: %s", out)
	}
	if !strings.Contains(string(out), `"passwordAuth":{"enabled":true,"identityFields":["email"]}`) {
		t.Fatalf("auth options missing: %s", out)
	}
	// The email index is unique.
	db := app.DB(context.Background())
	if err := db.Exec(`INSERT INTO "users" ("id", "email", "tokenKey") VALUES ('a', 'x@y.z', 'k1')`).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`INSERT INTO "users" ("id", "email", "tokenKey") VALUES ('b', 'x@y.z', 'k2')`).Error; !app.Dialect().IsUniqueViolation(err) {
		t.Fatalf("duplicate email: %v", err)
	}
}

func TestCollectionValidation(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	if _, err := app.Collections().Create(ctx, input(t, `{"name":"posts","fields":[{"name":"title","type":"text"}]}`)); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name, body, key, code string
	}{
		{"no name", `{}`, "name", "validation_required"},
		{"bad name", `{"name":"my posts"}`, "name", "validation_invalid_name"},
		{"underscore", `{"name":"_hidden"}`, "name", "validation_invalid_name"},
		{"taken name any case", `{"name":"POSTS"}`, "name", "validation_collection_name_exists"},
		{"bad type", `{"name":"x","type":"table"}`, "type", "validation_in_invalid"},
		{"unknown field type", `{"name":"x","fields":[{"name":"a","type":"blob"}]}`, "fields.1.type", "validation_in_invalid"},
		{"duplicate field", `{"name":"x","fields":[{"name":"a","type":"text"},{"name":"A","type":"bool"}]}`, "fields.2.name", "validation_duplicated_name"},
		{"reserved field", `{"name":"x","fields":[{"name":"expand","type":"text"}]}`, "fields.1.name", "validation_reserved_name"},
		{"bad field name", `{"name":"x","fields":[{"name":"a b","type":"text"}]}`, "fields.1.name", "validation_invalid_name"},
		{"select without values", `{"name":"x","fields":[{"name":"s","type":"select"}]}`, "fields.1.values", "validation_required"},
		{"relation to nothing", `{"name":"x","fields":[{"name":"r","type":"relation","collectionId":"nope"}]}`, "fields.1.collectionId", "validation_missing_collection"},
		{"bad pattern", `{"name":"x","fields":[{"name":"t","type":"text","pattern":"("}]}`, "fields.1.pattern", "validation_invalid_regex"},
		{"min over max", `{"name":"x","fields":[{"name":"t","type":"text","min":5,"max":2}]}`, "fields.1.max", "validation_min_greater_max"},
		{"bad thumb", `{"name":"x","fields":[{"name":"f","type":"file","thumbs":["big"]}]}`, "fields.1.thumbs", "validation_invalid_thumb"},
		{"autodate never", `{"name":"x","fields":[{"name":"d","type":"autodate"}]}`, "fields.1.onCreate", "validation_autodate_never"},
		{"bad index", `{"name":"x","indexes":["DROP TABLE posts"]}`, "indexes.0", "validation_invalid_index_expression"},
		{"index on unknown column", `{"name":"x","indexes":["CREATE INDEX idx_x ON x (nope)"]}`, "indexes.0", "validation_invalid_index_column"},
		{"sneaky index", `{"name":"x","fields":[{"name":"a","type":"text"}],"indexes":["CREATE INDEX i ON x (a) WHERE 1; DROP TABLE posts"]}`, "indexes.0", "validation_invalid_index_expression"},
		{"bad rule", `{"name":"x","listRule":"title = "}`, "listRule", "validation_invalid_rule"},
		{"view without query", `{"name":"x","type":"view"}`, "viewQuery", "validation_required"},
		{"view without id", `{"name":"x","type":"view","viewQuery":"SELECT 1 AS one"}`, "viewQuery", "validation_missing_id"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := app.Collections().Create(ctx, input(t, c.body))
			ce, ok := err.(*core.Error)
			if !ok || ce.Code != core.CodeInvalid {
				t.Fatalf("err = %v, want a validation error", err)
			}
			if ce.Fields[c.key].Code != c.code {
				t.Fatalf("fields = %+v, want %s on %s", ce.Fields, c.code, c.key)
			}
		})
	}
	if n := len(userCollections(app)); n != 1 {
		t.Fatalf("%d collections after only failures, want 1", n)
	}
}

// seed inserts n rows into posts(title, views) in one statement per 500.
func seed(t *testing.T, db *gorm.DB, n int) {
	t.Helper()
	for start := 0; start < n; start += 500 {
		var values []string
		var args []any
		for i := start; i < min(start+500, n); i++ {
			values = append(values, "(?, ?, ?, ?)")
			args = append(args, fmt.Sprintf("%015d", i), fmt.Sprintf("title %d", i), i, fmt.Sprintf("note %d", i))
		}
		sql := `INSERT INTO "posts" ("id", "title", "views", "note") VALUES ` + strings.Join(values, ", ")
		if err := db.Exec(sql, args...).Error; err != nil {
			t.Fatal(err)
		}
	}
}

func TestSchemaChangesKeepEveryValue(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	c, err := app.Collections().Create(ctx, input(t, `{"name":"posts","fields":[
		{"name":"title","type":"text"},{"name":"views","type":"number"},{"name":"note","type":"text"}],
		"indexes":["CREATE INDEX idx_posts_title ON posts (title)"]}`))
	if err != nil {
		t.Fatal(err)
	}
	const n = 10000
	seed(t, app.DB(ctx), n)

	// Rename title -> headline, drop note, add summary, rename the collection.
	fields := c.Fields
	var kept []*core.Field
	for _, f := range fields {
		f := *f
		switch f.Name {
		case "title":
			f.Name = "headline"
		case "note":
			continue
		}
		kept = append(kept, &f)
	}
	kept = append(kept, &core.Field{Name: "summary", Type: core.FieldText})
	body, _ := json.Marshal(map[string]any{
		"name":    "articles",
		"fields":  kept,
		"indexes": []string{`CREATE INDEX idx_posts_title ON articles (headline)`},
	})
	updated, err := app.Collections().Update(ctx, "posts", input(t, string(body)))
	if err != nil {
		t.Fatal(err)
	}
	if got := columns(t, app, "articles"); !slices.Equal(got, []string{"headline", "id", "summary", "views"}) {
		t.Fatalf("columns after change = %v", got)
	}
	if updated.Field("headline") == nil || updated.Field("note") != nil {
		t.Fatalf("definition not updated: %+v", updated.Fields)
	}

	var count, bad int64
	db := app.DB(ctx)
	db.Raw(`SELECT COUNT(*) FROM "articles"`).Scan(&count)
	// Every row still pairs its id with its own title and view count.
	db.Raw(`SELECT COUNT(*) FROM "articles" WHERE "headline" != 'title ' || CAST(CAST("id" AS INTEGER) AS TEXT) OR "views" != CAST("id" AS INTEGER) OR "summary" != ''`).Scan(&bad)
	if count != n || bad != 0 {
		t.Fatalf("after the change: %d rows (want %d), %d with wrong values", count, n, bad)
	}
}

func TestFailingSchemaChangeChangesNothing(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	if _, err := app.Collections().Create(ctx, input(t, `{"name":"posts","fields":[{"name":"title","type":"text"},{"name":"views","type":"number"},{"name":"note","type":"text"}]}`)); err != nil {
		t.Fatal(err)
	}
	seed(t, app.DB(ctx), 20)
	if err := app.DB(ctx).Exec(`UPDATE "posts" SET "note" = 'same'`).Error; err != nil {
		t.Fatal(err)
	}
	before, _ := app.Collections().Find("posts")
	beforeJSON, _ := json.Marshal(before)

	// Rename a field and add a unique index over duplicated values: the
	// index fails, so the rename must not survive either.
	c := before
	var fields []map[string]any
	raw, _ := json.Marshal(c.Fields)
	json.Unmarshal(raw, &fields)
	for _, f := range fields {
		if f["name"] == "title" {
			f["name"] = "headline"
		}
	}
	body, _ := json.Marshal(map[string]any{"fields": fields, "indexes": []string{"CREATE UNIQUE INDEX idx_note ON posts (note)"}})
	_, err := app.Collections().Update(ctx, "posts", input(t, string(body)))
	if core.ErrorCodeOf(err) != core.CodeInvalid {
		t.Fatalf("unique index over duplicates: err = %v, want a 400", err)
	}

	after, _ := app.Collections().Find("posts")
	afterJSON, _ := json.Marshal(after)
	if string(afterJSON) != string(beforeJSON) {
		t.Fatalf("definition changed:\n%s\n%s", beforeJSON, afterJSON)
	}
	if got := columns(t, app, "posts"); !slices.Equal(got, []string{"id", "note", "title", "views"}) {
		t.Fatalf("table changed: %v", got)
	}
	// The stored definition agrees with the cache.
	if err := app.Collections().Reload(ctx); err != nil {
		t.Fatal(err)
	}
	stored, _ := app.Collections().Find("posts")
	storedJSON, _ := json.Marshal(stored)
	if string(storedJSON) != string(beforeJSON) {
		t.Fatal("stored definition changed")
	}
}

func TestMultipleValueConversion(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	c, err := app.Collections().Create(ctx, input(t, `{"name":"posts","fields":[{"name":"tag","type":"select","values":["a","b","c"]}]}`))
	if err != nil {
		t.Fatal(err)
	}
	db := app.DB(ctx)
	db.Exec(`INSERT INTO "posts" ("id", "tag") VALUES ('one', 'b'), ('none', '')`)

	setMax := func(max int) {
		t.Helper()
		fields, _ := json.Marshal(c.Fields)
		var fs []map[string]any
		json.Unmarshal(fields, &fs)
		fs[1]["maxSelect"] = max
		body, _ := json.Marshal(map[string]any{"fields": fs})
		if c, err = app.Collections().Update(ctx, "posts", input(t, string(body))); err != nil {
			t.Fatal(err)
		}
	}
	value := func(id string) string {
		var v string
		db.Raw(`SELECT "tag" FROM "posts" WHERE "id" = ?`, id).Scan(&v)
		return v
	}

	setMax(3)
	if value("one") != `["b"]` || value("none") != `[]` {
		t.Fatalf("to many: %q %q", value("one"), value("none"))
	}
	db.Exec(`UPDATE "posts" SET "tag" = '["a","c"]' WHERE "id" = 'one'`)
	setMax(1)
	if value("one") != `c` || value("none") != `` {
		t.Fatalf("to one (keeps the last): %q %q", value("one"), value("none"))
	}
}

func TestDeleteCollection(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	if _, err := app.Collections().Create(ctx, input(t, `{"name":"authors","fields":[{"name":"name","type":"text"}]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Collections().Create(ctx, input(t, `{"name":"books","fields":[{"name":"author","type":"relation","collectionId":"authors"}]}`)); err != nil {
		t.Fatal(err)
	}
	books, _ := app.Collections().Find("books")
	authors, _ := app.Collections().Find("authors")
	if books.Field("author").Options.CollectionID != authors.ID {
		t.Fatal("relation given by name was not stored as the collection id")
	}
	if err := app.Collections().Delete(ctx, "authors"); core.ErrorCodeOf(err) != core.CodeInvalid {
		t.Fatalf("deleting a relation target: %v", err)
	}
	if err := app.Collections().Delete(ctx, "_superusers"); core.ErrorCodeOf(err) != core.CodeInvalid {
		t.Fatalf("deleting a system collection: %v", err)
	}
	if err := app.Collections().Delete(ctx, "books"); err != nil {
		t.Fatal(err)
	}
	if err := app.Collections().Delete(ctx, "authors"); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Collections().Find("authors"); core.ErrorCodeOf(err) != core.CodeNotFound {
		t.Fatal("deleted collection still cached")
	}
	if app.DB(ctx).Migrator().HasTable("authors") {
		t.Fatal("table survived")
	}
}

func TestImportCollections(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	if _, err := app.Collections().Create(ctx, input(t, `{"name":"old"}`)); err != nil {
		t.Fatal(err)
	}
	var cols []*core.CollectionInput
	json.Unmarshal([]byte(`[
		{"id":"pbc_authors0001","name":"authors","fields":[{"name":"name","type":"text"}]},
		{"name":"books","fields":[{"name":"author","type":"relation","collectionId":"pbc_authors0001"}]}
	]`), &cols)
	if err := app.Collections().Import(ctx, cols, true); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, c := range userCollections(app) {
		names = append(names, c.Name)
	}
	sort.Strings(names)
	if !slices.Equal(names, []string{"authors", "books"}) {
		t.Fatalf("after import: %v", names)
	}

	// A failing import changes nothing.
	json.Unmarshal([]byte(`[{"name":"fresh"},{"name":"bad name"}]`), &cols)
	err := app.Collections().Import(ctx, cols, false)
	if ce, ok := err.(*core.Error); !ok || ce.Fields["collections.1.name"].Code == "" {
		t.Fatalf("failing import: %v", err)
	}
	if _, err := app.Collections().Find("fresh"); err == nil {
		t.Fatal("collection of a failed import survived in the cache")
	}
	if app.DB(ctx).Migrator().HasTable("fresh") {
		t.Fatal("table of a failed import survived")
	}
}

func TestCollectionHookVeto(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	app.OnCollectionCreate("forbidden").BindFunc(func(e *core.CollectionEvent) error {
		return core.Errorf(core.CodeForbidden, "no")
	})
	ctx := context.Background()
	if _, err := app.Collections().Create(ctx, input(t, `{"name":"forbidden"}`)); core.ErrorCodeOf(err) != core.CodeForbidden {
		t.Fatalf("vetoed create: %v", err)
	}
	if app.DB(ctx).Migrator().HasTable("forbidden") {
		t.Fatal("vetoed table exists")
	}
	if _, err := app.Collections().Create(ctx, input(t, `{"name":"allowed"}`)); err != nil {
		t.Fatalf("untagged collection: %v", err)
	}
}

// userCollections returns the collections that are not system ones.
func userCollections(app *core.App) []*core.Collection {
	var out []*core.Collection
	for _, c := range app.Collections().All() {
		if !c.System {
			out = append(out, c)
		}
	}
	return out
}
