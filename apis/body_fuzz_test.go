package apis

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/core/filesystem"
	"github.com/labstack/echo/v4"
)

// fuzzBoundary is the multipart boundary of the seeds.
const fuzzBoundary = "hgfuzz"

// FuzzMultipartBody feeds fuzzed record bodies (multipart mostly, and
// whatever else the content type says) to bindForm, which turns a body
// into field values and uploads, then to a record create through the
// router. It checks that nothing panics; that bindForm refuses a body
// only with an invalid error (a 400); that what it accepts holds only
// texts, uploads with safe stored names and JSON values; and that the
// request never ends in a 5xx, its errors in PocketBase's shape. The
// seed corpus is in testdata/fuzz/FuzzMultipartBody.
func FuzzMultipartBody(f *testing.F) {
	app := coretest.NewApp(f)
	ctx := context.Background()
	col := coretest.CreateCollection(f, app, `{"name":"kitchen","createRule":"","fields":[
		{"name":"title","type":"text","max":40},{"name":"views","type":"number"},{"name":"live","type":"bool"},
		{"name":"kinds","type":"select","values":["a","b","c"],"maxSelect":3},{"name":"meta","type":"json"},
		{"name":"due","type":"date"},{"name":"place","type":"geoPoint"},
		{"name":"doc","type":"file","maxSize":4096},
		{"name":"pics","type":"file","maxSelect":3,"maxSize":4096,"mimeTypes":["image/png","text/plain"],"thumbs":["10x10"]}]}`)
	su, err := app.Superusers().Upsert(ctx, "fuzz@example.test", "Secret12345")
	if err != nil {
		f.Fatal(err)
	}
	token, err := app.Auth().NewAuthToken(su)
	if err != nil {
		f.Fatal(err)
	}
	router := NewRouter(app)
	multipartType := "multipart/form-data; boundary=" + fuzzBoundary
	for _, seed := range fuzzMultipartSeeds() {
		f.Add(multipartType, []byte(seed))
	}
	f.Add("application/x-www-form-urlencoded", []byte("title=a&views=2&kinds=a&kinds=b&meta=%7B%7D"))
	f.Add("multipart/form-data", []byte("--x\r\n\r\n--x--\r\n"))

	f.Fuzz(func(t *testing.T, contentType string, body []byte) {
		form, err := bindFuzzBody(contentType, body)
		if err != nil {
			var ce *core.Error
			if !errors.As(err, &ce) || ce.Code != core.CodeInvalid || toAPIError(err).Status != http.StatusBadRequest {
				t.Fatalf("%q: refused with %v (%T), want an invalid error", body, err, err)
			}
			return
		}
		checkFormValues(t, form)

		req := httptest.NewRequest(http.MethodPost, "/api/collections/kitchen/records", bytes.NewReader(body))
		req.Header.Set(echo.HeaderContentType, contentType)
		req.Header.Set(echo.HeaderAuthorization, token)
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, req)
		switch {
		case rec.Code >= 500:
			t.Fatalf("%q: status %d: %s", body, rec.Code, rec.Body)
		case rec.Code >= 400:
			checkFuzzErrorBody(t, rec)
		case rec.Code == http.StatusOK:
			var out struct{ ID string }
			if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil || out.ID == "" {
				t.Fatalf("%q: 200 without a record: %s", body, rec.Body)
			}
			if err := app.Records().Delete(core.AsSystem(ctx), col, out.ID); err != nil {
				t.Fatalf("delete %s: %v", out.ID, err)
			}
		}
	})
}

// bindFuzzBody runs bindForm on a request with body and contentType, and
// removes any temporary files of its multipart form.
func bindFuzzBody(contentType string, body []byte) (map[string]any, error) {
	req := httptest.NewRequest(http.MethodPost, "/api/collections/kitchen/records", bytes.NewReader(body))
	req.Header.Set(echo.HeaderContentType, contentType)
	c := echo.New().NewContext(req, httptest.NewRecorder())
	defer func() {
		if req.MultipartForm != nil {
			_ = req.MultipartForm.RemoveAll()
		}
	}()
	return bindForm(c)
}

