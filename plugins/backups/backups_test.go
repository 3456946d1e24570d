package backups_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/apis/apitest"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/plugins/backups"
)

// env is the API kit's Env over an App with the plugin, plus a
// superuser's file token.
type env struct {
	*apitest.Env
	app       *core.App
	plugin    *backups.Plugin
	token     string // a superuser's auth token
	fileToken string // a superuser's file token
}

func newEnv(t *testing.T, p *backups.Plugin, opts ...coretest.Option) *env {
	t.Helper()
	opts = append(opts, coretest.WithAppOptions(core.WithPlugins(p)))
	kit := apitest.New(t, opts...)
	e := &env{Env: kit, app: kit.App, plugin: p, token: kit.SuperuserToken, fileToken: fileToken(t, kit.App, kit.Superuser)}
	if _, err := kit.App.Collections().Find("posts"); err != nil && coretest.Dialect() == "sqlite" {
		coretest.CreateCollection(t, kit.App, `{"name":"posts","createRule":"","listRule":"","fields":[{"name":"title","type":"text"}]}`)
	}
	return e
}

func fileToken(t *testing.T, app *core.App, su *core.Record) string {
	t.Helper()
	token, err := app.Auth().NewToken(su, core.TokenTypeFile, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	return token
}

// renewTokens issues new tokens, by the app's clock.
func (e *env) renewTokens(t *testing.T) {
	t.Helper()
	su, token := coretest.Superuser(t, e.app)
	e.token, e.fileToken = token, fileToken(t, e.app, su)
}

func (e *env) request(t *testing.T, req *http.Request, token string) (int, []byte) {
	t.Helper()
	if token != "" {
		req.Header.Set("Authorization", token)
	}
	res := e.Serve(req)
	return res.Code, res.Body.Bytes()
}

func (e *env) do(t *testing.T, method, path, body, token string) (int, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	code, out := e.request(t, req, token)
	return code, string(out)
}

func (e *env) mustDo(t *testing.T, method, path, body string, want int) string {
	t.Helper()
	code, out := e.do(t, method, path, body, e.token)
	if code != want {
		t.Fatalf("%s %s: %d %s, want %d", method, path, code, out, want)
	}
	return out
}

func (e *env) list(t *testing.T) []backups.Info {
	t.Helper()
	var items []backups.Info
	apitest.Decode(t, e.mustDo(t, http.MethodGet, "/api/backups", "", 200), &items)
	return items
}

func keys(items []backups.Info) []string {
	out := make([]string, len(items))
	for i, b := range items {
		out[i] = b.Key
	}
	return out
}

func (e *env) createPost(t *testing.T, title string) string {
	t.Helper()
	out := e.mustDo(t, http.MethodPost, "/api/collections/posts/records", `{"title":"`+title+`"}`, 200)
	rec := apitest.Record{}
	apitest.Decode(t, out, &rec)
	return rec.ID()
}

func (e *env) download(t *testing.T, key string) []byte {
	t.Helper()
	req := httptest.NewRequest(http.MethodGet, "/api/backups/"+key+"?token="+e.fileToken, nil)
	code, body := e.request(t, req, "")
	if code != 200 {
		t.Fatalf("download %s: %d %s", key, code, body)
	}
	return body
}

// upload posts data as the multipart field "file" named filename.
func (e *env) upload(t *testing.T, filename string, data []byte) (int, string) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("file", filename)
	w.Write(data)
	mw.Close()
	req := httptest.NewRequest(http.MethodPost, "/api/backups/upload", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	code, out := e.request(t, req, e.token)
	return code, string(out)
}

func zipEntries(t *testing.T, data []byte) []string {
	t.Helper()
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		t.Fatalf("not a zip: %v", err)
	}
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	return names
}

func makeZip(t *testing.T, files map[string][]byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for name, data := range files {
		w, err := zw.Create(name)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(data)
	}
	zw.Close()
	return buf.Bytes()
}

func wantError(t *testing.T, code int, body string, status int, contains string) {
	t.Helper()
	var e struct {
		Status  int            `json:"status"`
		Message string         `json:"message"`
		Data    map[string]any `json:"data"`
	}
	if err := json.Unmarshal([]byte(body), &e); err != nil || code != status || e.Status != status || e.Data == nil {
		t.Fatalf("got %d %s, want a PocketBase error %d", code, body, status)
	}
	if !strings.Contains(body, contains) {
		t.Fatalf("got %s, want it to mention %q", body, contains)
	}
}

