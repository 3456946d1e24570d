package apis_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// lockedBuffer is a process log that many request goroutines write.
type lockedBuffer = coretest.LogBuffer

// requestLogs sends requests through the router of an app configured by
// cfg, and returns the stored request logs by "METHOD URL" (their level)
// and the process log.
func requestLogs(t *testing.T, cfg func(*core.Config), requests ...scenario) (map[string]int, string) {
	t.Helper()
	var out lockedBuffer
	logger := slog.New(slog.NewJSONHandler(&out, nil))
	e := newEnv(t, coretest.NewApp(t, coretest.WithConfig(cfg), coretest.WithAppOptions(core.WithLogger(logger))))
	for _, r := range requests {
		e.do(r)
	}
	ctx := context.Background()
	if err := e.app.Logs().Flush(ctx); err != nil {
		t.Fatal(err)
	}
	rec := e.do(scenario{path: "/api/logs?perPage=100", token: "superuser"})
	var list struct {
		Items []struct {
			Level   int    `json:"level"`
			Message string `json:"message"`
		} `json:"items"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &list); err != nil || rec.Code != 200 {
		t.Fatalf("logs: %d %v %s", rec.Code, err, rec.Body.String())
	}
	levels := map[string]int{}
	for _, it := range list.Items {
		levels[it.Message] = it.Level
	}
	return levels, out.String()
}

func TestHealthProbesAreNotLoggedByDefault(t *testing.T) {
	t.Parallel()
	probes := []scenario{
		{path: "/api/health"},
		{method: http.MethodHead, path: "/api/health"},
		{path: "/api/health", token: "superuser"},
		{path: "/api/collections/_superusers/records", token: "superuser"},
	}
	levels, process := requestLogs(t, func(*core.Config) {}, probes...)
	for msg := range levels {
		if strings.Contains(msg, "/api/health") {
			t.Errorf("health probe stored: %q (%v)", msg, levels)
		}
	}
	if _, ok := levels["GET /api/collections/_superusers/records"]; !ok {
		t.Errorf("other request not stored: %v", levels)
	}
	if strings.Contains(process, `"path":"/api/health"`) {
		t.Errorf("health probe in the process log:\n%s", process)
	}

	levels, process = requestLogs(t, func(c *core.Config) { c.Log.HealthRequests = true }, probes...)
	if _, ok := levels["GET /api/health"]; !ok {
		t.Errorf("with log.health_requests, GET /api/health not stored: %v", levels)
	}
	if _, ok := levels["HEAD /api/health"]; !ok {
		t.Errorf("with log.health_requests, HEAD /api/health not stored: %v", levels)
	}
	if !strings.Contains(process, `"path":"/api/health"`) {
		t.Errorf("with log.health_requests, no health probe in the process log:\n%s", process)
	}
}

// A failing probe is worth seeing: only successful ones are left out.
func TestFailedHealthProbeIsLogged(t *testing.T) {
	t.Parallel()
	var out lockedBuffer
	app := coretest.NewApp(t, coretest.WithAppOptions(core.WithLogger(slog.New(slog.NewJSONHandler(&out, nil)))))
	e := newEnv(t, app)
	for _, db := range []interface{ DB() (*sql.DB, error) }{app.ReadDB(context.Background()), app.DB(context.Background())} {
		sqlDB, _ := db.DB()
		sqlDB.Close()
	}
	if rec := e.do(scenario{path: "/api/health"}); rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("health with a closed database = %d", rec.Code)
	}
	if !strings.Contains(out.String(), `"path":"/api/health","status":503`) {
		t.Fatalf("failed probe not in the process log:\n%s", out.String())
	}
}

// A missing favicon or dashboard asset is a warning; a missing API route
// stays an error, as in PocketBase.
func TestStaticNotFoundIsAWarning(t *testing.T) {
	t.Parallel()
	levels, _ := requestLogs(t, func(*core.Config) {},
		scenario{path: "/favicon.ico"},
		scenario{path: "/_/assets/gone-1234.js"},
		scenario{path: "/robots.txt"},
		scenario{path: "/api/nope"},
	)
	want := map[string]int{
		"GET /favicon.ico":           int(slog.LevelWarn),
		"GET /_/assets/gone-1234.js": int(slog.LevelWarn),
		"GET /robots.txt":            int(slog.LevelWarn),
		"GET /api/nope":              int(slog.LevelError),
	}
	for msg, level := range want {
		got, ok := levels[msg]
		if !ok || got != level {
			t.Errorf("%s: level %d (stored %v), want %d", msg, got, ok, level)
		}
	}
}
