package migratecmd_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/plugins/migratecmd"
)

func newApp(t *testing.T, p *migratecmd.Plugin) *core.App {
	t.Helper()
	return coretest.NewApp(t, coretest.WithAppOptions(core.WithPlugins(p)))
}

func input(t *testing.T, js string) *core.CollectionInput {
	t.Helper()
	var in core.CollectionInput
	if err := json.Unmarshal([]byte(js), &in); err != nil {
		t.Fatalf("%v: %s", err, js)
	}
	return &in
}

// changed returns the collection's API JSON with edit applied, as the
// dashboard sends a whole collection back.
func changed(t *testing.T, c *core.Collection, edit func(m map[string]any)) *core.CollectionInput {
	t.Helper()
	b, _ := json.Marshal(c)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	edit(m)
	b, _ = json.Marshal(m)
	return input(t, string(b))
}

// snapshot is every non-system collection as the API shows it, without
// the created and updated times.
func snapshot(t *testing.T, app *core.App) string {
	t.Helper()
	var out []map[string]any
	for _, c := range app.Collections().All() {
		if c.System {
			continue
		}
		b, _ := json.Marshal(c)
		var m map[string]any
		json.Unmarshal(b, &m)
		delete(m, "created")
		delete(m, "updated")
		out = append(out, m)
	}
	b, _ := json.MarshalIndent(out, "", " ")
	return string(b)
}