func TestPostgresNamesPgDump(t *testing.T) {
	t.Parallel()
	coretest.RequireDialect(t, "postgres")
	e := newEnv(t, &backups.Plugin{})
	for _, r := range []struct{ method, path, body string }{
		{http.MethodGet, "/api/backups", ""},
		{http.MethodPost, "/api/backups", `{"name":"a.zip"}`},
		{http.MethodPost, "/api/backups/upload", ""},
		{http.MethodGet, "/api/backups/a.zip?token=" + e.fileToken, ""},
		{http.MethodDelete, "/api/backups/a.zip", ""},
		{http.MethodPost, "/api/backups/a.zip/restore", ""},
	} {
		code, body := e.do(t, r.method, r.path, r.body, e.token)
		wantError(t, code, body, 400, "pg_dump")
		if !strings.Contains(body, "pg_restore") {
			t.Errorf("%s %s: %s does not name pg_restore", r.method, r.path, body)
		}
	}
	if err := e.plugin.RunAuto(context.Background()); err != nil {
		t.Fatalf("RunAuto on PostgreSQL: %v", err)
	}
}

func TestSuperusersOnly(t *testing.T) {
	t.Parallel()
	e := newEnv(t, &backups.Plugin{})
	code, body := e.do(t, http.MethodGet, "/api/backups", "", "")
	wantError(t, code, body, 401, "authorization")
	code, body = e.do(t, http.MethodPost, "/api/backups", "", "")
	wantError(t, code, body, 401, "authorization")
	code, body = e.do(t, http.MethodPost, "/api/backups/x.zip/restore", "", "")
	wantError(t, code, body, 401, "authorization")
	// The download needs a superuser's file token: an auth token is not one.
	code, body = e.do(t, http.MethodGet, "/api/backups/x.zip?token="+e.token, "", "")
	wantError(t, code, body, 403, "Insufficient permissions")
	code, body = e.do(t, http.MethodGet, "/api/backups/x.zip", "", e.token)
	wantError(t, code, body, 403, "Insufficient permissions")
}

func TestCreateListDownloadDelete(t *testing.T) {
	t.Parallel()
	coretest.RequireDialect(t, "sqlite")
	e := newEnv(t, &backups.Plugin{})
	e.createPost(t, "kept")
	// A stored file and the local backups folder: only the first goes in.
	storage := filepath.Join(e.app.Config().DataDir, "storage", "col1", "rec1")
	os.MkdirAll(storage, 0o755)
	os.WriteFile(filepath.Join(storage, "hello.txt"), []byte("hi"), 0o644)

	e.mustDo(t, http.MethodPost, "/api/backups", `{"name":"first.zip"}`, 204)
	e.mustDo(t, http.MethodPost, "/api/backups", ``, 204)
	items := e.list(t)
	if len(items) != 2 {
		t.Fatalf("list = %+v", items)
	}
	generated := items[0].Key
	if !strings.HasPrefix(generated, backups.ManualPrefix) || items[1].Key != "first.zip" {
		t.Fatalf("list, newest first = %v", keys(items))
	}
	for _, b := range items {
		if b.Size <= 0 || len(b.Modified) != len("2006-01-02 15:04:05.000Z") {
			t.Fatalf("item = %+v", b)
		}
	}

	data := e.download(t, "first.zip")
	names := zipEntries(t, data)
	slices.Sort(names)
	if want := []string{"auxiliary.db", "data.db", "storage/col1/rec1/hello.txt"}; !slices.Equal(names, want) {
		t.Fatalf("entries = %v, want %v", names, want)
	}
	// The second backup was made while the first sat in backups/: it is
	// not inside.
	for _, n := range zipEntries(t, e.download(t, generated)) {
		if strings.Contains(n, "backup") {
			t.Fatalf("backup holds %s", n)
		}
	}

	// Names: format and uniqueness.
	code, body := e.do(t, http.MethodPost, "/api/backups", `{"name":"first.zip"}`, e.token)
	wantError(t, code, body, 400, "validation_backup_name_exists")
	code, body = e.do(t, http.MethodPost, "/api/backups", `{"name":"Bad Name.zip"}`, e.token)
	wantError(t, code, body, 400, "validation_match_invalid")
	code, body = e.do(t, http.MethodPost, "/api/backups", `{"name":"../x.zip"}`, e.token)
	wantError(t, code, body, 400, "validation_match_invalid")
	code, body = e.do(t, http.MethodPost, "/api/backups", `{"name":`, e.token)
	wantError(t, code, body, 400, "")

	e.mustDo(t, http.MethodDelete, "/api/backups/first.zip", "", 204)
	if got := keys(e.list(t)); !slices.Equal(got, []string{generated}) {
		t.Fatalf("after delete: %v", got)
	}
	code, body = e.do(t, http.MethodDelete, "/api/backups/first.zip", "", e.token)
	wantError(t, code, body, 400, "already deleted")
}

