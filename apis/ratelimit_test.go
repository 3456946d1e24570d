package apis

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/labstack/echo/v4"
)

func rule(label, audience string, maxRequests int, seconds int64) core.RateLimitRule {
	return core.RateLimitRule{Label: label, Audience: audience, MaxRequests: maxRequests, Duration: seconds}
}

func TestMatchPathRule(t *testing.T) {
	t.Parallel()
	rules := []core.RateLimitRule{
		rule("/api/", "", 1, 1),
		rule("*:create", "", 1, 1),
		rule("users:create", "", 1, 1),
		rule("/api/collections/", "", 1, 1),
		rule("POST /api/collections/", "", 1, 1),
		rule("/api/batch", "", 1, 1),
		rule("GET /api/health", "", 1, 1),
		rule("/api/health", "@auth", 1, 1),
		rule("/api/files/", "@guest", 1, 1),
		rule("/api/files/x/", "@auth", 1, 1),
		rule("/api/logs/", "", 1, 1),
		rule("/api/logs", "", 1, 1),
	}
	tests := []struct{ method, path, audience, want string }{
		{"GET", "/api/health", audienceGuest, "GET /api/health"},
		{"GET", "/api/health", audienceAuth, "GET /api/health"},
		{"POST", "/api/health", audienceGuest, "/api/"},
		{"POST", "/api/health", audienceAuth, "/api/health"},
		{"GET", "/api/collections/posts/records", audienceGuest, "/api/collections/"},
		{"POST", "/api/collections/posts/records", audienceGuest, "POST /api/collections/"},
		{"GET", "/api/collections", audienceGuest, "/api/collections/"},
		{"POST", "/api/batch", audienceGuest, "/api/batch"},
		{"POST", "/api/batch/x", audienceGuest, "/api/"},
		{"GET", "/api/batchx", audienceGuest, "/api/"},
		{"GET", "/api/files/x/y/z", audienceGuest, "/api/files/"},
		{"GET", "/api/files/x/y/z", audienceAuth, "/api/files/x/"},
		{"GET", "/api/files/y/z", audienceAuth, "/api/"},
		{"GET", "/api", audienceGuest, "/api/"},
		{"GET", "/api/logs", audienceGuest, "/api/logs"},
		{"GET", "/api/logs/stats", audienceGuest, "/api/logs/"},
		{"GET", "/_/", audienceGuest, ""},
		{"GET", "/apix", audienceGuest, ""},
	}
	for _, tt := range tests {
		got, ok := matchPathRule(rules, tt.audience, tt.method, tt.path)
		if got.Label != tt.want || ok != (tt.want != "") {
			t.Errorf("%s %s as %s: %q (%v), want %q", tt.method, tt.path, tt.audience, got.Label, ok, tt.want)
		}
	}
	if _, ok := matchPathRule(nil, audienceGuest, "GET", "/api/"); ok {
		t.Error("no rules matched")
	}
}

func TestMatchTagRule(t *testing.T) {
	t.Parallel()
	rules := []core.RateLimitRule{
		rule("/api/", "", 1, 1),
		rule("*:auth", "", 1, 1),
		rule("users:auth", "", 1, 1),
		rule("*:authWithPassword", "", 1, 1),
		rule("*:create", "", 1, 1),
		rule("posts:create", "@auth", 1, 1),
		rule("posts:list", "@guest", 1, 1),
	}
	signIn := []string{"authWithPassword", "auth"}
	tests := []struct {
		collection string
		tags       []string
		audience   string
		want       string
	}{
		{"users", signIn, audienceGuest, "users:auth"},
		{"Users", signIn, audienceGuest, "users:auth"},
		{"_superusers", signIn, audienceGuest, "*:authWithPassword"},
		{"_superusers", []string{"authWithOAuth2", "auth"}, audienceGuest, "*:auth"},
		{"posts", []string{"create"}, audienceGuest, "*:create"},
		{"posts", []string{"create"}, audienceAuth, "posts:create"},
		{"posts", []string{"list"}, audienceGuest, "posts:list"},
		{"posts", []string{"list"}, audienceAuth, ""},
		{"posts", []string{"view"}, audienceGuest, ""},
	}
	for _, tt := range tests {
		got, ok := matchTagRule(rules, tt.audience, tt.collection, tt.tags)
		if got.Label != tt.want || ok != (tt.want != "") {
			t.Errorf("%s %v as %s: %q (%v), want %q", tt.collection, tt.tags, tt.audience, got.Label, ok, tt.want)
		}
	}
}

