package core_test

import (
	"context"
	"errors"
	"io"
	"regexp"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/filesystem"
)

// filesApp has a "docs" collection: a required title, a single text-only
// "doc" of at most 10 bytes, up to three "pics", and a protected "secret".
func filesApp(t *testing.T, opts ...coretest.Option) (*core.App, *core.Collection) {
	t.Helper()
	app := coretest.NewApp(t, opts...)
	c := expandCollection(t, app, `{"name":"docs","viewRule":"","fields":[
		{"name":"title","type":"text","required":true},
		{"name":"doc","type":"file","maxSize":10,"mimeTypes":["text/plain"]},
		{"name":"pics","type":"file","maxSelect":3,"thumbs":["50x50"]},
		{"name":"secret","type":"file","protected":true}]}`)
	return app, c
}

func txt(name, content string) *filesystem.File {
	return filesystem.NewFileFromBytes([]byte(content), name)
}

// stored lists the keys under the collection's folder.
func stored(t *testing.T, app *core.App, c *core.Collection) []string {
	t.Helper()
	keys, err := app.Files().List(context.Background(), c.ID+"/")
	if err != nil {
		t.Fatal(err)
	}
	return keys
}

func fieldCode(err error, field string) string {
	var ce *core.Error
	if !errors.As(err, &ce) {
		return ""
	}
	return ce.Fields[field].Code
}

func TestFileUploadNamesAndStores(t *testing.T) {
	t.Parallel()
	app, c := filesApp(t)
	ctx := context.Background()
	rec, err := app.Records().Create(core.AsSystem(ctx),

		c, map[string]any{
			"title": "t",
			"doc":   txt("My Report.txt", "hello"),
			"pics":  []any{txt("a.bin", "a"), txt("b.bin", "b")},
		})

	if err != nil {
		t.Fatal(err)
	}
	doc := rec.GetString("doc")
	if !regexp.MustCompile(`^my_report_[a-z0-9]{10}\.txt$`).MatchString(doc) {
		t.Fatalf("doc = %q", doc)
	}
	pics, _ := rec.Get("pics").([]string)
	if len(pics) != 2 || !strings.HasPrefix(pics[0], "a") || !strings.HasPrefix(pics[1], "b") {
		t.Fatalf("pics = %v", pics)
	}
	want := []string{c.ID + "/" + rec.ID() + "/" + doc, c.ID + "/" + rec.ID() + "/" + pics[0], c.ID + "/" + rec.ID() + "/" + pics[1]}
	slices.Sort(want)
	if got := stored(t, app, c); !slices.Equal(got, want) {
		t.Fatalf("stored = %v, want %v", got, want)
	}
	obj, err := app.Files().Open(ctx, want[slices.Index(want, c.ID+"/"+rec.ID()+"/"+doc)])
	if err != nil {
		t.Fatal(err)
	}
	defer obj.Close()
	if b, _ := io.ReadAll(obj); string(b) != "hello" {
		t.Fatalf("content = %q", b)
	}
}

func TestFileValidation(t *testing.T) {
	t.Parallel()
	app, c := filesApp(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		body  map[string]any
		field string
		code  string
	}{
		{"oversize", map[string]any{"doc": txt("a.txt", "01234567890")}, "doc", "validation_file_size_limit"},
		{"wrong mime", map[string]any{"doc": filesystem.NewFileFromBytes([]byte("\x89PNG\r\n\x1a\n"), "a.txt")}, "doc", "validation_invalid_mime_type"},
		{"too many", map[string]any{"pics": []any{txt("1", "1"), txt("2", "2"), txt("3", "3"), txt("4", "4")}}, "pics", "validation_too_many_files"},
		{"unknown name", map[string]any{"pics": "someone_elses_abcdefghij.png"}, "pics", "validation_invalid_file"},
		{"default 5 MiB limit", map[string]any{"secret": txt("big.bin", strings.Repeat("x", 5<<20+1))}, "secret", "validation_file_size_limit"},
	} {
		tc.body["title"] = "t"
		_, err := app.Records().Create(core.AsSystem(ctx), c, tc.body)
		if got := fieldCode(err, tc.field); got != tc.code {
			t.Errorf("%s: %s error = %q (%v), want %s", tc.name, tc.field, got, err, tc.code)
		}
	}
	// A failure elsewhere in the record stores nothing either.
	_, err := app.Records().Create(core.AsSystem(ctx), c, map[string]any{"doc": txt("a.txt", "fine")})
	if fieldCode(err, "title") != "validation_required" {
		t.Fatalf("err = %v", err)
	}
	if got := stored(t, app, c); len(got) != 0 {
		t.Fatalf("failed creates left files: %v", got)
	}
	// A single-file field keeps the last upload; the earlier one is never stored.
	rec, err := app.Records().Create(core.AsSystem(ctx), c, map[string]any{"title": "t", "doc": []any{txt("one.txt", "1"), txt("two.txt", "2")}})
	if err != nil || !strings.HasPrefix(rec.GetString("doc"), "two_") || len(stored(t, app, c)) != 1 {
		t.Fatalf("single field: %v %v %v", rec, err, stored(t, app, c))
	}
}