func TestBadKeys(t *testing.T) {
	t.Parallel()
	coretest.RequireDialect(t, "sqlite")
	e := newEnv(t, &backups.Plugin{})
	e.mustDo(t, http.MethodPost, "/api/backups", `{"name":"ok.zip"}`, 204)
	bad := []string{
		"..%2F..%2Fdata.db", "..%2Fdata.db", "%2E%2E", "data.db", "..", ".hidden.zip",
		"a%00.zip", "a%5Cb.zip", "storage%2Fx.zip", "%2Fetc%2Fpasswd", "a%25zz.zip",
	}
	for _, k := range bad {
		for _, r := range []struct{ method, path string }{
			{http.MethodGet, "/api/backups/" + k + "?token=" + e.fileToken},
			{http.MethodDelete, "/api/backups/" + k},
			{http.MethodPost, "/api/backups/" + k + "/restore"},
		} {
			code, body := e.do(t, r.method, r.path, "", e.token)
			if code != 400 && code != 404 {
				t.Errorf("%s %s: %d %s, want 400 or 404", r.method, r.path, code, body)
			}
		}
	}
	code, body := e.do(t, http.MethodGet, "/api/backups/missing.zip?token="+e.fileToken, "", "")
	wantError(t, code, body, 404, "")
	code, body = e.do(t, http.MethodPost, "/api/backups/missing.zip/restore", "", e.token)
	wantError(t, code, body, 400, "Missing or invalid backup file")
	if got := keys(e.list(t)); !slices.Equal(got, []string{"ok.zip"}) {
		t.Fatalf("list = %v", got)
	}
	if _, err := os.Stat(filepath.Join(e.app.Config().DataDir, "data.db")); err != nil {
		t.Fatalf("data.db: %v", err)
	}
}

func TestBusy(t *testing.T) {
	t.Parallel()
	coretest.RequireDialect(t, "sqlite")
	e := newEnv(t, &backups.Plugin{})
	e.mustDo(t, http.MethodPost, "/api/backups", `{"name":"in_use.zip"}`, 204)
	release, ok := e.plugin.Hold("in_use.zip")
	if !ok {
		t.Fatal("Hold")
	}
	code, body := e.do(t, http.MethodPost, "/api/backups", ``, e.token)
	wantError(t, code, body, 400, "Try again later")
	code, body = e.do(t, http.MethodPost, "/api/backups/in_use.zip/restore", ``, e.token)
	wantError(t, code, body, 400, "Try again later")
	code, body = e.do(t, http.MethodDelete, "/api/backups/in_use.zip", ``, e.token)
	wantError(t, code, body, 400, "currently being used")
	release()

	// Concurrent creates: each either succeeds or is told to try later.
	var wg sync.WaitGroup
	codes := make([]int, 4)
	for i := range codes {
		wg.Add(1)
		go func() {
			defer wg.Done()
			codes[i], _ = e.do(t, http.MethodPost, "/api/backups", `{"name":"c`+string(rune('a'+i))+`.zip"}`, e.token)
		}()
	}
	wg.Wait()
	for _, c := range codes {
		if c != 204 && c != 400 {
			t.Fatalf("concurrent create codes = %v", codes)
		}
	}
	if !slices.Contains(codes, 204) {
		t.Fatalf("no concurrent create succeeded: %v", codes)
	}
}

