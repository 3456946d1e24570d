package apis

import (
	"context"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// batchOf returns a batch body of n items, each a request of method on url
// with body.
func batchOf(n int, method, url, body string) string {
	items := make([]string, n)
	for i := range items {
		items[i] = `{"method":"` + method + `","url":"` + url + `","body":` + body + `}`
	}
	return `{"requests":[` + strings.Join(items, ",") + `]}`
}

// countRecords returns how many records collection holds.
func countRecords(t *testing.T, app *core.App, collection string) int {
	t.Helper()
	res, err := app.Records().List(core.AsSystem(context.Background()), coretest.FindCollection(t, app, collection), core.RecordQuery{})
	if err != nil {
		t.Fatal(err)
	}
	return res.TotalItems
}

// TestRateLimitBatchItems replays finding 10 of issue 15: with "*:create"
// at 20 a minute, 20 single creates pass and the 21st gets a 429; a batch
// of 20 creates from the same IP must then be refused too, not write 20
// more records. Each item counts as the single request it stands for, in
// the same window, so a batch from a fresh IP passes its first 20 items
// and fails (rolling back) at the 21st.
func TestRateLimitBatchItems(t *testing.T) {
	t.Parallel()
	e := newRLEnv(t)
	coretest.CreateCollection(t, e.app, `{"name":"posts","listRule":"","createRule":"","updateRule":"","fields":[{"name":"title","type":"text"}]}`)
	s := e.app.Settings()
	s.Batch.Enabled = true
	if err := e.app.SaveSettings(context.Background(), s); err != nil {
		t.Fatal(err)
	}
	e.limit(t, true, rule("*:create", "", 20, 60), rule("/api/batch", "", 100, 60))

	const post = `{"title":"x"}`
	got := e.statuses(21, "POST", "/api/collections/posts/records", "192.0.2.1", "", post)
	assertStatuses(t, "single creates", got, append(repeat(200, 20), 429)...)

	rec := e.do("POST", "/api/batch", "192.0.2.1", "", batchOf(20, "POST", "/api/collections/posts/records", post))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"0":{"code":"batch_request_failed"`) ||
		!strings.Contains(rec.Body.String(), `"status":429`) {
		t.Fatalf("batch after the 429: %d %s", rec.Code, rec.Body.String())
	}
	// Upserts that become creates count as creates too.
	rec = e.do("POST", "/api/batch", "192.0.2.1", "", batchOf(1, "PUT", "/api/collections/posts/records", post))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"status":429`) {
		t.Fatalf("upsert after the 429: %d %s", rec.Code, rec.Body.String())
	}
	if n := countRecords(t, e.app, "posts"); n != 20 {
		t.Fatalf("%d records, want the 20 single creates only", n)
	}

	rec = e.do("POST", "/api/batch", "192.0.2.2", "", batchOf(21, "POST", "/api/collections/posts/records", post))
	if rec.Code != 400 || !strings.Contains(rec.Body.String(), `"20":{"code":"batch_request_failed"`) {
		t.Fatalf("batch of 21 from a fresh IP: %d %s", rec.Code, rec.Body.String())
	}
	if n := countRecords(t, e.app, "posts"); n != 20 {
		t.Fatalf("%d records after a refused batch, want 20 (rolled back)", n)
	}
}
