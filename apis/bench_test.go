package apis_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// Benchmarks of record operations through the HTTP handlers (the router,
// middleware included, without a network), on the dialect under test:
//
//	go test ./apis -run '^$' -bench Records -benchtime 3s
//	HG_TEST_DB=postgres go test ./apis -run '^$' -bench Records -benchtime 3s

func benchEnv(b *testing.B, seed int) (*env, []string) {
	b.Helper()
	app := coretest.NewApp(b, coretest.WithConfig(func(c *core.Config) { c.Log.Level = "error"; c.Log.Requests = false }))
	c := coretest.CreateCollection(b, app, `{"name":"posts","listRule":"","viewRule":"","createRule":"","fields":[
		{"name":"title","type":"text","required":true},{"name":"score","type":"number"},
		{"name":"status","type":"select","values":["draft","live"]}],
		"indexes":["CREATE INDEX idx_posts_score ON posts (score)"]}`)
	ids := make([]string, 0, seed)
	sys := &core.RequestInfo{Actor: core.SystemActor()}
	err := app.InTx(context.Background(), func(ctx context.Context) error {
		for i := 0; i < seed; i++ {
			r, err := app.Records().Create(core.WithRequest(ctx, sys), c, map[string]any{"title": fmt.Sprintf("post %d", i), "score": i, "status": "live"})
			if err != nil {
				return err
			}
			ids = append(ids, r.ID())
		}
		return nil
	})
	if err != nil {
		b.Fatal(err)
	}
	return newEnv(b, app), ids
}

func (e *env) serve(b *testing.B, method, path, body string) {
	var req *http.Request
	if body != "" {
		req = httptest.NewRequest(method, path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
	} else {
		req = httptest.NewRequest(method, path, nil)
	}
	rec := httptest.NewRecorder()
	e.router.ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("%s %s: %d %s", method, path, rec.Code, rec.Body.String())
	}
}

func BenchmarkRecordsList(b *testing.B) {
	e, _ := benchEnv(b, 2000)
	path := "/api/collections/posts/records?perPage=30&filter=" + urlq("score > 100 && status = 'live'") + "&sort=-score"
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.serve(b, http.MethodGet, path, "")
		}
	})
}

func BenchmarkRecordsListSkipTotal(b *testing.B) {
	e, _ := benchEnv(b, 2000)
	path := "/api/collections/posts/records?perPage=30&skipTotal=1&filter=" + urlq("score > 100 && status = 'live'") + "&sort=-score"
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.serve(b, http.MethodGet, path, "")
		}
	})
}

func BenchmarkRecordsView(b *testing.B) {
	e, ids := benchEnv(b, 2000)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			e.serve(b, http.MethodGet, "/api/collections/posts/records/"+ids[i%len(ids)], "")
			i++
		}
	})
}

func BenchmarkRecordsCreate(b *testing.B) {
	e, _ := benchEnv(b, 0)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.serve(b, http.MethodPost, "/api/collections/posts/records", `{"title":"new post","score":7,"status":"draft"}`)
		}
	})
}

// BenchmarkAuthWithPassword signs one user in over and over: its cost
// should be one bcrypt comparison (cost 10) plus small change.
//
//	go test ./apis -run '^$' -bench AuthWithPassword -benchtime 3s -cpuprofile /tmp/auth.prof
func BenchmarkAuthWithPassword(b *testing.B) {
	e, _ := benchEnv(b, 0)
	coretest.CreateCollection(b, e.app, `{"name":"users","type":"auth","createRule":""}`)
	coretest.CreateUser(b, e.app, "users", "user@example.com")
	body := `{"identity":"user@example.com","password":"Secret12345"}`
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			e.serve(b, http.MethodPost, "/api/collections/users/auth-with-password", body)
		}
	})
}