// rlEnv is an App on a clock the test moves, and a router.
type rlEnv struct {
	app     *core.App
	handler http.Handler
	now     *atomic.Int64
}

func newRLEnv(t *testing.T) *rlEnv {
	t.Helper()
	now := &atomic.Int64{}
	now.Store(time.Date(2026, 5, 6, 7, 8, 9, 0, time.UTC).UnixNano())
	app := coretest.NewApp(t, coretest.WithAppOptions(core.WithClock(func() time.Time { return time.Unix(0, now.Load()) })))
	return &rlEnv{app: app, handler: NewRouter(app), now: now}
}

func (e *rlEnv) advance(d time.Duration) { e.now.Add(int64(d)) }

// limit saves settings.rateLimits, enabled, with rules.
func (e *rlEnv) limit(t *testing.T, enabled bool, rules ...core.RateLimitRule) {
	t.Helper()
	s := e.app.Settings()
	s.RateLimits = core.RateLimitsSettings{Enabled: enabled, Rules: rules}
	if err := e.app.SaveSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
}

// do sends a request from ip (port 1234) with an optional Authorization.
func (e *rlEnv) do(method, path, ip, token, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.RemoteAddr = ip + ":1234"
	if body != "" {
		req.Header.Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	}
	if token != "" {
		req.Header.Set(echo.HeaderAuthorization, token)
	}
	rec := httptest.NewRecorder()
	e.handler.ServeHTTP(rec, req)
	return rec
}

// statuses sends n requests and returns their statuses.
func (e *rlEnv) statuses(n int, method, path, ip, token, body string) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = e.do(method, path, ip, token, body).Code
	}
	return out
}

func assertStatuses(t *testing.T, what string, got []int, want ...int) {
	t.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("%s: statuses %v, want %v", what, got, want)
	}
}

// assertTooManyRequests checks PocketBase's 429 body and the Retry-After.
func assertTooManyRequests(t *testing.T, rec *httptest.ResponseRecorder, message, retryAfter string) {
	t.Helper()
	if rec.Code != http.StatusTooManyRequests {
		t.Fatalf("status = %d, want 429; body %s", rec.Code, rec.Body.String())
	}
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("body %s: %v", rec.Body.String(), err)
	}
	want := map[string]any{"status": float64(429), "message": message, "data": map[string]any{}}
	if fmt.Sprint(body) != fmt.Sprint(want) {
		t.Errorf("body = %s, want %v", rec.Body.String(), want)
	}
	if got := rec.Header().Get("Retry-After"); got != retryAfter {
		t.Errorf("Retry-After = %q, want %q", got, retryAfter)
	}
}

func TestRateLimitOffByDefault(t *testing.T) {
	t.Parallel()
	e := newRLEnv(t)
	if rl := e.app.Settings().RateLimits; rl.Enabled || len(rl.Rules) == 0 {
		t.Fatalf("default rateLimits = %+v, want PocketBase's rules, disabled", rl)
	}
	// The default rules allow 2 sign-ins per 3 seconds and 300 requests
	// per 10 seconds, were they on.
	for i := range 5 {
		if rec := e.do("POST", "/api/collections/_superusers/auth-with-password", "192.0.2.1", "", `{"identity":"a@example.com","password":"x"}`); rec.Code == http.StatusTooManyRequests {
			t.Fatalf("sign-in %d limited", i+1)
		}
	}
	for i := range 310 {
		if rec := e.do("GET", "/api/health", "192.0.2.1", "", ""); rec.Code != http.StatusOK {
			t.Fatalf("request %d: %d", i+1, rec.Code)
		}
	}
}

func TestRateLimitResponse(t *testing.T) {
	t.Parallel()
	e := newRLEnv(t)
	e.limit(t, true, rule("/api/health", "", 2, 10))

	assertStatuses(t, "within the limit", e.statuses(2, "GET", "/api/health", "192.0.2.1", "", ""), 200, 200)
	assertTooManyRequests(t, e.do("GET", "/api/health", "192.0.2.1", "", ""), "Too Many Requests.", "10")
	e.advance(3500 * time.Millisecond)
	assertTooManyRequests(t, e.do("GET", "/api/health", "192.0.2.1", "", ""), "Too Many Requests.", "7")
	if rec := e.do("HEAD", "/api/health", "192.0.2.1", "", ""); rec.Code != http.StatusTooManyRequests || rec.Body.Len() != 0 || rec.Header().Get("Retry-After") != "7" {
		t.Fatalf("HEAD: %d %q Retry-After %q", rec.Code, rec.Body.String(), rec.Header().Get("Retry-After"))
	}
	// Counted per client IP; other paths have no rule.
	assertStatuses(t, "another IP", e.statuses(2, "GET", "/api/health", "2001:db8::1", "", ""), 200, 200)
	assertStatuses(t, "another path", e.statuses(3, "GET", "/api/collections", "192.0.2.1", "", ""), 401, 401, 401)

	e.advance(6500 * time.Millisecond)
	assertStatuses(t, "a new window", e.statuses(3, "GET", "/api/health", "192.0.2.1", "", ""), 200, 200, 429)
}

