package apis_test

import (
	"context"
	"encoding/json"
	"fmt"
	"image"
	"net/http/httptest"
	"slices"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// s3SettingsBody is a PATCH /api/settings body that stores files in srv.
func s3SettingsBody(srv *coretest.S3Server, secret string) string {
	b, _ := json.Marshal(map[string]any{"s3": map[string]any{
		"enabled": true, "bucket": srv.Bucket, "region": srv.Region, "endpoint": srv.URL,
		"accessKey": srv.AccessKey, "secret": secret, "forcePathStyle": true,
	}})
	return string(b)
}

func imageSize(w, h int) func(t *testing.T, r *httptest.ResponseRecorder) {
	return func(t *testing.T, r *httptest.ResponseRecorder) {
		t.Helper()
		cfg, _, err := image.DecodeConfig(r.Body)
		if err != nil || cfg.Width != w || cfg.Height != h {
			t.Fatalf("image %dx%d (%v), want %dx%d", cfg.Width, cfg.Height, err, w, h)
		}
	}
}

// TestS3FileStorage switches a running App to S3 through the settings API
// and goes through every file operation: uploads land in the bucket and
// not on disk, downloads (ranges too), thumbnails made on first request
// and kept in the bucket under PocketBase's thumbs_ prefix, protected
// files with a file token, replaced and deleted records' objects removed.
func TestS3FileStorage(t *testing.T) {
	t.Parallel()
	srv := coretest.NewS3Server(t)
	e := newFilesEnv(t)
	e.run(t, []scenario{
		{name: "enable S3", method: "PATCH", path: "/api/settings", token: "superuser", body: s3SettingsBody(srv, srv.Secret),
			wantStatus: 200, wantContent: []string{`"s3":{"enabled":true`}, notContent: []string{srv.Secret}},
		{name: "test s3", method: "POST", path: "/api/settings/test/s3", token: "superuser", body: `{"filesystem":"storage"}`, wantStatus: 204},
	})
	if keys := srv.Keys(t, ""); len(keys) != 0 {
		t.Fatalf("test/s3 left %v", keys)
	}

	var rec map[string]any
	e.run(t, []scenario{
		multipartScenario(t, scenario{name: "create with files", method: "POST", path: "/api/collections/media/records", wantStatus: 200, check: record(&rec)},
			part{"doc", "My Report.txt", "report body"},
			part{"pics", "one.png", imageBytes(t, "png", 80, 80)},
			part{"secret", "s.txt", "top secret"}),
	})
	id, doc, pic, secret := rec["id"].(string), rec["doc"].(string), names(rec["pics"])[0], rec["secret"].(string)
	dir := e.col.ID + "/" + id + "/"
	want := []string{dir + doc, dir + pic, dir + secret}
	slices.Sort(want)
	if got := srv.Keys(t, dir); !slices.Equal(got, want) {
		t.Fatalf("bucket holds %v, want %v", got, want)
	}
	if e.onDisk(id, doc) {
		t.Fatal("an upload went to the local disk")
	}

	files := "/api/files/media/" + id + "/"
	var fileToken string
	e.run(t, []scenario{
		{name: "download", path: files + doc, wantStatus: 200, wantContent: []string{"report body"},
			wantHeaders: map[string]string{"Content-Type": "text/plain; charset=utf-8", "Content-Disposition": "attachment; filename=" + doc}},
		{name: "range", path: files + doc, headers: map[string]string{"Range": "bytes=7-10"}, wantStatus: 206, wantContent: []string{"body"}, notContent: []string{"report"}},
		{name: "head", method: "HEAD", path: files + doc, wantStatus: 200, wantHeaders: map[string]string{"Content-Length": "11"}},
		{name: "image", path: files + pic, wantStatus: 200, check: imageSize(80, 80)},
		{name: "thumb", path: files + pic + "?thumb=40x20", wantStatus: 200, check: imageSize(40, 20),
			wantHeaders: map[string]string{"Content-Disposition": "inline; filename=40x20_" + pic}},
		{name: "thumb again", path: files + pic + "?thumb=40x20", wantStatus: 200, check: imageSize(40, 20)},
		{name: "protected without token", path: files + secret, wantStatus: 404},
		{name: "file token", method: "POST", path: "/api/files/token", token: "superuser", wantStatus: 200,
			check: func(t *testing.T, r *httptest.ResponseRecorder) {
				var body map[string]string
				json.Unmarshal(r.Body.Bytes(), &body)
				fileToken = body["token"]
			}},
	})
	e.run(t, []scenario{
		{name: "protected with file token", path: files + secret + "?token=" + fileToken, wantStatus: 200, wantContent: []string{"top secret"},
			wantHeaders: map[string]string{"Cache-Control": "private, max-age=2592000, stale-while-revalidate=86400"}},
	})
	thumb := dir + "thumbs_" + pic + "/40x20_" + pic
	if !slices.Contains(srv.Keys(t, dir), thumb) {
		t.Fatalf("thumbnail not stored at %s: %v", thumb, srv.Keys(t, dir))
	}

	e.run(t, []scenario{
		multipartScenario(t, scenario{name: "replace doc and pics", method: "PATCH", path: "/api/collections/media/records/" + id, wantStatus: 200, check: record(&rec)},
			part{"doc", "b.txt", "second"}, part{"pics", "two.png", imageBytes(t, "png", 10, 10)}),
	})
	got := srv.Keys(t, dir)
	if slices.Contains(got, dir+doc) || slices.Contains(got, dir+pic) || slices.Contains(got, thumb) || !slices.Contains(got, dir+rec["doc"].(string)) {
		t.Fatalf("after replacing, the bucket holds %v", got)
	}
	e.run(t, []scenario{{name: "delete record", method: "DELETE", path: "/api/collections/media/records/" + id, wantStatus: 204}})
	if got := srv.Keys(t, dir); len(got) != 0 {
		t.Fatalf("deleted record's objects kept: %v", got)
	}

	// Disabling S3 sends new uploads to the local disk again.
	e.run(t, []scenario{
		{name: "disable S3", method: "PATCH", path: "/api/settings", token: "superuser", body: `{"s3":{"enabled":false}}`, wantStatus: 200},
		multipartScenario(t, scenario{name: "create on disk", method: "POST", path: "/api/collections/media/records", wantStatus: 200, check: record(&rec)},
			part{"doc", "c.txt", "local"}),
	})
	if !e.onDisk(rec["id"].(string), rec["doc"].(string)) || len(srv.Keys(t, "")) != 0 {
		t.Fatalf("upload after disabling S3: on disk %v, bucket %v", e.onDisk(rec["id"].(string), rec["doc"].(string)), srv.Keys(t, ""))
	}
}

// TestS3TestEndpoint checks POST /api/settings/test/s3 against the
// service: right credentials 204, a wrong secret or bucket 400 with the
// service's error, for "storage" and "backups".
func TestS3TestEndpoint(t *testing.T) {
	t.Parallel()
	srv := coretest.NewS3Server(t)
	e := newFilesEnv(t)
	backups, _ := json.Marshal(map[string]any{"backups": map[string]any{"s3": srv.Settings()}})
	testS3 := func(name, fs string, status int, content ...string) scenario {
		return scenario{name: name, method: "POST", path: "/api/settings/test/s3", token: "superuser",
			body: `{"filesystem":"` + fs + `"}`, wantStatus: status, wantContent: content}
	}
	e.run(t, []scenario{
		testS3("storage disabled", "storage", 400, `Raw error: \nS3 storage filesystem is not enabled.`),
		{name: "wrong secret", method: "PATCH", path: "/api/settings", token: "superuser", body: s3SettingsBody(srv, "not-the-secret"), wantStatus: 200},
		testS3("wrong secret fails", "storage", 400, `{"data":{},"message":"Failed to test the S3 filesystem.","status":400}`),
		{name: "right secret", method: "PATCH", path: "/api/settings", token: "superuser", body: `{"s3":{"secret":"` + srv.Secret + `"}}`, wantStatus: 200},
		testS3("right secret works", "storage", 204),
		{name: "missing bucket", method: "PATCH", path: "/api/settings", token: "superuser", body: `{"s3":{"bucket":"no-such-bucket"}}`, wantStatus: 200},
		testS3("missing bucket fails", "storage", 400, `"message":"Failed to test the S3 filesystem."`),
		testS3("backups disabled", "backups", 400, `S3 storage filesystem is not enabled.`),
		{name: "backups on S3", method: "PATCH", path: "/api/settings", token: "superuser", body: string(backups), wantStatus: 200},
		testS3("backups works", "backups", 204),
		{name: "unreachable endpoint", method: "PATCH", path: "/api/settings", token: "superuser",
			body: `{"s3":{"bucket":"` + srv.Bucket + `","endpoint":"http://127.0.0.1:1"}}`, wantStatus: 200},
		testS3("unreachable endpoint fails", "storage", 400, `"message":"Failed to test the S3 filesystem."`),
	})
	if _, denied := srv.Requests(); denied == 0 {
		t.Fatal("the wrong secret never reached the service")
	}
}

// TestS3WrongSecretFailsUploads checks that a bad secret in the settings
// fails uploads cleanly: no record is created and nothing is stored.
func TestS3WrongSecretFailsUploads(t *testing.T) {
	t.Parallel()
	srv := coretest.NewS3Server(t)
	e := newFilesEnv(t)
	e.run(t, []scenario{
		{name: "wrong secret", method: "PATCH", path: "/api/settings", token: "superuser", body: s3SettingsBody(srv, "wrong"), wantStatus: 200},
		multipartScenario(t, scenario{name: "upload fails", method: "POST", path: "/api/collections/media/records", wantStatus: 500},
			part{"doc", "a.txt", "x"}),
		{name: "no record", path: "/api/collections/media/records", token: "superuser", wantStatus: 200, wantContent: []string{`"totalItems":0`}},
	})
	if keys := srv.Keys(t, ""); len(keys) != 0 {
		t.Fatalf("bucket holds %v", keys)
	}
}

// TestS3SharedAcrossInstances runs two Apps on one database and one S3
// bucket, each with its own data directory: a file uploaded through A
// downloads through B, B makes the thumbnail on first request and A then
// serves B's (the bucket holds one), and a delete through B removes what
// A stored.
func TestS3SharedAcrossInstances(t *testing.T) {
	t.Parallel()
	srv := coretest.NewS3Server(t)
	a := newFilesEnv(t)
	a.run(t, []scenario{{name: "enable S3 on A", method: "PATCH", path: "/api/settings", token: "superuser", body: s3SettingsBody(srv, srv.Secret), wantStatus: 200}})
	dbURL := a.app.Config().DatabaseURL()
	b := newEnv(t, coretest.NewApp(t, coretest.WithConfig(func(c *core.Config) { c.Database.URL = dbURL })))
	if b.app.Config().DataDir == a.app.Config().DataDir || !b.app.Settings().S3.Enabled {
		t.Fatalf("B shares A's data dir (%v) or did not read the S3 settings", b.app.Config().DataDir == a.app.Config().DataDir)
	}

	var rec map[string]any
	a.run(t, []scenario{
		multipartScenario(t, scenario{name: "upload through A", method: "POST", path: "/api/collections/media/records", wantStatus: 200, check: record(&rec)},
			part{"doc", "notes.txt", "shared notes"}, part{"pics", "pic.png", imageBytes(t, "png", 64, 32)}),
	})
	id, doc, pic := rec["id"].(string), rec["doc"].(string), names(rec["pics"])[0]
	files := fmt.Sprintf("/api/files/media/%s/", id)
	b.run(t, []scenario{
		{name: "download through B", path: files + doc, wantStatus: 200, wantContent: []string{"shared notes"}},
		{name: "image through B", path: files + pic, wantStatus: 200, check: imageSize(64, 32)},
		{name: "thumb through B", path: files + pic + "?thumb=30x0", wantStatus: 200, check: imageSize(30, 15)},
	})
	a.run(t, []scenario{{name: "thumb through A", path: files + pic + "?thumb=30x0", wantStatus: 200, check: imageSize(30, 15)}})
	dir := a.col.ID + "/" + id + "/"
	if thumbs := srv.Keys(t, dir+"thumbs_"); !slices.Equal(thumbs, []string{dir + "thumbs_" + pic + "/30x0_" + pic}) {
		t.Fatalf("thumbs in the bucket: %v", thumbs)
	}
	b.run(t, []scenario{{name: "delete through B", method: "DELETE", path: "/api/collections/media/records/" + id, token: "superuser", wantStatus: 204}})
	if keys := srv.Keys(t, dir); len(keys) != 0 {
		t.Fatalf("objects kept after the delete: %v", keys)
	}
	if ok, err := a.app.Files().Exists(context.Background(), dir+doc); ok || err != nil {
		t.Fatalf("A still sees the file: %v %v", ok, err)
	}
}
