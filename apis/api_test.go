package apis_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io/fs"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	adminui "github.com/hatchgrid/hatchgrid/admin-ui"
	"github.com/hatchgrid/hatchgrid/apis"
	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/labstack/echo/v4"
)

func TestHealth(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	e.run(t, []scenario{
		{
			name: "guest", path: "/api/health", wantStatus: 200,
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				if got := strings.TrimSpace(rec.Body.String()); got != `{"message":"API is healthy.","code":200,"data":{}}` {
					t.Fatalf("body = %s", got)
				}
			},
		},
		{name: "head", method: http.MethodHead, path: "/api/health", wantStatus: 200},
		{name: "invalid token is a guest", path: "/api/health", token: "garbage", wantStatus: 200, wantContent: []string{`"data":{}`}},
		{
			name: "superuser sees dependencies", path: "/api/health", token: "superuser", wantStatus: 200,
			wantContent: []string{`"database":{"status":"ok","kind":"` + e.app.Dialect().Name(), `"redis":{"status":"ok","kind":"embedded"`, `"realIP":"192.0.2.1"`, `"canBackup":false`},
		},
		{
			name: "security headers and request id", path: "/api/health", wantStatus: 200,
			wantHeaders: map[string]string{"X-Content-Type-Options": "nosniff", "X-Frame-Options": "SAMEORIGIN", "X-XSS-Protection": "1; mode=block"},
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				if rec.Header().Get(echo.HeaderXRequestID) == "" {
					t.Fatal("no X-Request-Id")
				}
			},
		},
	})
}

func TestHealthDownIs503(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	router := apis.NewRouter(app)
	sqlDB, _ := app.ReadDB(context.Background()).DB()
	sqlDB.Close()
	wsqlDB, _ := app.DB(context.Background()).DB()
	wsqlDB.Close()
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/health", nil))
	if rec.Code != http.StatusServiceUnavailable || !strings.Contains(rec.Body.String(), `"message":"API is unhealthy."`) {
		t.Fatalf("health with closed database = %d %s", rec.Code, rec.Body.String())
	}
}

func TestAuthWithPassword(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	const path = "/api/collections/_superusers/auth-with-password"
	form := url.Values{"identity": {"admin@example.com"}, "password": {"Secret12345"}}.Encode()

	var mp bytes.Buffer
	w := multipart.NewWriter(&mp)
	_ = w.WriteField("identity", "admin@example.com")
	_ = w.WriteField("password", "Secret12345")
	_ = w.Close()

	ok := []string{`"token":"`, `"collectionName":"_superusers"`, `"collectionId":"pbc_3142635823"`, `"email":"admin@example.com"`, `"verified":true`}
	secret := []string{`"password"`, `"tokenKey"`, "$2a$"}
	e.run(t, []scenario{
		{name: "json", method: "POST", path: path, body: `{"identity":"admin@example.com","password":"Secret12345"}`, wantStatus: 200, wantContent: ok, notContent: secret},
		{name: "by collection id", method: "POST", path: "/api/collections/pbc_3142635823/auth-with-password", body: `{"identity":"admin@example.com","password":"Secret12345"}`, wantStatus: 200},
		{name: "url-encoded", method: "POST", path: path, body: form, headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, wantStatus: 200, wantContent: ok},
		{name: "multipart", method: "POST", path: path, body: mp.String(), headers: map[string]string{"Content-Type": w.FormDataContentType()}, wantStatus: 200, wantContent: ok},
		{name: "unknown fields ignored", method: "POST", path: path, body: `{"identity":"admin@example.com","password":"Secret12345","x":[1,{"y":2}]}`, wantStatus: 200},
		{name: "wrong password", method: "POST", path: path, body: `{"identity":"admin@example.com","password":"nope"}`, wantStatus: 400, wantContent: []string{`"message":"Failed to authenticate."`, `"data":{}`}},
		{name: "unknown email", method: "POST", path: path, body: `{"identity":"who@example.com","password":"Secret12345"}`, wantStatus: 400, wantContent: []string{`"message":"Failed to authenticate."`}},
		{name: "missing fields", method: "POST", path: path, body: `{}`, wantStatus: 400, wantContent: []string{`"identity":{"code":"validation_required","message":"Cannot be blank."}`, `"password":{"code":"validation_required"`}},
		{name: "empty body", method: "POST", path: path, wantStatus: 400, wantContent: []string{`"identity":{"code":"validation_required"`}},
		{name: "malformed json", method: "POST", path: path, body: `{"identity":`, wantStatus: 400, wantContent: []string{`"data":{}`}},
		{name: "json array", method: "POST", path: path, body: `[{"identity":"admin@example.com"}]`, wantStatus: 400},
		{name: "json null", method: "POST", path: path, body: `null`, wantStatus: 400},
		{name: "text/plain", method: "POST", path: path, body: "identity=x", headers: map[string]string{"Content-Type": "text/plain"}, wantStatus: 400, wantContent: []string{"Unsupported Content-Type."}},
		{name: "identity as number", method: "POST", path: path, body: `{"identity":123,"password":"Secret12345"}`, wantStatus: 400, wantContent: []string{"Failed to authenticate."}},
		{name: "password as array", method: "POST", path: path, body: `{"identity":"admin@example.com","password":["Secret12345"]}`, wantStatus: 400},
		{name: "unknown collection", method: "POST", path: "/api/collections/users/auth-with-password", body: `{}`, wantStatus: 404, wantContent: []string{"Missing or invalid auth collection context."}},
		{name: "GET is not a route", path: path, wantStatus: 404},
	})
}