func TestFileUploadRolledBack(t *testing.T) {
	t.Parallel()
	app, c := filesApp(t)
	ctx := context.Background()
	var uploaded atomic.Value
	app.OnRecordCreate("docs").BindFunc(func(e *core.RecordEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		// The file is stored before the row, inside the transaction...
		key := c.ID + "/" + e.Record.ID() + "/" + e.Record.GetString("doc")
		ok, _ := app.Files().Exists(e.Context, key)
		uploaded.Store(ok)
		return errors.New("veto after the write")
	})
	if _, err := app.Records().Create(core.AsSystem(ctx), c, map[string]any{"title": "t", "doc": txt("a.txt", "a")}); err == nil {
		t.Fatal("vetoed create succeeded")
	}
	if ok, _ := uploaded.Load().(bool); !ok {
		t.Fatal("file was not stored before the row")
	}
	// ...and deleted with the rollback.
	if got := stored(t, app, c); len(got) != 0 {
		t.Fatalf("rolled-back create left files: %v", got)
	}
}

func TestFileUpdateModifiersAndCleanup(t *testing.T) {
	t.Parallel()
	app, c := filesApp(t)
	ctx := context.Background()
	rec, err := app.Records().Create(core.AsSystem(ctx), c, map[string]any{"title": "t", "doc": txt("old.txt", "old"), "pics": txt("p1.png", "1")})
	if err != nil {
		t.Fatal(err)
	}
	oldDoc, p1 := rec.GetString("doc"), rec.Get("pics").([]string)[0]
	dir := c.ID + "/" + rec.ID() + "/"
	// A cached thumbnail goes with its file.
	if err := app.Files().Upload(ctx, dir+"thumbs_"+p1+"/50x50_"+p1, strings.NewReader("thumb")); err != nil {
		t.Fatal(err)
	}

	rec, err = app.Records().Update(core.AsSystem(ctx), c, rec.ID(), map[string]any{"doc": txt("new.txt", "new"), "pics+": txt("p2.png", "2")})
	if err != nil {
		t.Fatal(err)
	}
	newDoc, pics := rec.GetString("doc"), rec.Get("pics").([]string)
	if newDoc == oldDoc || len(pics) != 2 || pics[0] != p1 {
		t.Fatalf("doc %q pics %v", newDoc, pics)
	}
	got := stored(t, app, c)
	if slices.Contains(got, dir+oldDoc) || !slices.Contains(got, dir+newDoc) || !slices.Contains(got, dir+pics[1]) {
		t.Fatalf("replaced file kept or new one missing: %v", got)
	}

	// Names sent back keep their files; "-" removes, with thumbnails.
	rec, err = app.Records().Update(core.AsSystem(ctx), c, rec.ID(), map[string]any{"pics": []any{p1, pics[1]}, "pics-": p1})
	if err != nil {
		t.Fatal(err)
	}
	if got := rec.Get("pics").([]string); !slices.Equal(got, pics[1:]) {
		t.Fatalf("pics = %v", got)
	}
	if got := stored(t, app, c); !slices.Equal(got, []string{dir + newDoc, dir + pics[1]}) {
		t.Fatalf("stored = %v", got)
	}

	// An empty value removes all.
	if _, err := app.Records().Update(core.AsSystem(ctx), c, rec.ID(), map[string]any{"pics": []any{}, "doc": ""}); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, app, c); len(got) != 0 {
		t.Fatalf("stored = %v", got)
	}
}

func TestFileUpdateRollbackKeepsFiles(t *testing.T) {
	t.Parallel()
	app, c := filesApp(t)
	ctx := context.Background()
	rec, err := app.Records().Create(core.AsSystem(ctx), c, map[string]any{"title": "t", "doc": txt("old.txt", "old")})
	if err != nil {
		t.Fatal(err)
	}
	before := stored(t, app, c)
	// The update commits inside a caller's transaction that then rolls
	// back: the replaced file must survive, the new one must not.
	err = app.InTx(ctx, func(ctx context.Context) error {
		if _, err := app.Records().Update(core.AsSystem(ctx), c, rec.ID(), map[string]any{"doc": txt("new.txt", "new")}); err != nil {
			return err
		}
		return errors.New("caller rolls back")
	})
	if err == nil {
		t.Fatal("no rollback")
	}
	after := stored(t, app, c)
	if !slices.Contains(after, before[0]) {
		t.Fatalf("replaced file deleted before the commit: %v", after)
	}
	// NOTE: the new upload stays behind as an orphan: nothing runs when a
	// caller's transaction rolls back after the update itself succeeded.
	// A vetoed update deletes its upload and keeps the old file.
	app.OnRecordUpdate("docs").BindFunc(func(e *core.RecordEvent) error {
		if err := e.Next(); err != nil {
			return err
		}
		return errors.New("veto")
	})
	if _, err := app.Records().Update(core.AsSystem(ctx), c, rec.ID(), map[string]any{"doc": txt("new.txt", "new")}); err == nil {
		t.Fatal("vetoed update succeeded")
	}
	if got := stored(t, app, c); !slices.Equal(got, after) {
		t.Fatalf("stored = %v, want %v", got, after)
	}
}