func TestUpload(t *testing.T) {
	t.Parallel()
	coretest.RequireDialect(t, "sqlite")
	e := newEnv(t, &backups.Plugin{})
	e.mustDo(t, http.MethodPost, "/api/backups", `{"name":"orig.zip"}`, 204)
	data := e.download(t, "orig.zip")

	if code, body := e.upload(t, "My Copy.ZIP", data); code != 204 {
		t.Fatalf("upload: %d %s", code, body)
	}
	if got := keys(e.list(t)); !slices.Contains(got, "my_copy.zip") {
		t.Fatalf("list = %v", got)
	}
	if !bytes.Equal(e.download(t, "my_copy.zip"), data) {
		t.Fatal("uploaded bytes differ")
	}
	code, body := e.upload(t, "My Copy.zip", data)
	wantError(t, code, body, 400, "validation_backup_name_exists")
	code, body = e.upload(t, "notes.txt", []byte("hello"))
	wantError(t, code, body, 400, "validation_invalid_backup")
	code, body = e.upload(t, "fake.zip", []byte("PK not really"))
	wantError(t, code, body, 400, "validation_invalid_backup")
	code, body = e.upload(t, "nodb.zip", makeZip(t, map[string][]byte{"storage/a.txt": []byte("x")}))
	wantError(t, code, body, 400, "validation_invalid_backup")
	code, body = e.upload(t, "notsqlite.zip", makeZip(t, map[string][]byte{"data.db": []byte("hello, this is not a database")}))
	wantError(t, code, body, 400, "validation_invalid_backup")
	code, body = e.upload(t, "slip.zip", makeZip(t, map[string][]byte{"data.db": []byte("SQLite format 3\x00"), "../evil": []byte("x")}))
	wantError(t, code, body, 400, "validation_invalid_backup")
	code, body = e.do(t, http.MethodPost, "/api/backups/upload", "", e.token)
	wantError(t, code, body, 400, "validation_required")

	// A zip that passes the upload checks but whose data.db is damaged is
	// refused by restore, before anything is touched.
	damaged := makeZip(t, map[string][]byte{"data.db": append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{7}, 4096)...)})
	if code, body := e.upload(t, "damaged.zip", damaged); code != 204 {
		t.Fatalf("upload damaged: %d %s", code, body)
	}
	code, body = e.do(t, http.MethodPost, "/api/backups/damaged.zip/restore", "", e.token)
	wantError(t, code, body, 400, "Invalid backup file")
	e.mustDo(t, http.MethodGet, "/api/backups", "", 200) // the app still runs
}

// clock is a settable clock for names and retention order.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestRetentionPrunesOnlyAutoBackups(t *testing.T) {
	t.Parallel()
	coretest.RequireDialect(t, "sqlite")
	clk := &clock{now: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	e := newEnv(t, &backups.Plugin{}, coretest.WithAppOptions(core.WithClock(clk.Now)))
	s := e.app.Settings()
	s.Backups.Cron = "0 3 * * *"
	s.Backups.CronMaxKeep = 2
	if err := e.app.SaveSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	e.mustDo(t, http.MethodPost, "/api/backups", `{"name":"manual.zip"}`, 204)
	var autos []string
	for range 4 {
		clk.Add(time.Hour)
		if err := e.plugin.RunAuto(context.Background()); err != nil {
			t.Fatal(err)
		}
		autos = append(autos, "@auto_hg_backup_"+clk.Now().Format("20060102150405")+".zip")
		time.Sleep(10 * time.Millisecond) // distinct modification times
	}
	got := keys(e.list(t))
	slices.Sort(got)
	want := []string{autos[3], autos[2], "manual.zip"}
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("after pruning: %v, want %v", got, want)
	}
	// The "@" of automatic keys arrives escaped from the SDKs. File
	// tokens expire by the app's clock, which moved on.
	e.renewTokens(t)
	key := strings.ReplaceAll(autos[3], "@", "%40")
	if len(zipEntries(t, e.download(t, key))) == 0 {
		t.Fatal("empty auto backup")
	}
	e.mustDo(t, http.MethodDelete, "/api/backups/"+key, "", 204)
}

func TestScheduleFollowsSettings(t *testing.T) {
	t.Parallel()
	coretest.RequireDialect(t, "sqlite")
	e := newEnv(t, &backups.Plugin{PollInterval: 10 * time.Millisecond})
	scheduled := func() string {
		for _, c := range e.app.Cron().Entries() {
			if c.Name == backups.CronName {
				return c.Spec
			}
		}
		return ""
	}
	waitFor := func(want string) {
		t.Helper()
		if !coretest.Poll(5*time.Second, func() bool { return scheduled() == want }) {
			t.Fatalf("cron spec = %q, want %q", scheduled(), want)
		}
	}
	waitFor("")
	for _, spec := range []string{"0 3 * * *", "*/5 * * * *", ""} {
		s := e.app.Settings()
		s.Backups.Cron, s.Backups.CronMaxKeep = spec, 3
		if err := e.app.SaveSettings(context.Background(), s); err != nil {
			t.Fatal(err)
		}
		waitFor(spec)
		if spec == "*/5 * * * *" {
			// A tick is a job of the entry's type (run inline here).
			if _, err := e.app.Jobs().Enqueue(context.Background(), core.CronJobType(backups.CronName), nil); err != nil {
				t.Fatal(err)
			}
			if got := keys(e.list(t)); len(got) != 1 || !strings.HasPrefix(got[0], backups.AutoPrefix) {
				t.Fatalf("after a tick: %v", got)
			}
		}
	}
}