func TestAuthRefresh(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	static, err := e.app.Auth().NewStaticAuthToken(e.su, time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	const path = "/api/collections/_superusers/auth-refresh"
	e.run(t, []scenario{
		{name: "guest", method: "POST", path: path, wantStatus: 401, wantContent: []string{"The request requires valid record authorization token."}},
		{name: "invalid token", method: "POST", path: path, token: "Bearer nope", wantStatus: 401},
		{name: "superuser", method: "POST", path: path, token: "superuser", wantStatus: 200, wantContent: []string{`"token":"`, `"id":"` + e.su.ID() + `"`}},
		{name: "bearer prefix any case", method: "POST", path: path, token: "bEaReR " + e.token, wantStatus: 200},
		{name: "static token not refreshable", method: "POST", path: path, token: static, wantStatus: 403, wantContent: []string{"The current auth token is not refreshable."}},
	})

	// Changing the password revokes the token, the current one included.
	if _, err := e.app.Superusers().Upsert(context.Background(), "admin@example.com", "Changed12345"); err != nil {
		t.Fatal(err)
	}
	e.run(t, []scenario{{name: "after password change", method: "POST", path: path, token: "superuser", wantStatus: 401}})
}

func TestLogsRoutes(t *testing.T) {
	t.Parallel()
	// Health probes are left out of the logs unless asked for.
	e := newEnv(t, coretest.NewApp(t, coretest.WithConfig(func(c *core.Config) { c.Log.HealthRequests = true })))
	// Generate a few request logs through the router itself.
	e.do(scenario{path: "/api/health"})
	e.do(scenario{path: "/api/nope"})
	e.do(scenario{method: "POST", path: "/api/collections/_superusers/auth-with-password", body: `{"identity":"admin@example.com","password":"bad"}`})
	if err := e.app.Logs().Flush(context.Background()); err != nil {
		t.Fatal(err)
	}

	var listed struct {
		Items []struct {
			ID      string         `json:"id"`
			Level   int            `json:"level"`
			Message string         `json:"message"`
			Data    map[string]any `json:"data"`
		} `json:"items"`
		Page, PerPage, TotalItems, TotalPages int
	}
	e.run(t, []scenario{
		{name: "guest", path: "/api/logs", wantStatus: 401},
		{
			name: "superuser list", path: "/api/logs?perPage=10", token: "superuser", wantStatus: 200,
			check: func(t *testing.T, rec *httptest.ResponseRecorder) {
				if err := json.Unmarshal(rec.Body.Bytes(), &listed); err != nil {
					t.Fatal(err)
				}
				if listed.TotalItems != 3 || listed.PerPage != 10 || listed.Page != 1 || listed.TotalPages != 1 {
					t.Fatalf("list = %s", rec.Body.String())
				}
				byMessage := map[string]int{}
				for i, item := range listed.Items {
					byMessage[item.Message] = i
				}
				failed := listed.Items[byMessage["POST /api/collections/_superusers/auth-with-password"]]
				if failed.Level != 8 || failed.Data["status"] != float64(400) || failed.Data["error"] != "Failed to authenticate." {
					t.Fatalf("failed sign-in log = %+v", failed)
				}
				health := listed.Items[byMessage["GET /api/health"]]
				if health.Data["status"] != float64(200) || health.Level != 0 || health.Data["auth"] != "" {
					t.Fatalf("health log = %+v", health)
				}
				if len(byMessage) != 3 {
					t.Fatalf("messages = %v", byMessage)
				}
			},
		},
		{name: "bad perPage", path: "/api/logs?perPage=abc", token: "superuser", wantStatus: 400},
		{name: "filter", path: "/api/logs?filter=" + urlq("data.status = 400"), token: "superuser", wantStatus: 200, wantContent: []string{`"totalItems":1`}},
		{name: "bad filter", path: "/api/logs?filter=" + urlq("nope = 1"), token: "superuser", wantStatus: 400},
		{name: "stats", path: "/api/logs/stats", token: "superuser", wantStatus: 200, wantContent: []string{`"total":3`}},
		{name: "view missing", path: "/api/logs/nope", token: "superuser", wantStatus: 404, wantContent: []string{"The requested resource wasn't found."}},
	})
	e.run(t, []scenario{{name: "view", path: "/api/logs/" + listed.Items[0].ID, token: "superuser", wantStatus: 200, wantContent: []string{`"id":"` + listed.Items[0].ID}}})
}

func TestRouterErrors(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t,
		coretest.WithConfig(func(c *core.Config) { c.Server.BodyLimit = 1024 }),
		coretest.WithAppOptions(core.WithPlugins(panicPlugin{})),
	)
	e := newEnv(t, app)
	e.run(t, []scenario{
		{name: "unknown api route", path: "/api/unknown", wantStatus: 404, wantContent: []string{"The requested resource wasn't found."}},
		{name: "unknown root route", path: "/nothing", wantStatus: 404},
		{name: "wrong method is 404 like PocketBase", method: "DELETE", path: "/api/health", wantStatus: 404},
		{name: "panic is a 500 without its cause", path: "/api/test/panic", wantStatus: 500,
			wantContent: []string{"Something went wrong while processing your request."}, notContent: []string{"kaboom"}},
		{name: "body over the limit", method: "POST", path: "/api/collections/_superusers/auth-with-password",
			body: `{"identity":"` + strings.Repeat("a", 2000) + `"}`, wantStatus: 413, wantContent: []string{"Request entity too large."}},
		{name: "cors preflight", method: "OPTIONS", path: "/api/health",
			headers: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}, wantStatus: 204,
			wantHeaders: map[string]string{"Access-Control-Allow-Origin": "*"}},
	})
}

