package apis

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// limitedApp returns the router of an App on redisURL whose only rate
// limit lets maxRequests list requests of "posts" per minute through.
func limitedApp(t *testing.T, redisURL string, maxRequests int, opts ...coretest.Option) (*core.App, http.Handler) {
	t.Helper()
	app := coretest.NewApp(t, append(opts, coretest.WithConfig(func(c *core.Config) { c.Redis.URL = redisURL }))...)
	ctx := context.Background()
	coretest.CreateCollection(t, app, `{"name":"posts","listRule":"","fields":[{"name":"title","type":"text"}]}`)
	s := app.Settings()
	s.RateLimits = core.RateLimitsSettings{Enabled: true, Rules: []core.RateLimitRule{
		{Label: "GET /api/collections/posts/records", MaxRequests: maxRequests, Duration: 60},
	}}
	if err := app.SaveSettings(ctx, s); err != nil {
		t.Fatal(err)
	}
	return app, NewRouter(app)
}

func listPosts(h http.Handler, ip string) *httptest.ResponseRecorder {
	req := httptest.NewRequest("GET", "/api/collections/posts/records", nil)
	req.RemoteAddr = ip + ":1234"
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

// TestRateLimitSharedAcrossInstances runs three Apps on one Redis (each on
// its own database), as three instances behind a load balancer: with a
// rule of 5 requests a minute, 10 requests sent round-robin to the three
// routers let exactly 5 through, and the other 5 get PocketBase's 429.
func TestRateLimitSharedAcrossInstances(t *testing.T) {
	t.Parallel()
	redisURL := coretest.NewRedisDB(t)
	var routers []http.Handler
	for range 3 {
		_, h := limitedApp(t, redisURL, 5)
		routers = append(routers, h)
	}
	var passed, limited int
	for i := range 10 {
		rec := listPosts(routers[i%3], "192.0.2.1")
		switch rec.Code {
		case http.StatusOK:
			passed++
			if limited > 0 {
				t.Fatalf("request %d passed after a refusal", i+1)
			}
		case http.StatusTooManyRequests:
			limited++
			retry := rec.Header().Get("Retry-After")
			if retry != "60" && retry != "59" {
				t.Fatalf("Retry-After = %q, want the minute's rest", retry)
			}
			assertTooManyRequests(t, rec, "Too Many Requests.", retry)
		default:
			t.Fatalf("request %d: %d %s", i+1, rec.Code, rec.Body.String())
		}
	}
	if passed != 5 || limited != 5 {
		t.Fatalf("%d passed and %d were limited, want 5 and 5", passed, limited)
	}
	// Counters are per client IP, across the cluster too.
	if rec := listPosts(routers[2], "192.0.2.2"); rec.Code != http.StatusOK {
		t.Fatalf("another IP: %d", rec.Code)
	}
}

// lockedBuffer is a bytes.Buffer safe for the logger's concurrent writes.
type lockedBuffer = coretest.LogBuffer

// TestRateLimitRedisOutage stops the App's Redis: requests are still
// answered, promptly, and limited by this instance's memory (3 pass, then
// 429), and the switch is logged once as an error.
func TestRateLimitRedisOutage(t *testing.T) {
	t.Parallel()
	srv := coretest.NewRedisServer(t)
	var logs lockedBuffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
	_, h := limitedApp(t, srv.URL(), 3, coretest.WithAppOptions(core.WithLogger(logger)))
	if rec := listPosts(h, "192.0.2.1"); rec.Code != http.StatusOK {
		t.Fatalf("with Redis up: %d", rec.Code)
	}
	srv.Stop()
	start := time.Now()
	var codes []int
	for range 5 {
		codes = append(codes, listPosts(h, "192.0.2.1").Code)
	}
	if took := time.Since(start); took > 3*time.Second {
		t.Fatalf("5 requests took %v with Redis down", took)
	}
	// The count held in Redis is lost with it; memory counts afresh.
	assertStatuses(t, "with Redis down", codes, 200, 200, 200, 429, 429)
	if n := strings.Count(logs.String(), "rate limits fall back to this instance's memory"); n != 1 {
		t.Fatalf("the fallback was logged %d times:\n%s", n, logs.String())
	}
}
