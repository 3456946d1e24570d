package apis_test

import (
	"context"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/plugins/backups"
)

// TestPolicyCeiling: a staff account allowed admin:policies write manages
// policies within its own rights and the roles it holds, nothing more;
// superuser-only resources cannot be granted by anyone, and patterns do
// not reach them.
func TestPolicyCeiling(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t, coretest.WithAppOptions(core.WithPlugins(&backups.Plugin{Restart: func() error { return nil }})))
	e := newEnv(t, app)
	staff := account(t, app, core.StaffCollectionName, "staff@example.com")
	other := account(t, app, core.StaffCollectionName, "other@example.com")
	token := tokenOf(t, app, staff)
	ctx := context.Background()
	for _, p := range []authz.Policy{
		{Subject: "role:support", Resource: "admin:policies", Action: "*"},
		{Subject: "role:support", Resource: "admin:*", Action: "read"},
		{Subject: "role:support", Resource: "collection:*", Action: "*"},
		{Subject: "role:boss", Resource: "*", Action: "*"},
		{Subject: "role:auditors", Resource: "admin:logs", Action: "read"},
	} {
		if _, err := app.Authz().AddPolicy(ctx, p); err != nil {
			t.Fatal(err)
		}
	}
	if err := app.Authz().AddMember("support", authz.RecordSubject(staff.Collection().ID, staff.ID())); err != nil {
		t.Fatal(err)
	}
	otherMember := `{"collectionName":"_staff","recordId":"` + other.ID() + `"}`
	otherSub := authz.RecordSubject(other.Collection().ID, other.ID())
	e.run(t, []scenario{
		{name: "grant within its rights", method: "POST", path: "/api/hg/policies", token: token, wantStatus: 200,
			body: `{"subject":"` + otherSub + `","resource":"admin:schema","action":"read"}`},
		{name: "grant a narrower pattern", method: "POST", path: "/api/hg/policies", token: token, wantStatus: 200,
			body: `{"subject":"` + otherSub + `","resource":"collection:post*","action":"update"}`},
		{name: "deny within its rights", method: "POST", path: "/api/hg/policies", token: token, wantStatus: 200,
			body: `{"subject":"` + otherSub + `","resource":"collection:posts","action":"delete","effect":"deny"}`},
		{name: "no write it lacks", method: "POST", path: "/api/hg/policies", token: token, wantStatus: 403,
			body: `{"subject":"` + otherSub + `","resource":"admin:schema","action":"write"}`},
		{name: "no broader pattern", method: "POST", path: "/api/hg/policies", token: token, wantStatus: 403,
			body: `{"subject":"` + otherSub + `","resource":"*","action":"read"}`},
		{name: "no superuser-only resource", method: "POST", path: "/api/hg/policies", token: token, wantStatus: 400,
			body: `{"subject":"` + otherSub + `","resource":"admin:backups","action":"read"}`},
		{name: "not even by a superuser", method: "POST", path: "/api/hg/policies", token: "superuser", wantStatus: 400,
			body: `{"subject":"` + otherSub + `","resource":"admin:backups","action":"read"}`, wantContent: []string{`"resource":{"code":"validation_invalid_value"`}},
		{name: "a role it holds", method: "POST", path: "/api/hg/roles/support/members", token: token, wantStatus: 200, body: otherMember},
		{name: "not a role it lacks", method: "POST", path: "/api/hg/roles/auditors/members", token: token, wantStatus: 403, body: otherMember},
		{name: "nor a stronger one", method: "PUT", path: "/api/hg/roles/boss", token: token, wantStatus: 403, body: `{"members":[` + otherMember + `]}`},
		{name: "nor inherit one", method: "PUT", path: "/api/hg/roles/support", token: token, wantStatus: 403, body: `{"inherits":["boss"]}`},
		{name: "nor delete one", method: "DELETE", path: "/api/hg/roles/boss", token: token, wantStatus: 403},
		{name: "nor create one with members", method: "PUT", path: "/api/hg/roles/fresh", token: token, wantStatus: 403, body: `{"members":[` + otherMember + `]}`},
		{name: "a superuser may", method: "PUT", path: "/api/hg/roles/fresh", token: "superuser", wantStatus: 200, body: `{"inherits":["boss"],"members":[` + otherMember + `]}`},
		{name: "admin:* does not reach backups", path: "/api/hg/access", token: token, wantStatus: 200,
			wantContent: []string{`"admin:backups":{"read":false,"write":false}`, `"admin:logs":{"read":true,"write":false}`}},
		{name: "nor * for the boss", path: "/api/hg/access", token: tokenOf(t, app, other), wantStatus: 200,
			wantContent: []string{`"admin:backups":{"read":false,"write":false}`, `"admin:schema":{"read":true,"write":true}`}},
		{name: "the superuser has backups", path: "/api/hg/access", token: "superuser", wantStatus: 200,
			wantContent: []string{`"admin:backups":{"read":true,"write":true}`}},
		{name: "the check says so", path: "/api/hg/access/check?subject=" + otherSub + "&resource=admin:backups&action=read", token: "superuser", wantStatus: 200,
			wantContent: []string{`"allowed":false`}},
	})
}