func TestRateLimitSettingsApplyAtOnce(t *testing.T) {
	t.Parallel()
	e := newRLEnv(t)
	e.limit(t, true, rule("/api/", "", 1, 60))
	assertStatuses(t, "enabled", e.statuses(2, "GET", "/api/health", "192.0.2.1", "", ""), 200, 429)

	e.limit(t, false, rule("/api/", "", 1, 60))
	assertStatuses(t, "disabled", e.statuses(3, "GET", "/api/health", "192.0.2.1", "", ""), 200, 200, 200)

	// A changed rule counts afresh.
	e.limit(t, true, rule("/api/", "", 3, 60))
	assertStatuses(t, "raised", e.statuses(4, "GET", "/api/health", "192.0.2.1", "", ""), 200, 200, 200, 429)

	// A more specific rule takes over its path.
	e.limit(t, true, rule("/api/", "", 3, 60), rule("GET /api/health", "", 5, 60))
	assertStatuses(t, "specific", e.statuses(6, "GET", "/api/health", "192.0.2.1", "", ""), 200, 200, 200, 200, 200, 429)
	assertStatuses(t, "general", e.statuses(1, "POST", "/api/health", "192.0.2.1", "", ""), 429)
}

func TestRateLimitExemptsSuperusers(t *testing.T) {
	t.Parallel()
	e := newRLEnv(t)
	ctx := context.Background()
	su, err := e.app.Superusers().Upsert(ctx, "admin@example.com", "Secret12345")
	if err != nil {
		t.Fatal(err)
	}
	token, err := e.app.Auth().NewAuthToken(su)
	if err != nil {
		t.Fatal(err)
	}
	e.limit(t, true, rule("/api/", "", 1, 60), rule("*:auth", "", 1, 60))

	assertStatuses(t, "superuser", e.statuses(5, "GET", "/api/settings", "192.0.2.1", token, ""), 200, 200, 200, 200, 200)
	// An invalid token is a guest's request, and limited.
	assertStatuses(t, "invalid token", e.statuses(2, "GET", "/api/health", "192.0.2.1", "garbage", ""), 200, 429)
	// Signing in is a guest's request too.
	body := `{"identity":"admin@example.com","password":"Secret12345"}`
	assertStatuses(t, "sign-in", e.statuses(2, "POST", "/api/collections/_superusers/auth-with-password", "198.51.100.1", "", body), 200, 429)
}

func TestRateLimitCollectionTags(t *testing.T) {
	t.Parallel()
	e := newRLEnv(t)
	for _, name := range []string{"posts", "notes"} {
		coretest.CreateCollection(t, e.app, `{"name":"`+name+`","listRule":"","createRule":"","fields":[{"name":"title","type":"text"}]}`)
	}
	e.limit(t, true,
		rule("/api/", "", 100, 60),
		rule("*:create", "", 1, 60),
		rule("notes:create", "", 2, 60),
		rule("*:auth", "", 1, 60),
		rule("POST /api/batch", "", 1, 60),
	)
	const post = `{"title":"x"}`
	assertStatuses(t, "*:create", e.statuses(2, "POST", "/api/collections/posts/records", "192.0.2.1", "", post), 200, 429)
	// Counted per collection, by id or name alike.
	postsID := coretest.FindCollection(t, e.app, "posts").ID
	assertStatuses(t, "by id", e.statuses(1, "POST", "/api/collections/"+postsID+"/records", "192.0.2.1", "", post), 429)
	assertStatuses(t, "notes:create", e.statuses(3, "POST", "/api/collections/notes/records", "192.0.2.1", "", post), 200, 200, 429)
	assertStatuses(t, "list is not create", e.statuses(3, "GET", "/api/collections/posts/records", "192.0.2.1", "", ""), 200, 200, 200)
	rec := e.do("POST", "/api/collections/posts/records", "192.0.2.1", "", post)
	assertTooManyRequests(t, rec, "Too Many Requests.", "60")

	signIn := `{"identity":"nobody@example.com","password":"wrong-password"}`
	assertStatuses(t, "*:auth", e.statuses(2, "POST", "/api/collections/_superusers/auth-with-password", "192.0.2.1", "", signIn), 400, 429)
	// The path rules count too: 100 requests of /api/ per minute.
	assertStatuses(t, "/api/", e.statuses(1, "GET", "/api/health", "192.0.2.1", "", ""), 200)
	for range 90 {
		e.do("GET", "/api/health", "192.0.2.1", "", "")
	}
	assertStatuses(t, "/api/ exhausted", e.statuses(1, "GET", "/api/health", "192.0.2.1", "", ""), 429)
	assertStatuses(t, "unknown collection", e.statuses(1, "POST", "/api/collections/nope/records", "198.51.100.9", "", post), 404)
}