func TestDashboard(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	e.run(t, []scenario{
		{name: "redirect", path: "/_", wantStatus: 301, wantHeaders: map[string]string{"Location": "/_/"}},
		{name: "index", path: "/_/", wantStatus: 200, wantContent: []string{"<title>Hatchgrid", `<link rel="icon" type="image/svg+xml" href="/_/favicon.svg"`}},
		{name: "favicon", path: "/_/favicon.svg", wantStatus: 200, wantContent: []string{"<svg"}, wantHeaders: map[string]string{"Content-Type": "image/svg+xml"}},
		{name: "spa fallback", path: "/_/collections/posts", wantStatus: 200, wantContent: []string{"<title>Hatchgrid"}},
		{name: "missing asset", path: "/_/assets/nope.js", wantStatus: 404},
		{name: "traversal stays inside", path: "/_/../../etc/passwd", wantStatus: 200, notContent: []string{"root:"}},
	})

	scripts, err := fs.Glob(adminui.FS(), "assets/*.js")
	if err != nil || len(scripts) == 0 {
		t.Fatalf("no built dashboard script in admin-ui/dist: %v", err)
	}
	e.run(t, []scenario{
		{name: "hashed assets are cached for a year and gzipped", path: "/_/" + scripts[0], wantStatus: 200,
			headers:     map[string]string{"Accept-Encoding": "gzip"},
			wantHeaders: map[string]string{"Cache-Control": "public, max-age=31536000, immutable", "Content-Encoding": "gzip"}},
		{name: "index is revalidated", path: "/_/", wantStatus: 200, wantHeaders: map[string]string{"Cache-Control": "no-cache"}},
	})
}

// panicPlugin adds a route that panics.
type panicPlugin struct{}

func (panicPlugin) Name() string                 { return "panic" }
func (panicPlugin) Register(app *core.App) error { return nil }
func (panicPlugin) Routes(g *echo.Group) {
	g.GET("/test/panic", func(c echo.Context) error { panic("kaboom") })
}

var (
	_ core.Plugin        = panicPlugin{}
	_ apis.RouteProvider = panicPlugin{}
)

func TestUnavailableDependencyIs503(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t, coretest.WithAppOptions(core.WithPlugins(downPlugin{})))
	e := newEnv(t, app)
	e.run(t, []scenario{
		{name: "database restarting", path: "/api/test/down", wantStatus: 503,
			wantContent: []string{"The service is temporarily unavailable."}, notContent: []string{"57P01", "terminating"}},
	})
}

// downPlugin answers with the error a PostgreSQL restart gives.
type downPlugin struct{}

func (downPlugin) Name() string                 { return "down" }
func (downPlugin) Register(app *core.App) error { return nil }
func (downPlugin) Routes(g *echo.Group) {
	g.GET("/test/down", func(c echo.Context) error {
		return fmt.Errorf("list records: %w", &pgconn.PgError{Code: "57P01", Message: "terminating connection due to administrator command"})
	})
}
