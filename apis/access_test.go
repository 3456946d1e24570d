package apis_test

import (
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
)

// TestAccessRoutes covers the caller's own access summary (what the
// dashboard shows) and the effective access check.
func TestAccessRoutes(t *testing.T) {
	t.Parallel()
	e := authzEnv(t)
	mustCollection(t, e.app, `{"name":"posts","fields":[{"name":"title","type":"text"}]}`)
	staff := account(t, e.app, core.StaffCollectionName, "staff@example.com")
	bare := account(t, e.app, core.StaffCollectionName, "bare@example.com")
	su := account(t, e.app, core.SuperusersCollectionName, "root@example.com")
	member := `{"collectionId":"` + staff.Collection().ID + `","recordId":"` + staff.ID() + `"}`
	check := "/api/hg/access/check?collection=_staff&recordId=" + staff.ID()

	e.run(t, []scenario{
		{name: "guest has no summary", path: "/api/hg/access", wantStatus: 401},
		{name: "superuser may do everything", path: "/api/hg/access", token: "superuser", wantStatus: 200,
			wantContent: []string{`"superuser":true`, `"admin:policies":{"read":true,"write":true}`, `"posts":["list","view","create","update","delete"]`}},
		{name: "deny posts deletes to everyone", method: "POST", path: "/api/hg/policies", token: "superuser",
			body: `{"subject":"*","resource":"collection:posts","action":"delete","effect":"deny"}`, wantStatus: 200},
		{name: "logs reader", method: "POST", path: "/api/hg/policies", token: "superuser",
			body: `{"subject":"role:ops","resource":"admin:logs","action":"read"}`, wantStatus: 200},
		{name: "staff gets ops", method: "POST", path: "/api/hg/roles/ops/members", token: "superuser", body: member, wantStatus: 200},
		{name: "staff reads logs only", path: "/api/hg/access", token: tokenOf(t, e.app, staff), wantStatus: 200,
			wantContent: []string{`"superuser":false`, `"admin:logs":{"read":true,"write":false}`, `"admin:schema":{"read":false,"write":false}`,
				`"posts":["list","view","create","update"]`}},
		{name: "bare staff reads nothing", path: "/api/hg/access", token: tokenOf(t, e.app, bare), wantStatus: 200,
			wantContent: []string{`"admin:logs":{"read":false,"write":false}`}},

		{name: "check needs admin:policies", path: check + "&resource=admin:logs&action=read", token: tokenOf(t, e.app, staff), wantStatus: 403},
		{name: "check allowed through a role", path: check + "&resource=admin:logs&action=read", token: "superuser", wantStatus: 200,
			wantContent: []string{`"allowed":true`, `"roles":["ops"]`, `"subject":"record:` + staff.Collection().ID + `/` + staff.ID() + `"`}},
		{name: "check refused", path: check + "&resource=admin:logs&action=write", token: "superuser", wantStatus: 200,
			wantContent: []string{`"allowed":false`}},
		{name: "check a deny", path: check + "&resource=collection:posts&action=delete", token: "superuser", wantStatus: 200,
			wantContent: []string{`"allowed":false`}},
		{name: "check a role", path: "/api/hg/access/check?subject=role:ops&resource=admin:logs&action=read", token: "superuser", wantStatus: 200,
			wantContent: []string{`"allowed":true`}},
		{name: "guest may list posts", path: "/api/hg/access/check?subject=guest&resource=collection:posts&action=list", token: "superuser", wantStatus: 200,
			wantContent: []string{`"allowed":true`, `"roles":[]`}},
		{name: "a superuser passes the first gate", path: "/api/hg/access/check?collection=_superusers&recordId=" + su.ID() + "&resource=collection:posts&action=delete",
			token: "superuser", wantStatus: 200, wantContent: []string{`"allowed":true`, `"superuser":true`}},
		{name: "no subject", path: "/api/hg/access/check?resource=admin:logs&action=read", token: "superuser", wantStatus: 400,
			wantContent: []string{`"subject":{"code":"validation_invalid_value"`}},
		{name: "unknown record", path: "/api/hg/access/check?collection=_staff&recordId=nope&resource=admin:logs&action=read", token: "superuser", wantStatus: 400},
		{name: "no resource", path: check + "&action=read", token: "superuser", wantStatus: 400, wantContent: []string{`"resource":{"code":"validation_invalid_value"`}},
		{name: "bad resource", path: check + "&resource=logs&action=read", token: "superuser", wantStatus: 400, wantContent: []string{`"resource":`}},
		{name: "bad action", path: check + "&resource=admin:logs&action=list", token: "superuser", wantStatus: 400, wantContent: []string{`"action":`}},
	})
}