// TestRateLimitAudience runs the middleware behind a stand-in for loadAuth
// that takes the caller from X-Actor.
func TestRateLimitAudience(t *testing.T) {
	t.Parallel()
	e := newRLEnv(t)
	router := echo.New()
	router.HTTPErrorHandler = errorHandler(e.app)
	router.IPExtractor = echo.ExtractIPDirect()
	router.Use(func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			var a core.Actor
			switch c.Request().Header.Get("X-Actor") {
			case "user":
				a = core.Actor{CollectionID: "c1", CollectionName: "users", ID: "u1"}
			case "superuser":
				a = core.Actor{CollectionID: "c0", CollectionName: core.SuperusersCollectionName, ID: "s1"}
			}
			c.SetRequest(c.Request().WithContext(core.WithActor(c.Request().Context(), a)))
			return next(c)
		}
	}, rateLimit(e.app))
	ok := func(c echo.Context) error { return c.NoContent(http.StatusNoContent) }
	for _, p := range []string{"/api/x", "/api/y", "/api/z"} {
		router.GET(p, ok)
	}
	router.GET("/api/guarded", func(c echo.Context) error {
		bf := e.app.BruteForce()
		if err := bf.Check("victim@example.com", c.RealIP()); err != nil {
			return err
		}
		bf.Fail("victim@example.com", c.RealIP())
		return core.Errorf(core.CodeInvalid, "Failed to authenticate.")
	})
	e.handler = router
	run := func(n int, path, actor string) []int {
		out := make([]int, n)
		for i := range out {
			req := httptest.NewRequest("GET", path, nil)
			req.RemoteAddr = "192.0.2.1:1234"
			req.Header.Set("X-Actor", actor)
			rec := httptest.NewRecorder()
			router.ServeHTTP(rec, req)
			out[i] = rec.Code
		}
		return out
	}

	e.limit(t, true,
		rule("/api/x", "@guest", 1, 60),
		rule("/api/x", "@auth", 2, 60),
		rule("/api/y", "@auth", 1, 60),
		rule("/api/z", "", 1, 60),
	)
	assertStatuses(t, "x as guest", run(2, "/api/x", ""), 204, 429)
	assertStatuses(t, "x as user", run(3, "/api/x", "user"), 204, 204, 429)
	assertStatuses(t, "y as guest", run(3, "/api/y", ""), 204, 204, 204)
	assertStatuses(t, "y as user", run(2, "/api/y", "user"), 204, 429)
	// Without an audience, guests and users of one IP share the count.
	assertStatuses(t, "z as guest", run(1, "/api/z", ""), 204)
	assertStatuses(t, "z as user", run(1, "/api/z", "user"), 429)
	assertStatuses(t, "z as superuser", run(3, "/api/z", "superuser"), 204, 204, 204)

	// The brute-force guard's refusal gets a Retry-After as well, with
	// rate limits off or on.
	e.limit(t, false)
	assertStatuses(t, "failures", run(core.BruteForceMaxPerIdentity, "/api/guarded", ""), repeat(400, core.BruteForceMaxPerIdentity)...)
	req := httptest.NewRequest("GET", "/api/guarded", nil)
	req.RemoteAddr = "192.0.2.1:1234"
	rec := httptest.NewRecorder()
	router.ServeHTTP(rec, req)
	assertTooManyRequests(t, rec, "Too many failed attempts. Try again later.", "60")
}

func repeat(v, n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = v
	}
	return out
}