func files(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

func appliedNames(t *testing.T, app *core.App) map[string]bool {
	t.Helper()
	var names []string
	if err := app.DB(context.Background()).Raw(`SELECT "file" FROM "_migrations"`).Scan(&names).Error; err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, n := range names {
		out[n] = true
	}
	return out
}

// makeChanges creates members (auth), posts and tags, updates posts
// (a field, a relation, a rule, an index) and deletes tags.
func makeChanges(t *testing.T, app *core.App) {
	t.Helper()
	ctx := context.Background()
	cols := app.Collections()
	members, err := cols.Create(ctx, input(t, `{"name":"members","type":"auth","fields":[{"name":"nick","type":"text","max":40}],"listRule":"id = @request.auth.id"}`))
	if err != nil {
		t.Fatal(err)
	}
	posts, err := cols.Create(ctx, input(t, `{"name":"posts","fields":[{"name":"title","type":"text","required":true}],"viewRule":""}`))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cols.Create(ctx, input(t, `{"name":"tags","fields":[{"name":"label","type":"text"}]}`)); err != nil {
		t.Fatal(err)
	}
	_, err = cols.Update(ctx, posts.ID, changed(t, posts, func(m map[string]any) {
		m["fields"] = append(m["fields"].([]any),
			map[string]any{"name": "views", "type": "number", "onlyInt": true},
			map[string]any{"name": "author", "type": "relation", "collectionId": members.ID, "maxSelect": 1})
		m["listRule"] = "views > 0"
		m["indexes"] = []string{"CREATE INDEX `idx_posts_title` ON `posts` (`title`)"}
	}))
	if err != nil {
		t.Fatal(err)
	}
	if err := cols.Delete(ctx, "tags"); err != nil {
		t.Fatal(err)
	}
}

var fileName = regexp.MustCompile(`^\d{10}_(created|updated|deleted)_[a-z]+\.json$`)

func TestAutomigrateWritesFilesThatReplay(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "hg_migrations")
	app := newApp(t, &migratecmd.Plugin{Dir: dir, Automigrate: true})
	makeChanges(t, app)

	names := files(t, dir)
	var kinds []string
	for _, n := range names {
		if !fileName.MatchString(n) {
			t.Fatalf("file name %q", n)
		}
		kinds = append(kinds, n[11:])
	}
	want := []string{"created_members.json", "created_posts.json", "created_tags.json", "updated_posts.json", "deleted_tags.json"}
	if strings.Join(kinds, " ") != strings.Join(want, " ") {
		t.Fatalf("files in name order = %v, want %v", kinds, want)
	}
	applied := appliedNames(t, app)
	for _, n := range names {
		if !applied[n] {
			t.Errorf("%s is not recorded as applied where it was written", n)
		}
	}
	// A no-op update writes nothing.
	posts, _ := app.Collections().Find("posts")
	if _, err := app.Collections().Update(context.Background(), "posts", changed(t, posts, func(map[string]any) {})); err != nil {
		t.Fatal(err)
	}
	if n := len(files(t, dir)); n != 5 {
		t.Fatalf("a no-op update wrote a file: %d files", n)
	}
	// The update's file is a readable before/after pair.
	b, _ := os.ReadFile(filepath.Join(dir, names[3]))
	var f migratecmd.File
	if err := json.Unmarshal(b, &f); err != nil || len(f.Up.Collections) != 1 || f.Down == nil || len(f.Down.Collections) != 1 {
		t.Fatalf("update file: %v\n%s", err, b)
	}
	if !strings.Contains(string(b), `"listRule": "views > 0"`) {
		t.Fatalf("update file up lacks the new rule:\n%s", b)
	}
	if strings.Contains(string(b), `"secret"`) {
		t.Fatalf("a file holds a secret:\n%s", b)
	}

	// A fresh database with the same dir ends with the same collections.
	fresh := newApp(t, &migratecmd.Plugin{Dir: dir})
	if got, want := snapshot(t, fresh), snapshot(t, app); got != want {
		t.Fatalf("replayed collections differ\n got: %s\nwant: %s", got, want)
	}
	if _, err := fresh.Collections().Find("tags"); err == nil {
		t.Fatal("tags still exists after the replay")
	}

	// Down reverts the last file: tags comes back; up deletes it again.
	ctx := context.Background()
	reverted, err := fresh.Migrator().Down(ctx, 1)
	if err != nil || len(reverted) != 1 || reverted[0] != names[4] {
		t.Fatalf("down: %v %v", reverted, err)
	}
	if _, err := fresh.Collections().Find("tags"); err != nil {
		t.Fatalf("tags not back after down: %v", err)
	}
	var n int64
	if err := fresh.DB(ctx).Raw(`SELECT COUNT(*) FROM "tags"`).Scan(&n).Error; err != nil {
		t.Fatalf("tags table not back: %v", err)
	}
	if len(files(t, dir)) != 5 {
		t.Fatal("applying a file wrote a new one")
	}
	if _, err := fresh.Migrator().Down(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if posts, _ := fresh.Collections().Find("posts"); posts.Field("views") != nil || len(posts.Indexes) != 0 {
		t.Fatalf("second down left the update: %+v", posts)
	}
	if applied, err := fresh.Migrator().Up(ctx); err != nil || len(applied) != 2 {
		t.Fatalf("up again: %v %v", applied, err)
	}
	if got, want := snapshot(t, fresh), snapshot(t, app); got != want {
		t.Fatalf("after down and up\n got: %s\nwant: %s", got, want)
	}
}

func TestAutomigrateOffWritesNothing(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "hg_migrations")
	app := newApp(t, &migratecmd.Plugin{Dir: dir})
	if _, err := app.Collections().Create(context.Background(), input(t, `{"name":"posts"}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Fatalf("dir written with automigrate off: %v", err)
	}
}

func TestRolledBackChangeWritesNothing(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "hg_migrations")
	app := newApp(t, &migratecmd.Plugin{Dir: dir, Automigrate: true})
	ctx := context.Background()
	err := app.Collections().Import(ctx, []*core.CollectionInput{
		input(t, `{"name":"ok"}`),
		input(t, `{"name":"bad","fields":[{"name":"x","type":"nope"}]}`),
	}, false)
	if err == nil {
		t.Fatal("import of an invalid collection passed")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Fatalf("a rolled-back import wrote %d files", len(entries))
	}
	for n := range appliedNames(t, app) {
		if strings.HasSuffix(n, ".json") {
			t.Fatalf("a rolled-back import recorded %s", n)
		}
	}
}

// cli runs the command line in-process with a fresh plugin, as a
// separate process would.
type cli struct {
	t   *testing.T
	env []string
}

func newCLI(t *testing.T) *cli {
	c := &cli{t: t}
	if coretest.Dialect() == "postgres" {
		c.env = append(c.env, "HG_DATABASE_URL="+coretest.NewPostgresSchema(t))
	}
	return c
}

func (c *cli) run(args ...string) (int, string, string) {
	c.t.Helper()
	var out, errOut bytes.Buffer
	h := hatchgrid.New(
		hatchgrid.WithPlugins(&migratecmd.Plugin{}),
		hatchgrid.WithOutput(&out, &errOut),
		hatchgrid.WithEnviron(func() []string { return c.env }),
		hatchgrid.WithAppOptions(core.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil)))),
	)
	code := h.ExecuteArgs(args)
	return code, out.String(), errOut.String()
}

// openApp bootstraps the CLI's database with the plugin reading dir.
func (c *cli) openApp(dataDir, dir string) *core.App {
	c.t.Helper()
	cfg, err := core.LoadConfig(core.LoadOptions{Environ: func() []string { return c.env }})
	if err != nil {
		c.t.Fatal(err)
	}
	cfg.DataDir = dataDir
	app := core.New(cfg, core.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))), core.WithPlugins(&migratecmd.Plugin{Dir: dir}))
	if err := app.Bootstrap(context.Background()); err != nil {
		c.t.Fatal(err)
	}
	c.t.Cleanup(func() { app.Shutdown(context.Background()) })
	return app
}

func TestMigrateCommands(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "hg_migrations")
	src := newApp(t, &migratecmd.Plugin{Dir: dir, Automigrate: true})
	makeChanges(t, src)
	want := snapshot(t, src)

	// migrate up on a fresh database applies the files, in name order.
	c := newCLI(t)
	data := filepath.Join(t.TempDir(), "data")
	code, out, errOut := c.run("migrate", "up", "--dir", data, "--migrationsDir", dir)
	if code != 0 || strings.Count(out, ".json") != 5 {
		t.Fatalf("up: %d %q %q", code, out, errOut)
	}
	if code, out, _ := c.run("migrate", "up", "--dir", data, "--migrationsDir", dir); code != 0 || !strings.Contains(out, "No pending") {
		t.Fatalf("second up: %d %q", code, out)
	}
	// migrate down reverts the last file only.
	code, out, errOut = c.run("migrate", "down", "--dir", data, "--migrationsDir", dir)
	if code != 0 || !strings.Contains(out, "_deleted_tags.json") || strings.Count(out, "Reverted") != 1 {
		t.Fatalf("down: %d %q %q", code, out, errOut)
	}

	// migrate collections snapshots the current state (tags included), and
	// the snapshot alone rebuilds it elsewhere.
	snapDir := filepath.Join(t.TempDir(), "snap")
	code, out, errOut = c.run("migrate", "collections", "--dir", data, "--migrationsDir", snapDir)
	if code != 0 || !strings.Contains(out, "_collections_snapshot.json") {
		t.Fatalf("collections: %d %q %q", code, out, errOut)
	}
	withTags := c.openApp(data, snapDir)
	if _, err := withTags.Collections().Find("tags"); err != nil {
		t.Fatal("down did not bring tags back")
	}
	if applied := appliedNames(t, withTags); len(applied) == 0 {
		t.Fatal("no migrations recorded")
	}
	c2 := newCLI(t)
	data2 := filepath.Join(t.TempDir(), "data")
	if code, out, errOut := c2.run("migrate", "up", "--dir", data2, "--migrationsDir", snapDir); code != 0 || !strings.Contains(out, "_collections_snapshot.json") {
		t.Fatalf("up from the snapshot: %d %q %q", code, out, errOut)
	}
	if got, want := snapshot(t, c2.openApp(data2, snapDir)), snapshot(t, withTags); got != want {
		t.Fatalf("snapshot replay differs\n got: %s\nwant: %s", got, want)
	}
	// The reverted file is pending again: the next bootstrap applies it.
	if got := snapshot(t, c.openApp(data, dir)); got != want {
		t.Fatalf("reverted file not applied again\n got: %s\nwant: %s", got, want)
	}
}

func TestMalformedFileFailsNamingIt(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for name, body := range map[string]string{
		"1700000000_created_posts.json": `{"up": {"collections": [{"name": "posts"}]}, "down": {"delete": [{"name": "posts"}]}}`,
		"1700000001_updated_posts.json": `{"up": {"collections": [{"name": "posts", "fields": 3}]}}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c := newCLI(t)
	data := t.TempDir()
	code, _, errOut := c.run("migrate", "up", "--dir", data, "--migrationsDir", dir)
	if code != 1 || !strings.Contains(errOut, "1700000001_updated_posts.json") || !strings.Contains(errOut, "collections.0") {
		t.Fatalf("up: %d %q", code, errOut)
	}
	for _, body := range []string{`{"up": `, `{"down": {}}`, `{"up": {}, "sideways": {}}`, `{"up": {"delete": [{}]}}`, `[]`} {
		os.WriteFile(filepath.Join(dir, "1700000001_updated_posts.json"), []byte(body), 0o644)
		if code, _, errOut := c.run("migrate", "up", "--dir", data, "--migrationsDir", dir); code != 1 || !strings.Contains(errOut, "1700000001_updated_posts.json") {
			t.Fatalf("%s: %d %q", body, code, errOut)
		}
	}
	// A well-formed file that cannot apply names itself too, and leaves
	// nothing behind.
	os.WriteFile(filepath.Join(dir, "1700000001_updated_posts.json"), []byte(`{"up": {"delete": [{"name": "nope"}]}}`), 0o644)
	code, out, errOut := c.run("migrate", "up", "--dir", data, "--migrationsDir", dir)
	if code != 1 || !strings.Contains(errOut, "1700000001_updated_posts.json") || !strings.Contains(errOut, `"nope"`) || !strings.Contains(out, "1700000000_created_posts.json") {
		t.Fatalf("failing file: %d %q %q", code, out, errOut)
	}
	if code, out, _ := c.run("migrate", "status", "--dir", data, "--migrationsDir", dir); code != 0 || !strings.Contains(out, "1700000001_updated_posts.json  data      pending") {
		t.Fatalf("status: %d %q", code, out)
	}
}

func TestDirAndAutomigrateSettings(t *testing.T) {
	t.Parallel()
	root := t.TempDir()
	c := newCLI(t)
	data := filepath.Join(root, "hg_data")
	snapshotIn := func(dir string, args ...string) {
		t.Helper()
		code, out, errOut := c.run(append([]string{"migrate", "collections", "--dir", data}, args...)...)
		if code != 0 || !strings.Contains(out, "Created "+dir+string(filepath.Separator)) {
			t.Fatalf("%v: %d %q %q", args, code, out, errOut)
		}
	}
	// Beside the data dir by default, then the config, then the flag.
	snapshotIn(filepath.Join(root, "hg_migrations"))
	c.env = append(c.env, "HG_PLUGINS_MIGRATECMD_DIR="+filepath.Join(root, "from_env"))
	snapshotIn(filepath.Join(root, "from_env"))
	snapshotIn(filepath.Join(root, "from_flag"), "--migrationsDir", filepath.Join(root, "from_flag"))

	// Dev mode and the config turn automigrate on.
	for name, cfgFn := range map[string]func(*core.Config){
		"dev":    func(cfg *core.Config) { cfg.Dev = true },
		"config": func(cfg *core.Config) { cfg.Plugins = map[string]map[string]any{"migratecmd": {"automigrate": "true"}} },
	} {
		dir := filepath.Join(t.TempDir(), "m")
		app := coretest.NewApp(t, coretest.WithConfig(cfgFn), coretest.WithAppOptions(core.WithPlugins(&migratecmd.Plugin{Dir: dir})))
		if _, err := app.Collections().Create(context.Background(), input(t, `{"name":"posts"}`)); err != nil {
			t.Fatal(err)
		}
		if n := len(files(t, dir)); n != 1 {
			t.Fatalf("%s: %d files", name, n)
		}
	}
}

func TestViewAndSelfRelationReplay(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), "m")
	app := newApp(t, &migratecmd.Plugin{Dir: dir, Automigrate: true})
	ctx := context.Background()
	id := core.DefaultCollectionID(core.CollectionBase, "posts")
	if _, err := app.Collections().Create(ctx, input(t, `{"name":"posts","fields":[{"name":"title","type":"text"},{"name":"parent","type":"relation","collectionId":"`+id+`","maxSelect":1}]}`)); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Collections().Create(ctx, input(t, `{"name":"titles","type":"view","viewQuery":"SELECT id, title FROM posts","listRule":""}`)); err != nil {
		t.Fatal(err)
	}
	fresh := newApp(t, &migratecmd.Plugin{Dir: dir})
	if got, want := snapshot(t, fresh), snapshot(t, app); got != want {
		t.Fatalf("replay differs\n got: %s\nwant: %s", got, want)
	}
}
