package core_test

import (
	"context"
	"strings"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// TestListUsesIndexes fills a collection with 100,000 records and checks
// that a filtered, sorted list on an indexed field is planned through the
// index on the dialect under test.
func TestListUsesIndexes(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	c, err := app.Collections().Create(ctx, input(t, `{"name":"posts","listRule":"","fields":[
		{"name":"title","type":"text"},{"name":"score","type":"number"},{"name":"status","type":"text"}],
		"indexes":["CREATE INDEX idx_posts_score ON posts (score)","CREATE INDEX idx_posts_status ON posts (status)"]}`))
	if err != nil {
		t.Fatal(err)
	}
	db := app.DB(ctx)
	seed := `WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 100000)
		INSERT INTO "posts" ("id", "title", "score", "status")
		SELECT 'r' || n, 'title ' || n, n, CASE WHEN n % 100 = 0 THEN 'draft' ELSE 'live' END FROM seq`
	if err := db.Exec(seed).Error; err != nil {
		t.Fatal(err)
	}
	if err := db.Exec(`ANALYZE`).Error; err != nil {
		t.Fatal(err)
	}

	guest := &core.RequestInfo{}
	for _, q := range []core.RecordQuery{
		{Filter: "score > 99000", Sort: "-score"},
		{Filter: "status = 'draft'", Sort: "status"},
	} {
		plan, err := app.Records().ExplainList(core.WithRequest(ctx, guest), c, q)
		if err != nil {
			t.Fatal(err)
		}
		want := "idx_posts_score"
		if strings.Contains(q.Filter, "status") {
			want = "idx_posts_status"
		}
		t.Logf("plan for %q:\n%s", q.Filter, plan)
		if !strings.Contains(plan, want) {
			t.Errorf("filter %q sort %q does not use %s:\n%s", q.Filter, q.Sort, want, plan)
		}
		res, err := app.Records().List(core.WithRequest(ctx, guest), c, q)
		if err != nil || res.TotalItems != 999 && res.TotalItems != 1000 {
			t.Errorf("filter %q: %d items, %v", q.Filter, res.TotalItems, err)
		}
	}
}
