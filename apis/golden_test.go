package apis_test

import (
	"testing"

	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// newBlogEnv is an env with authors and posts (a relation to authors)
// that guests may read, one author and one post by them.
func newBlogEnv(t *testing.T) (e *env, postID string) {
	t.Helper()
	e = newEnv(t, coretest.NewApp(t))
	coretest.CreateCollection(t, e.app, `{"name":"authors","listRule":"","viewRule":"",
		"fields":[{"name":"name","type":"text","required":true}]}`)
	authors := coretest.FindCollection(t, e.app, "authors")
	coretest.CreateCollection(t, e.app, `{"name":"posts","listRule":"","viewRule":"","createRule":"",
		"fields":[{"name":"title","type":"text","required":true,"min":3},
		{"name":"views","type":"number","min":0},
		{"name":"author","type":"relation","collectionId":"`+authors.ID+`","maxSelect":1}]}`)
	ann := coretest.CreateRecord(t, e.app, "authors", map[string]any{"name": "Ann"})
	post := coretest.CreateRecord(t, e.app, "posts", map[string]any{"title": "Hello", "views": 3, "author": ann.ID()})
	return e, post.ID()
}

// TestGoldenBodies pins whole response bodies that other tests check only
// in part: a collection list, a record with an expanded relation, a list
// of records and a validation error (testdata/*.golden; -update rewrites
// them). Ids and dates are normalised, so the files hold on both dialects.
func TestGoldenBodies(t *testing.T) {
	t.Parallel()
	e, postID := newBlogEnv(t)
	e.run(t, []scenario{
		{name: "collection list", path: "/api/collections?filter=(name='authors'||name='posts')&sort=name", token: "superuser",
			wantStatus: 200, golden: "collections_list"},
		{name: "record with expand", path: "/api/collections/posts/records/" + postID + "?expand=author",
			wantStatus: 200, golden: "record_expand",
			wantHooks: []string{"OnRecordViewRequest posts"}},
		{name: "records list with expand", path: "/api/collections/posts/records?expand=author&sort=title",
			wantStatus: 200, golden: "records_list_expand",
			wantHooks: []string{"OnRecordsListRequest posts"}},
		{name: "validation error", method: "POST", path: "/api/collections/posts/records",
			body:       `{"title":"x","views":-1,"author":"nosuchauthor000"}`,
			wantStatus: 400, golden: "error_validation",
			wantHooks: []string{"OnRecordCreateRequest posts"}}, // validation refuses it before the create hook
		{name: "create fires its hooks in order", method: "POST", path: "/api/collections/posts/records",
			body:       `{"title":"Second"}`,
			wantStatus: 200,
			wantHooks:  []string{"OnRecordCreateRequest posts", "OnRecordCreate posts", "OnRecordCreateCommitted posts"}},
		{name: "not found error", path: "/api/collections/posts/records/nosuchrecord000",
			wantStatus: 404, golden: "error_not_found",
			wantHooks: []string{"OnRecordViewRequest posts"}},
	})
}
