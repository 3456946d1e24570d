package plugins_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/plugins/audit"
	"github.com/hatchgrid/hatchgrid/plugins/backups"
	"github.com/hatchgrid/hatchgrid/plugins/webhooks"
)

// TestBadInputToPluginRoutes extends the apis package's bad-input suites
// to the routes of the first-party plugins: backups, the audit log and
// webhooks. Every request gets a 4xx in PocketBase's error shape, and
// none leaves a backup, a webhook or an audit entry behind.
func TestBadInputToPluginRoutes(t *testing.T) {
	t.Parallel()
	bp := &backups.Plugin{}
	app := coretest.NewApp(t, coretest.WithAppOptions(core.WithPlugins(&webhooks.Plugin{}, bp, &audit.Plugin{})))
	ctx := context.Background()
	_, superuser := coretest.Superuser(t, app)
	router := apis.NewRouter(app)

	type req struct {
		method, path, contentType, token string
		body                             []byte
	}
	var reqs []req
	add := func(method, path, body, token string) {
		reqs = append(reqs, req{method: method, path: path, contentType: "application/json", token: token, body: []byte(body)})
	}
	bodies := []string{`{`, `[]`, `"x"`, `null`, `{"x":` + strings.Repeat("[", 5000) + strings.Repeat("]", 5000) + `}`, "\xff\xfe", `{"a":"\ud800"}`}
	long := strings.Repeat("a", 5000)
	keys := []string{"..%2F..%2Fetc%2Fpasswd", "..%5C..%5Cdata.db", "%00.zip", "nope.zip", ".hidden.zip", "a%20b.zip",
		long + ".zip", "data.db", "%E2%80%AE.zip", "'%20OR%201=1.zip"}

	// Backups.
	for _, b := range append([]string{`{`, `[]`, `"x"`, "\xff\xfe", `{"name":null,`}, `{"name":"../../x.zip"}`, `{"name":"a.zip\u0000"}`, `{"name":123}`, `{"name":"`+long+`.zip"}`,
		`{"name":"UPPER.zip"}`, `{"name":"x.tar"}`, `{"name":"/tmp/x.zip"}`, `{"name":["a.zip"]}`) {
		add("POST", "/api/backups", b, superuser)
	}
	add("GET", "/api/backups", "", "")
	add("POST", "/api/backups", `{}`, "")
	add("POST", "/api/backups", `{}`, "Bearer nope")
	for _, k := range keys {
		add("GET", "/api/backups/"+k, "", "")
		add("GET", "/api/backups/"+k+"?token=x.y.z", "", "")
		add("GET", "/api/backups/"+k+"?token="+superuser, "", "") // an auth token is not a file token
		add("DELETE", "/api/backups/"+k, "", superuser)
		add("POST", "/api/backups/"+k+"/restore", "", superuser)
		add("DELETE", "/api/backups/"+k, "", "")
	}
	for _, up := range hostileUploads(t) {
		reqs = append(reqs, req{method: "POST", path: "/api/backups/upload", contentType: up.contentType, token: superuser, body: up.body})
	}

	// The audit log.
	for _, q := range []string{"page=abc", "perPage=abc", "perPage=1.5", "skipTotal=maybe", "page=99999999999999999999", "page=%00",
		"actor=%00", "resource=%FF%FE", "kind=a%00b"} {
		add("GET", "/api/hg/audit?"+q, "", superuser)
	}
	add("GET", "/api/hg/audit", "", "")
	add("GET", "/api/hg/audit", "", "Bearer nope")
	for _, k := range keys {
		add("GET", "/api/hg/audit/"+k, "", superuser)
	}

	// Webhooks.
	for _, b := range append(bodies, `{"collection":"nope","events":["create"],"url":"https://example.com"}`,
		`{"collection":"_superusers","events":["explode"],"url":"https://example.com"}`,
		`{"collection":"_superusers","events":["create"],"url":"javascript:alert(1)"}`,
		`{"collection":"_superusers","events":["create"],"url":"http://"}`,
		`{"collection":"_superusers","events":"create","url":"https://example.com"}`,
		`{"collection":["x"],"events":[],"url":1}`,
		`{"collection":"_superusers","events":["create"],"url":"https://example.com/`+long+`","secret":`+strings.Repeat("[", 100)+`}`) {
		add("POST", "/api/hg/webhooks", b, superuser)
	}
	add("POST", "/api/hg/webhooks", `{"collection":"_superusers","events":["create"],"url":"https://example.com"}`, "")
	for _, k := range keys {
		add("GET", "/api/hg/webhooks/"+k, "", superuser)
		add("PATCH", "/api/hg/webhooks/"+k, `{"enabled":false}`, superuser)
		add("DELETE", "/api/hg/webhooks/"+k, "", superuser)
		add("GET", "/api/hg/webhooks/"+k+"/deliveries?page=-1", "", superuser)
		add("POST", "/api/hg/webhooks/deliveries/"+k+"/redeliver", "", superuser)
	}

	// Filters are values, never SQL: hostile ones match nothing, though
	// the log holds an entry.
	mk := httptest.NewRequest("POST", "/api/collections", strings.NewReader(`{"name":"posts","fields":[{"name":"title","type":"text"}]}`))
	mk.Header.Set("Content-Type", "application/json")
	mk.Header.Set("Authorization", superuser)
	if rec := httptest.NewRecorder(); func() int { router.ServeHTTP(rec, mk); return rec.Code }() != 200 {
		t.Fatal("create collection: ", rec.Body.String())
	}
	if got := status(t, router, "GET", "/api/hg/audit?kind=collection", superuser); strings.Contains(got, `"items":[]`) {
		t.Fatalf("the collection change is not in the audit log: %s", got)
	}
	for _, q := range []string{"kind=%27%20OR%201=1--", "actor=%27%20OR%20%27%27=%27", "resource=" + long,
		"action=%E2%80%AE", "kind=collection%22%20OR%201=1"} {
		if got := status(t, router, "GET", "/api/hg/audit?"+q, superuser); !strings.Contains(got, `"items":[]`) {
			t.Errorf("audit filter %s matched: %s", shorten(q), shorten(got))
		}
	}

	auditBefore := auditTotal(t, router, superuser)
	fails := 0
	for _, r := range reqs {
		hr := httptest.NewRequest(r.method, r.path, bytes.NewReader(r.body))
		hr.Header.Set("Content-Type", r.contentType)
		if r.token != "" {
			hr.Header.Set("Authorization", r.token)
		}
		rec := httptest.NewRecorder()
		router.ServeHTTP(rec, hr)
		name := r.method + " " + shorten(r.path) + " " + shorten(string(r.body))
		if rec.Code < 400 || rec.Code >= 500 {
			fails++
			t.Errorf("%s: status %d, want 4xx: %s", name, rec.Code, shorten(rec.Body.String()))
			continue
		}
		var shape struct {
			Status  *int            `json:"status"`
			Message *string         `json:"message"`
			Data    json.RawMessage `json:"data"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &shape); err != nil || shape.Status == nil || *shape.Status != rec.Code ||
			shape.Message == nil || *shape.Message == "" || !strings.HasPrefix(string(shape.Data), "{") {
			t.Errorf("%s: not PocketBase's error shape: %d %s", name, rec.Code, shorten(rec.Body.String()))
		}
	}

	if b, err := bp.List(ctx); err == nil && len(b) != 0 { // on PostgreSQL List is the pg_dump error
		t.Errorf("backups left behind: %v", b)
	}
	if got := status(t, router, "GET", "/api/hg/webhooks", superuser); !strings.Contains(got, `"items":[]`) && got != "[]" {
		t.Errorf("webhooks left behind: %s", got)
	}
	if after := auditTotal(t, router, superuser); after != auditBefore {
		t.Errorf("audit entries %d before the bad requests, %d after", auditBefore, after)
	}
	t.Logf("%d bad requests to the plugins' routes, %d answered other than 4xx", len(reqs), fails)
}

type upload struct {
	contentType string
	body        []byte
}

// hostileUploads are multipart bodies the backups upload must refuse: no
// file, not a zip, a zip without data.db, a zip whose entry escapes the
// folder, a data.db that is not SQLite, a file under the wrong field.
func hostileUploads(t *testing.T) []upload {
	t.Helper()
	zipOf := func(files map[string]string) []byte {
		var buf bytes.Buffer
		zw := zip.NewWriter(&buf)
		for name, content := range files {
			w, err := zw.Create(name)
			if err != nil {
				t.Fatal(err)
			}
			w.Write([]byte(content))
		}
		zw.Close()
		return buf.Bytes()
	}
	form := func(field, filename string, content []byte) upload {
		var buf bytes.Buffer
		mw := multipart.NewWriter(&buf)
		w, err := mw.CreateFormFile(field, filename)
		if err != nil {
			t.Fatal(err)
		}
		w.Write(content)
		mw.Close()
		return upload{contentType: mw.FormDataContentType(), body: buf.Bytes()}
	}
	return []upload{
		{contentType: "multipart/form-data; boundary=x", body: []byte("--x\r\nbroken")},
		{contentType: "multipart/form-data", body: []byte("no boundary")},
		{contentType: "application/json", body: []byte(`{"file":"x"}`)},
		form("file", "x.zip", []byte("not a zip")),
		form("file", "x.zip", zipOf(map[string]string{"readme.txt": "hi"})),
		form("file", "x.zip", zipOf(map[string]string{"data.db": "not sqlite"})),
		form("file", "x.zip", zipOf(map[string]string{"../../evil.db": "x", "data.db": "SQLite format 3\x00"})),
		form("file", "../../x.zip", []byte("PK")),
		form("other", "x.zip", zipOf(map[string]string{"data.db": "x"})),
	}
}

func auditTotal(t *testing.T, h http.Handler, token string) int {
	t.Helper()
	var page struct {
		TotalItems int `json:"totalItems"`
	}
	if err := json.Unmarshal([]byte(status(t, h, "GET", "/api/hg/audit", token)), &page); err != nil {
		t.Fatal(err)
	}
	return page.TotalItems
}

func status(t *testing.T, h http.Handler, method, path, token string) string {
	t.Helper()
	r := httptest.NewRequest(method, path, nil)
	r.Header.Set("Authorization", token)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	if rec.Code != 200 {
		t.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
	}
	return rec.Body.String()
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}