func TestFileDeleteRemovesRecordFiles(t *testing.T) {
	t.Parallel()
	app, c := filesApp(t)
	ctx := context.Background()
	child := expandCollection(t, app, `{"name":"attachments","fields":[
		{"name":"doc","type":"relation","collectionId":"docs","cascadeDelete":true},
		{"name":"file","type":"file"}]}`)
	rec, err := app.Records().Create(core.AsSystem(ctx), c, map[string]any{"title": "t", "pics": txt("p.png", "p")})
	if err != nil {
		t.Fatal(err)
	}
	other, err := app.Records().Create(core.AsSystem(ctx), c, map[string]any{"title": "t", "pics": txt("q.png", "q")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := app.Records().Create(core.AsSystem(ctx), child, map[string]any{"doc": rec.ID(), "file": txt("c.txt", "c")}); err != nil {
		t.Fatal(err)
	}
	if err := app.Files().Upload(ctx, c.ID+"/"+rec.ID()+"/thumbs_x/50x50_x", strings.NewReader("t")); err != nil {
		t.Fatal(err)
	}
	if err := app.Records().Delete(core.AsSystem(ctx), c, rec.ID()); err != nil {
		t.Fatal(err)
	}
	if got := stored(t, app, c); len(got) != 1 || !strings.HasPrefix(got[0], c.ID+"/"+other.ID()+"/") {
		t.Fatalf("docs files = %v", got)
	}
	if got := stored(t, app, child); len(got) != 0 {
		t.Fatalf("cascade-deleted record kept its files: %v", got)
	}
}

func TestFileTokens(t *testing.T) {
	t.Parallel()
	now := time.Now()
	var clock atomic.Value
	clock.Store(now)
	app, c := filesApp(t, coretest.WithAppOptions(core.WithClock(func() time.Time { return clock.Load().(time.Time) })))
	ctx := context.Background()
	su, err := app.Superusers().Upsert(ctx, "a@b.co", "Secret12345")
	if err != nil {
		t.Fatal(err)
	}
	token, err := app.Auth().NewToken(su, core.TokenTypeFile, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	authToken, _ := app.Auth().NewAuthToken(su)
	for name, tc := range map[string]struct {
		token string
		want  bool
	}{
		"file token": {token, true},
		"auth token": {authToken, false},
		"tampered":   {breakSignature(token), false},
		"garbage":    {"nope", false},
	} {
		_, _, err := app.Auth().ParseToken(ctx, tc.token, core.TokenTypeFile)
		if ok := err == nil; ok != tc.want {
			t.Errorf("%s: valid=%v (%v), want %v", name, ok, err, tc.want)
		}
	}

	rec, err := app.Records().Create(core.AsSystem(ctx), c, map[string]any{"title": "t", "secret": txt("s.txt", "s")})
	if err != nil {
		t.Fatal(err)
	}
	open := func(token string) error {
		f, err := app.Records().OpenFile(core.WithRequest(ctx, &core.RequestInfo{}), c, rec.ID(), rec.GetString("secret"), core.FileQuery{Token: token})
		if err == nil {
			f.Close()
		}
		return err
	}
	// The view rule is public, so PocketBase serves protected files to
	// anyone; lock it to see the token decide.
	in := input(t, `{"viewRule":null}`)
	if _, err := app.Collections().Update(ctx, c.ID, in); err != nil {
		t.Fatal(err)
	}
	c, _ = app.Collections().Find("docs")
	if err := open(""); core.ErrorCodeOf(err) != core.CodeNotFound {
		t.Fatalf("no token: %v", err)
	}
	if err := open(authToken); core.ErrorCodeOf(err) != core.CodeNotFound {
		t.Fatalf("auth token: %v", err)
	}
	if err := open(token); err != nil {
		t.Fatalf("file token: %v", err)
	}
	clock.Store(now.Add(181 * time.Second))
	if err := open(token); core.ErrorCodeOf(err) != core.CodeNotFound {
		t.Fatalf("expired token: %v", err)
	}
	// Rotating the superuser's token key (a password change) revokes it.
	clock.Store(now)
	if _, err := app.Superusers().Upsert(ctx, "a@b.co", "Secret123456"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := app.Auth().ParseToken(ctx, token, core.TokenTypeFile); err == nil {
		t.Fatal("token survived a password change")
	}
}

// breakSignature changes the first character of a JWT's signature, which carries
// six whole bits of it; the last characters may only carry padding bits
// that a lenient base64 decoder ignores.
func breakSignature(token string) string {
	i := strings.LastIndexByte(token, '.') + 1
	c := byte('A')
	if token[i] == 'A' {
		c = 'B'
	}
	return token[:i] + string(c) + token[i+1:]
}