// checkFormValues wants texts, lists of texts and uploads, and decoded
// JSON; uploads get stored names without path separators.
func checkFormValues(t *testing.T, form map[string]any) {
	t.Helper()
	var check func(key string, v any)
	check = func(key string, v any) {
		switch x := v.(type) {
		case nil, string, bool, json.Number:
		case []string:
		case *filesystem.File:
			if x.Name == "" || strings.ContainsAny(x.Name, `/\`) || strings.HasPrefix(x.Name, ".") || x.Size < 0 {
				t.Fatalf("%s: upload %q stored as %q (%d bytes)", key, x.OriginalName, x.Name, x.Size)
			}
		case []any:
			for _, e := range x {
				check(key, e)
			}
		case map[string]any:
			for k, e := range x {
				check(key+"."+k, e)
			}
		default:
			t.Fatalf("%s: value %#v of type %T", key, v, v)
		}
	}
	for k, v := range form {
		check(k, v)
	}
}

// checkFuzzErrorBody wants PocketBase's error body: status, message and an
// object data.
func checkFuzzErrorBody(t *testing.T, rec *httptest.ResponseRecorder) {
	t.Helper()
	var body struct {
		Status  int            `json:"status"`
		Message string         `json:"message"`
		Data    map[string]any `json:"data"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil || body.Status != rec.Code || body.Message == "" || body.Data == nil {
		t.Fatalf("status %d with body %s", rec.Code, rec.Body)
	}
}

// fuzzMultipartSeeds are multipart bodies, valid and hostile, with the
// boundary fuzzBoundary.
func fuzzMultipartSeeds() []string {
	part := func(name, filename, contentType, content string) string {
		var b bytes.Buffer
		w := multipart.NewWriter(&b)
		_ = w.SetBoundary(fuzzBoundary)
		h := make(map[string][]string)
		disp := `form-data; name="` + name + `"`
		if filename != "" {
			disp += `; filename="` + filename + `"`
		}
		h["Content-Disposition"] = []string{disp}
		if contentType != "" {
			h["Content-Type"] = []string{contentType}
		}
		pw, _ := w.CreatePart(h)
		_, _ = pw.Write([]byte(content))
		_ = w.Close()
		return b.String()
	}
	body := func(parts ...string) string {
		// Each part string is a whole body; keep its part and one closing.
		var b strings.Builder
		for _, p := range parts {
			b.WriteString(strings.TrimSuffix(p, "--"+fuzzBoundary+"--\r\n"))
		}
		b.WriteString("--" + fuzzBoundary + "--\r\n")
		return b.String()
	}
	png := "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"
	return []string{
		body(part("title", "", "", "hello"), part("views", "", "", "12")),
		body(part("title", "", "", "with files"), part("doc", "notes.txt", "text/plain", "some text"),
			part("pics", "a.png", "image/png", png), part("pics", "b.txt", "text/plain", "b")),
		body(part("@jsonPayload", "", "application/json", `{"title":"json","kinds":["a","b"],"meta":{"k":[1,2]},"place":{"lon":1,"lat":2}}`),
			part("doc", "../../etc/passwd", "", "root:x:0:0")),
		body(part("@jsonPayload", "", "", `{"title":`)),
		body(part("pics+", `C:\evil\..\x.png`, "image/png", png), part("pics-", "", "", "old.png"), part("kinds+", "", "", "c")),
		body(part("doc", ".htaccess", "", "deny"), part("doc", "two.txt", "", "second file for a single field")),
		body(part("title", "", "", strings.Repeat("x", 100)), part("due", "", "", "not a date"), part("meta", "", "", "{bad json")),
		body(part("doc", strings.Repeat("a", 300)+".txt", "", "long name"), part("", "", "", "nameless")),
		"--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nunterminated",
		"--" + fuzzBoundary + "\r\nContent-Disposition: form-data; name=\"a\"; filename*=UTF-8''%e2%82%ac.txt\r\n\r\neuro\r\n--" + fuzzBoundary + "--\r\n",
		"--" + fuzzBoundary + "\r\nContent-Disposition: form-data\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n=ZZ\r\n--" + fuzzBoundary + "--\r\n",
		"--" + fuzzBoundary + "\r\nContent-Type: text/plain\r\n\r\nno disposition\r\n--" + fuzzBoundary + "--\r\n",
		"",
		"--wrong\r\nContent-Disposition: form-data; name=\"title\"\r\n\r\nx\r\n--wrong--\r\n",
	}
}
