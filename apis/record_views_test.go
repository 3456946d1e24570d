package apis_test

import (
	"encoding/json"
	"slices"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// TestViewListsWithoutSort replays finding 11: listing a view without a
// sort was a 500 on both dialects (ORDER BY a row id views do not have).
// As in PocketBase, the view lists in its own query's order, and
// sort=@rowid is a 400.
func TestViewListsWithoutSort(t *testing.T) {
	t.Parallel()
	e := newEnv(t, coretest.NewApp(t))
	mustCollection(t, e.app, `{"name":"posts","listRule":"","fields":[{"name":"title","type":"text"}]}`)
	for _, title := range []string{"hello", "zeta", "alpha"} {
		mustRecord(t, e.app, "posts", map[string]any{"title": title})
	}
	mustCollection(t, e.app, `{"name":"titles","type":"view","listRule":"","viewRule":"","viewQuery":"SELECT id, title FROM posts ORDER BY title DESC"}`)
	mustCollection(t, e.app, `{"name":"counts","type":"view","listRule":"","viewQuery":"SELECT (ROW_NUMBER() OVER (ORDER BY title)) AS id, title FROM posts"}`)
	rec := e.do(scenario{path: "/api/collections/titles/records"})
	if rec.Code != 200 {
		t.Fatalf("view list: %d %s", rec.Code, rec.Body.String())
	}
	var page struct {
		Items []struct {
			Title string `json:"title"`
		} `json:"items"`
	}
	json.Unmarshal(rec.Body.Bytes(), &page)
	var titles []string
	for _, it := range page.Items {
		titles = append(titles, it.Title)
	}
	if want := []string{"zeta", "hello", "alpha"}; !slices.Equal(titles, want) {
		t.Errorf("view order %v, want the query's %v", titles, want)
	}
	e.run(t, []scenario{
		{name: "paged", path: "/api/collections/titles/records?perPage=1&page=2", wantStatus: 200, wantContent: []string{`"totalItems":3`, `"title":"hello"`}},
		{name: "window view", path: "/api/collections/counts/records", wantStatus: 200, wantContent: []string{`"totalItems":3`}},
		{name: "sorted", path: "/api/collections/titles/records?sort=title", wantStatus: 200, wantContent: []string{`"totalItems":3`}},
		{name: "@rowid", path: "/api/collections/titles/records?sort=" + urlq("@rowid"), wantStatus: 400},
		{name: "superuser", path: "/api/collections/titles/records", token: "superuser", wantStatus: 200},
	})
}
