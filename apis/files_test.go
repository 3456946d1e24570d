package apis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"mime/multipart"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/apis/apitest"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// part is one part of a multipart body: a file when filename is set.
type part struct{ name, filename, content string }

// multipartScenario returns a scenario sending parts as multipart/form-data.
func multipartScenario(t *testing.T, s scenario, parts ...part) scenario {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for _, p := range parts {
		var err error
		if p.filename != "" {
			var fw interface{ Write([]byte) (int, error) }
			fw, err = w.CreateFormFile(p.name, p.filename)
			if err == nil {
				_, err = fw.Write([]byte(p.content))
			}
		} else {
			err = w.WriteField(p.name, p.content)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	w.Close()
	s.body = buf.String()
	s.headers = map[string]string{"Content-Type": w.FormDataContentType()}
	return s
}

func imageBytes(t *testing.T, format string, w, h int) string {
	t.Helper()
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	for x := range w {
		for y := range h {
			img.Set(x, y, color.NRGBA{R: uint8(x), G: uint8(y), B: 99, A: 255})
		}
	}
	var buf bytes.Buffer
	var err error
	if format == "jpeg" {
		err = jpeg.Encode(&buf, img, nil)
	} else {
		err = png.Encode(&buf, img)
	}
	if err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

// filesEnv has a "media" collection: a title, one "doc" (text, at most 20
// bytes), up to three "pics" with a 40x20 thumb, and a protected "secret".
// Its view rule is null, so only superusers may view the records.
type filesEnv struct {
	*env
	col *core.Collection
}

func newFilesEnv(t *testing.T) *filesEnv {
	e := newEnv(t, coretest.NewApp(t))
	col := mustCollection(t, e.app, `{"name":"media","createRule":"","updateRule":"","deleteRule":"","fields":[
		{"name":"title","type":"text"},
		{"name":"doc","type":"file","maxSize":20,"mimeTypes":["text/plain"]},
		{"name":"pics","type":"file","maxSelect":3,"thumbs":["40x20","30x0"]},
		{"name":"secret","type":"file","protected":true}]}`)
	return &filesEnv{env: e, col: col}
}

// onDisk reports whether a record's file is in <data_dir>/storage.
func (e *filesEnv) onDisk(recordID, name string) bool {
	_, err := os.Stat(filepath.Join(e.app.Config().DataDir, "storage", e.col.ID, recordID, name))
	return err == nil
}

// record decodes a record response into rec.
func record(rec *map[string]any) func(t *testing.T, r *httptest.ResponseRecorder) {
	return func(t *testing.T, r *httptest.ResponseRecorder) {
		if err := json.Unmarshal(r.Body.Bytes(), rec); err != nil {
			t.Fatal(err)
		}
	}
}

func names(v any) []string {
	var out []string
	switch x := v.(type) {
	case string:
		out = append(out, x)
	case []any:
		for _, e := range x {
			out = append(out, e.(string))
		}
	}
	return out
}

func TestFileUploadAndDownload(t *testing.T) {
	t.Parallel()
	e := newFilesEnv(t)
	base := "/api/collections/media/records"
	var rec map[string]any
	e.run(t, []scenario{
		multipartScenario(t, scenario{name: "create with files", method: "POST", path: base, wantStatus: 200,
			wantContent: []string{`"title":"Hello"`}, check: record(&rec)},
			part{"@jsonPayload", "", `{"title":"Hello"}`},
			part{"doc", "My Report.txt", "report body"},
			part{"pics", "one.png", imageBytes(t, "png", 80, 80)},
			part{"pics", "two.jpg", imageBytes(t, "jpeg", 60, 30)},
			part{"secret", "s.txt", "top secret"}),
	})
	id, doc, pics, secret := rec["id"].(string), rec["doc"].(string), names(rec["pics"]), rec["secret"].(string)
	if !regexp.MustCompile(`^my_report_[a-z0-9]{10}\.txt$`).MatchString(doc) || len(pics) != 2 {
		t.Fatalf("doc %q pics %v", doc, pics)
	}
	if !e.onDisk(id, doc) || !e.onDisk(id, pics[0]) || !e.onDisk(id, secret) {
		t.Fatal("uploads not on disk")
	}
	files := "/api/files/media/" + id + "/"
	dims := func(w, h int) func(t *testing.T, r *httptest.ResponseRecorder) {
		return func(t *testing.T, r *httptest.ResponseRecorder) {
			cfg, _, err := image.DecodeConfig(r.Body)
			if err != nil || cfg.Width != w || cfg.Height != h {
				t.Fatalf("image %dx%d (%v), want %dx%d", cfg.Width, cfg.Height, err, w, h)
			}
		}
	}
	noFrameOptions := func(t *testing.T, r *httptest.ResponseRecorder) {
		if r.Header().Get("X-Frame-Options") != "" {
			t.Error("X-Frame-Options kept on a file")
		}
	}
	e.run(t, []scenario{
		// The view rule is null, but plain files download for anyone.
		{name: "download text", path: files + doc, wantStatus: 200, wantContent: []string{"report body"}, check: noFrameOptions,
			wantHeaders: map[string]string{
				"Content-Type":            "text/plain; charset=utf-8",
				"Content-Disposition":     "attachment; filename=" + doc,
				"Cache-Control":           "max-age=2592000, stale-while-revalidate=86400",
				"Content-Security-Policy": "default-src 'none'; media-src 'self'; style-src 'unsafe-inline'; sandbox",
			}},
		{name: "download image inline", path: files + pics[0], wantStatus: 200, check: dims(80, 80),
			wantHeaders: map[string]string{"Content-Type": "image/png", "Content-Disposition": "inline; filename=" + pics[0]}},
		{name: "download=1 forces attachment", path: files + pics[0] + "?download=1", wantStatus: 200,
			wantHeaders: map[string]string{"Content-Disposition": "attachment; filename=" + pics[0]}},
		{name: "range", path: files + doc, headers: map[string]string{"Range": "bytes=0-5"}, wantStatus: 206, wantContent: []string{"report"}, notContent: []string{"body"}},
		{name: "head", method: "HEAD", path: files + doc, wantStatus: 200, wantHeaders: map[string]string{"Content-Length": "11"}},
		{name: "listed thumb", path: files + pics[0] + "?thumb=40x20", wantStatus: 200, check: dims(40, 20),
			wantHeaders: map[string]string{"Content-Type": "image/png", "Content-Disposition": "inline; filename=40x20_" + pics[0]}},
		{name: "thumb of a jpeg", path: files + pics[1] + "?thumb=30x0", wantStatus: 200, check: dims(30, 15),
			wantHeaders: map[string]string{"Content-Type": "image/jpeg"}},
		{name: "100x100 always allowed", path: files + pics[1] + "?thumb=100x100", wantStatus: 200, check: dims(100, 100)},
		{name: "unlisted thumb serves the original", path: files + pics[0] + "?thumb=10x10", wantStatus: 200, check: dims(80, 80)},
		{name: "thumb of a non-image serves the original", path: files + doc + "?thumb=100x100", wantStatus: 200, wantContent: []string{"report body"}},
		{name: "unknown collection", path: "/api/files/nope/" + id + "/" + doc, wantStatus: 404},
		{name: "unknown record", path: "/api/files/media/aaaaaaaaaaaaaaa/" + doc, wantStatus: 404},
		{name: "unknown file", path: files + "nope_abcdefghij.txt", wantStatus: 404, wantContent: []string{"The requested resource wasn't found."}},
		{name: "thumb path is not a file", path: files + "thumbs_" + pics[0], wantStatus: 404},
	})
	// Thumbnails are cached in the store, once.
	thumb := e.col.ID + "/" + id + "/thumbs_" + pics[0] + "/40x20_" + pics[0]
	if ok, _ := e.app.Files().Exists(context.Background(), thumb); !ok {
		t.Fatalf("thumbnail not cached at %s", thumb)
	}
	// A file stored for the record but not listed in its fields is not served.
	if err := e.app.Files().Upload(context.Background(), e.col.ID+"/"+id+"/stray.txt", strings.NewReader("x")); err != nil {
		t.Fatal(err)
	}
	e.run(t, []scenario{{name: "stray file", path: files + "stray.txt", wantStatus: 404}})
}

func TestFileModifiersAndCleanup(t *testing.T) {
	t.Parallel()
	e := newFilesEnv(t)
	base := "/api/collections/media/records"
	var rec map[string]any
	e.run(t, []scenario{
		multipartScenario(t, scenario{name: "create", method: "POST", path: base, wantStatus: 200, check: record(&rec)},
			part{"doc", "a.txt", "first"}, part{"pics", "p1.png", imageBytes(t, "png", 10, 10)}),
	})
	id, oldDoc, p1 := rec["id"].(string), rec["doc"].(string), names(rec["pics"])[0]
	path := base + "/" + id
	e.run(t, []scenario{
		multipartScenario(t, scenario{name: "append with pics+ and replace doc", method: "PATCH", path: path, wantStatus: 200, check: record(&rec)},
			part{"pics+", "p2.png", imageBytes(t, "png", 10, 10)}, part{"doc", "b.txt", "second"}),
	})
	pics := names(rec["pics"])
	if len(pics) != 2 || pics[0] != p1 || rec["doc"] == oldDoc {
		t.Fatalf("after append: %v", rec)
	}
	if e.onDisk(id, oldDoc) || !e.onDisk(id, rec["doc"].(string)) {
		t.Fatal("replaced file not deleted after the update, or new one missing")
	}
	e.run(t, []scenario{
		// Kept names and new uploads under one key, as the SDKs send them.
		multipartScenario(t, scenario{name: "keep names and upload", method: "PATCH", path: path, wantStatus: 200, check: record(&rec)},
			part{"pics", "", pics[1]}, part{"pics", "p3.png", imageBytes(t, "png", 10, 10)}),
	})
	if got := names(rec["pics"]); len(got) != 2 || got[0] != pics[1] || e.onDisk(id, p1) {
		t.Fatalf("after keep+upload: %v (p1 on disk %v)", got, e.onDisk(id, p1))
	}
	p3 := names(rec["pics"])[1]
	e.run(t, []scenario{
		{name: "remove with pics-", method: "PATCH", path: path, body: `{"pics-":["` + pics[1] + `"]}`, wantStatus: 200,
			wantContent: []string{`"pics":["` + p3 + `"]`}},
		{name: "unknown name is refused", method: "PATCH", path: path, body: `{"pics":["` + p3 + `","forged_abcdefghij.png"]}`, wantStatus: 400,
			wantContent: []string{`"pics":{"code":"validation_invalid_file"`}},
		multipartScenario(t, scenario{name: "too many", method: "PATCH", path: path, wantStatus: 400,
			wantContent: []string{`"pics":{"code":"validation_too_many_files"`}},
			part{"pics+", "x.png", "x"}, part{"pics+", "y.png", "y"}, part{"pics+", "z.png", "z"}),
		{name: "empty removes all", method: "PATCH", path: path, body: `{"pics":[]}`, wantStatus: 200, wantContent: []string{`"pics":[]`}},
	})
	if e.onDisk(id, pics[1]) || e.onDisk(id, p3) {
		t.Fatal("removed files still on disk")
	}
	doc := rec["doc"].(string)
	e.run(t, []scenario{
		{name: "delete record", method: "DELETE", path: path, wantStatus: 204},
	})
	if e.onDisk(id, doc) {
		t.Fatal("deleted record's file still on disk")
	}
	if _, err := os.Stat(filepath.Join(e.app.Config().DataDir, "storage", e.col.ID, id)); !os.IsNotExist(err) {
		t.Fatalf("deleted record's folder kept: %v", err)
	}
}

func TestFileValidationOverHTTP(t *testing.T) {
	t.Parallel()
	e := newFilesEnv(t)
	mustCollection(t, e.app, `{"name":"gated","createRule":"title = 'yes'","fields":[{"name":"title","type":"text"},{"name":"doc","type":"file"}]}`)
	base := "/api/collections/media/records"
	e.run(t, []scenario{
		multipartScenario(t, scenario{name: "oversize", method: "POST", path: base, wantStatus: 400,
			wantContent: []string{`"doc":{"code":"validation_file_size_limit","message":"Failed to upload \"big.txt\" - the maximum allowed file size is 20 bytes."}`}},
			part{"doc", "big.txt", strings.Repeat("x", 21)}),
		multipartScenario(t, scenario{name: "wrong mime", method: "POST", path: base, wantStatus: 400,
			wantContent: []string{`"doc":{"code":"validation_invalid_mime_type"`}},
			part{"doc", "fake.txt", imageBytes(t, "png", 2, 2)[:20]}),
		multipartScenario(t, scenario{name: "bad @jsonPayload", method: "POST", path: base, wantStatus: 400},
			part{"@jsonPayload", "", `{"title":`}),
		multipartScenario(t, scenario{name: "failing create (rule) leaves no file", method: "POST", path: "/api/collections/gated/records", wantStatus: 400},
			part{"title", "", "no"}, part{"doc", "a.txt", "a"}),
	})
	if keys, _ := e.app.Files().List(context.Background(), ""); len(keys) != 0 {
		t.Fatalf("failed creates left files: %v", keys)
	}
}

func TestProtectedFiles(t *testing.T) {
	t.Parallel()
	e := newFilesEnv(t)
	var rec map[string]any
	e.run(t, []scenario{
		multipartScenario(t, scenario{name: "create", method: "POST", path: "/api/collections/media/records", wantStatus: 200, check: record(&rec)},
			part{"secret", "s.txt", "top secret"}, part{"doc", "d.txt", "plain"}),
	})
	url := "/api/files/media/" + rec["id"].(string) + "/" + rec["secret"].(string)
	var token string
	e.run(t, []scenario{
		{name: "token for guests is 401", method: "POST", path: "/api/files/token", wantStatus: 401},
		{name: "token for a superuser", method: "POST", path: "/api/files/token", token: "superuser", wantStatus: 200,
			check: apitest.Grab("token", &token)},
	})
	if token == "" {
		t.Fatal("no token")
	}
	e.run(t, []scenario{
		{name: "no token", path: url, wantStatus: 404},
		{name: "invalid token", path: url + "?token=abc", wantStatus: 404},
		{name: "auth token in the header", path: url, token: "superuser", wantStatus: 404},
		{name: "auth token as file token", path: url + "?token=" + e.token, wantStatus: 404},
		{name: "file token", path: url + "?token=" + token, wantStatus: 200, wantContent: []string{"top secret"},
			wantHeaders: map[string]string{"Cache-Control": "private, max-age=2592000, stale-while-revalidate=86400"}},
		{name: "plain file needs no token", path: "/api/files/media/" + rec["id"].(string) + "/" + rec["doc"].(string), wantStatus: 200},
	})
	// With a public view rule PocketBase serves protected files to anyone.
	if _, err := e.app.Collections().Update(context.Background(), "media", mustInput(t, `{"viewRule":""}`)); err != nil {
		t.Fatal(err)
	}
	e.run(t, []scenario{{name: "public view rule", path: url, wantStatus: 200}})
}

func mustInput(t *testing.T, js string) *core.CollectionInput {
	t.Helper()
	var in core.CollectionInput
	if err := json.Unmarshal([]byte(js), &in); err != nil {
		t.Fatal(err)
	}
	return &in
}

func TestUploadToOtherFieldIsIgnored(t *testing.T) {
	t.Parallel()
	e := newFilesEnv(t)
	e.run(t, []scenario{
		multipartScenario(t, scenario{name: "file for a text field", method: "POST", path: "/api/collections/media/records", wantStatus: 200,
			wantContent: []string{`"title":""`}},
			part{"title", "t.txt", "not a title"}),
	})
	if keys, _ := e.app.Files().List(context.Background(), ""); len(keys) != 0 {
		t.Fatalf("stored %v", keys)
	}
}