func TestS3Store(t *testing.T) {
	t.Parallel()
	coretest.RequireDialect(t, "sqlite")
	srv := coretest.NewS3Server(t)
	e := newEnv(t, &backups.Plugin{})
	s := e.app.Settings()
	s.Backups.S3 = srv.Settings()
	if err := e.app.SaveSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	e.mustDo(t, http.MethodPost, "/api/backups", `{"name":"remote.zip"}`, 204)
	if got := srv.Keys(t, ""); !slices.Equal(got, []string{"backups/remote.zip"}) {
		t.Fatalf("bucket keys = %v", got)
	}
	if got := keys(e.list(t)); !slices.Equal(got, []string{"remote.zip"}) {
		t.Fatalf("list = %v", got)
	}
	if !slices.Contains(zipEntries(t, e.download(t, "remote.zip")), "data.db") {
		t.Fatal("no data.db in the S3 backup")
	}
	if entries, _ := os.ReadDir(filepath.Join(e.app.Config().DataDir, "backups")); len(entries) != 0 {
		t.Fatalf("local backups folder holds %d files", len(entries))
	}
	e.mustDo(t, http.MethodDelete, "/api/backups/remote.zip", "", 204)
	if got := srv.Keys(t, ""); len(got) != 0 {
		t.Fatalf("bucket keys after delete = %v", got)
	}
}

func TestRestoreReplacesData(t *testing.T) {
	t.Parallel()
	coretest.RequireDialect(t, "sqlite")
	restarted := make(chan struct{})
	p := &backups.Plugin{Restart: func() error { close(restarted); return nil }}
	e := newEnv(t, p)
	dir := e.app.Config().DataDir
	a := e.createPost(t, "A")
	e.mustDo(t, http.MethodPost, "/api/backups", `{"name":"snap.zip"}`, 204)
	b := e.createPost(t, "B")

	e.mustDo(t, http.MethodPost, "/api/backups/snap.zip/restore", "", 204)
	select {
	case <-restarted:
	case <-time.After(30 * time.Second):
		t.Fatal("no restart within 30s")
	}
	staged, _ := filepath.Glob(filepath.Join(dir, ".hg_restore_*", "old", "*data.db"))
	if len(staged) != 1 {
		t.Fatalf("replaced data.db kept aside: %v", staged)
	}

	// What the restarted process would open.
	e2 := newEnv(t, &backups.Plugin{}, coretest.WithConfig(func(c *core.Config) { c.DataDir = dir }))
	ctx := context.Background()
	posts, err := e2.app.Collections().Find("posts")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e2.app.Records().Find(ctx, posts, a); err != nil {
		t.Fatalf("record A after restore: %v", err)
	}
	if _, err := e2.app.Records().Find(ctx, posts, b); core.ErrorCodeOf(err) != core.CodeNotFound {
		t.Fatalf("record B after restore: %v, want not found", err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".hg_restore_*")); len(left) != 0 {
		t.Fatalf("staging left after a good start: %v", left)
	}
	if got := keys(e2.list(t)); !slices.Equal(got, []string{"snap.zip"}) {
		t.Fatalf("backups after restore = %v", got)
	}
}

func TestRestoreRefusesUnsafeArchives(t *testing.T) {
	t.Parallel()
	coretest.RequireDialect(t, "sqlite")
	p := &backups.Plugin{Restart: func() error { t.Error("restarted"); return nil }}
	e := newEnv(t, p)
	dir := e.app.Config().DataDir
	// Put straight into the store: the upload route would refuse them.
	for name, files := range map[string]map[string][]byte{
		"slip.zip":  {"data.db": []byte("SQLite format 3\x00"), "../../evil.txt": []byte("x")},
		"abs.zip":   {"data.db": []byte("SQLite format 3\x00"), "/tmp/evil.txt": []byte("x")},
		"nodb.zip":  {"storage/a.txt": []byte("x")},
		"plain.zip": nil,
	} {
		data := []byte("not a zip")
		if files != nil {
			data = makeZip(t, files)
		}
		os.MkdirAll(filepath.Join(dir, "backups"), 0o755)
		if err := os.WriteFile(filepath.Join(dir, "backups", name), data, 0o644); err != nil {
			t.Fatal(err)
		}
		code, body := e.do(t, http.MethodPost, "/api/backups/"+name+"/restore", "", e.token)
		wantError(t, code, body, 400, "Invalid backup file")
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(dir), "evil.txt")); err == nil {
		t.Fatal("an entry escaped the staging folder")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".hg_restore_*")); len(left) != 0 {
		t.Fatalf("staging left after refusals: %v", left)
	}
	e.mustDo(t, http.MethodGet, "/api/backups", "", 200)
}
