package core_test

import (
	"context"
	"slices"
	"testing"

	"github.com/hatchgrid/hatchgrid/core"
	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/coretest"
)

// authzFixture: a public posts collection with one post, a users auth
// collection with alice, bob and carol, and the role editor, allowed to
// update posts but denied deleting them, given to alice.
type authzFixture struct {
	app               *core.App
	posts, users      *core.Collection
	post              string
	alice, bob, carol *core.RequestInfo
}

func newAuthzFixture(t *testing.T, postsRules string) *authzFixture {
	t.Helper()
	app := coretest.NewApp(t)
	ctx := context.Background()
	f := &authzFixture{app: app}
	var err error
	if f.users, err = app.Collections().Create(ctx, input(t, `{"name":"users","type":"auth","fields":[{"name":"name","type":"text"}]}`)); err != nil {
		t.Fatal(err)
	}
	if f.posts, err = app.Collections().Create(ctx, input(t, `{"name":"posts","fields":[{"name":"title","type":"text"}],`+postsRules+`}`)); err != nil {
		t.Fatal(err)
	}
	su := &core.RequestInfo{Actor: core.SystemActor()}
	post, err := app.Records().Create(core.WithRequest(ctx, su), f.posts, map[string]any{"title": "hello"})
	if err != nil {
		t.Fatal(err)
	}
	f.post = post.ID()
	for _, u := range []struct {
		dst   **core.RequestInfo
		email string
	}{{&f.alice, "alice@example.com"}, {&f.bob, "bob@example.com"}, {&f.carol, "carol@example.com"}} {
		rec, err := app.Records().Create(core.WithRequest(ctx, su), f.users, map[string]any{"email": u.email, "password": "Secret12345", "passwordConfirm": "Secret12345"})
		if err != nil {
			t.Fatal(err)
		}
		*u.dst = asUser(rec)
	}
	f.policy(t, "role:editor", "collection:posts", "update", "allow")
	f.policy(t, "role:editor", "collection:posts", "delete", "deny")
	if err := app.Authz().AddMember("editor", subjectOf(f.alice)); err != nil {
		t.Fatal(err)
	}
	return f
}

// asUser describes a request made by the auth record rec, the way the
// auth middleware fills RequestInfo for a record of any auth collection.
func asUser(rec *core.Record) *core.RequestInfo {
	return &core.RequestInfo{Actor: core.Actor{
		CollectionID: rec.Collection().ID, CollectionName: rec.Collection().Name, ID: rec.ID(), Email: rec.GetString("email"),
	}, Auth: map[string]any{
		"id": rec.ID(), "collectionId": rec.Collection().ID, "collectionName": rec.Collection().Name,
		"email": rec.GetString("email"),
	}}
}

func subjectOf(req *core.RequestInfo) string {
	return authz.RecordSubject(req.Auth["collectionId"].(string), req.Auth["id"].(string))
}

func (f *authzFixture) policy(t *testing.T, sub, res, act, eft string) authz.Policy {
	t.Helper()
	p, err := f.app.Authz().AddPolicy(context.Background(), authz.Policy{Subject: sub, Resource: res, Action: act, Effect: eft})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

const openRules = `"listRule":"","viewRule":"","createRule":"","updateRule":"","deleteRule":""`

func TestCasbinGateBeforeAPIRules(t *testing.T) {
	t.Parallel()
	f := newAuthzFixture(t, openRules)
	ctx := context.Background()
	body := map[string]any{"title": "edited"}

	if _, err := f.app.Records().Update(core.WithRequest(ctx, f.alice), f.posts, f.post, body); err != nil {
		t.Fatalf("editor update: %v", err)
	}
	err := f.app.Records().Delete(core.WithRequest(ctx, f.alice), f.posts, f.post)
	if ce, ok := err.(*core.Error); !ok || ce.Code != core.CodeForbidden || ce.Message != "You are not allowed to perform this request." {
		t.Fatalf("editor delete: %v", err)
	}

	// Casbin refusing list, view and create is a 403 as well, before any
	// rule; superusers pass whatever the policies say.
	f.policy(t, subjectOf(f.bob), "collection:posts", "*", "deny")
	for name, run := range map[string]func() error{
		"list": func() error {
			_, err := f.app.Records().List(core.WithRequest(ctx, f.bob), f.posts, core.RecordQuery{})
			return err
		},
		"view": func() error {
			_, err := f.app.Records().View(core.WithRequest(ctx, f.bob), f.posts, f.post)
			return err
		},
		"create": func() error {
			_, err := f.app.Records().Create(core.WithRequest(ctx, f.bob), f.posts, body)
			return err
		},
		"update": func() error {
			_, err := f.app.Records().Update(core.WithRequest(ctx, f.bob), f.posts, f.post, body)
			return err
		},
	} {
		if err := run(); core.ErrorCodeOf(err) != core.CodeForbidden {
			t.Errorf("bob %s: %v, want forbidden", name, err)
		}
	}
	f.policy(t, "*", "collection:*", "*", "deny")
	if _, err := f.app.Records().List(core.AsSystem(ctx), f.posts, core.RecordQuery{}); err != nil {
		t.Fatalf("superuser list under a deny-all: %v", err)
	}
	if _, err := f.app.Records().List(ctx, f.posts, core.RecordQuery{}); core.ErrorCodeOf(err) != core.CodeForbidden {
		t.Fatalf("guest list under a deny-all: %v", err)
	}

	// The rule still decides after Casbin allows: carol passes Casbin's
	// default but not a superusers-only rule.
	g := newAuthzFixture(t, `"listRule":null`)
	if _, err := g.app.Records().List(core.WithRequest(ctx, g.carol), g.posts, core.RecordQuery{}); core.ErrorCodeOf(err) != core.CodeForbidden {
		t.Fatalf("null list rule: %v", err)
	}
}

func TestDefaultPolicyKeepsPocketBaseBehaviour(t *testing.T) {
	t.Parallel()
	f := newAuthzFixture(t, `"listRule":"","viewRule":"title = 'nope'","deleteRule":"@request.auth.id != ''"`)
	ctx := context.Background()
	if res, err := f.app.Records().List(ctx, f.posts, core.RecordQuery{}); err != nil || len(res.Items) != 1 {
		t.Fatalf("guest list: %v", err)
	}
	if _, err := f.app.Records().View(core.WithRequest(ctx, f.bob), f.posts, f.post); core.ErrorCodeOf(err) != core.CodeNotFound {
		t.Fatalf("rule mismatch must stay a 404: %v", err)
	}
	if err := f.app.Records().Delete(ctx, f.posts, f.post); core.ErrorCodeOf(err) != core.CodeNotFound {
		t.Fatalf("guest delete: %v", err)
	}
	if err := f.app.Records().Delete(core.WithRequest(ctx, f.bob), f.posts, f.post); err != nil {
		t.Fatalf("bob delete: %v", err)
	}
}

func TestRulesAskCasbin(t *testing.T) {
	t.Parallel()
	f := newAuthzFixture(t, `"listRule":"","viewRule":"@can('posts', 'delete') = true",
		"updateRule":"@request.auth.roles ?= 'editor'","deleteRule":"@request.auth.roles:length > 1 && @request.auth.roles = 'editor'"`)
	ctx := context.Background()
	app := f.app
	if _, err := app.Authz().SetRole("chief", []string{"editor"}, []string{subjectOf(f.carol)}); err != nil {
		t.Fatal(err)
	}
	body := map[string]any{"title": "x"}
	update := func(req *core.RequestInfo) error {
		_, err := app.Records().Update(core.WithRequest(ctx, req), f.posts, f.post, body)
		return err
	}
	view := func(req *core.RequestInfo) error {
		_, err := app.Records().View(core.WithRequest(ctx, req), f.posts, f.post)
		return err
	}

	// @request.auth.roles ?= 'editor': alice directly, carol through chief.
	for name, req := range map[string]*core.RequestInfo{"alice": f.alice, "carol": f.carol} {
		if err := update(req); err != nil {
			t.Errorf("%s update: %v", name, err)
		}
	}
	if err := update(f.bob); core.ErrorCodeOf(err) != core.CodeNotFound {
		t.Errorf("bob update: %v", err)
	}
	if err := update(nil); core.ErrorCodeOf(err) != core.CodeNotFound {
		t.Errorf("guest update: %v", err)
	}

	// @can('posts', 'delete'): editors are denied it, so they cannot view.
	if err := view(f.alice); core.ErrorCodeOf(err) != core.CodeNotFound {
		t.Errorf("alice view: %v", err)
	}
	if err := view(f.bob); err != nil {
		t.Errorf("bob view: %v", err)
	}
	if err := view(&core.RequestInfo{Actor: core.SystemActor()}); err != nil {
		t.Errorf("superuser view: %v", err)
	}

	// The same in a list filter, and the multi-valued semantics: "=" needs
	// every role to match, so carol (chief and editor) fails it.
	// Rules see them; a client's filter may use @can, but @request.* is
	// for superusers there (see TestClientFilterRoots).
	list := func(rule string, req *core.RequestInfo) int {
		t.Helper()
		ok, err := app.Records().Matches(core.WithRequest(ctx, req), f.posts, f.post, rule)
		if err != nil {
			t.Fatalf("rule %q: %v", rule, err)
		}
		if ok {
			return 1
		}
		return 0
	}
	for _, c := range []struct {
		filter string
		req    *core.RequestInfo
		want   int
	}{
		{"@request.auth.roles ?= 'editor'", f.alice, 1},
		{"@request.auth.roles ?= 'editor'", f.bob, 0},
		{"@request.auth.roles = 'editor'", f.alice, 1},
		{"@request.auth.roles = 'editor'", f.carol, 0},
		{"@request.auth.roles:each ?= 'chief'", f.carol, 1},
		{"@request.auth.roles:length = 2", f.carol, 1},
		{"@request.auth.roles:length = 0", nil, 1},
		{"@request.auth.roles ?!= 'editor'", f.carol, 1},
		{"@can('posts', 'update') = true", f.alice, 1},
		{"@can('collection:posts', 'delete') = false", f.alice, 1},
		{"@can('admin:schema', 'write') = true", f.alice, 0},
		{"@can('admin:schema', 'write') = true", &core.RequestInfo{Actor: core.SystemActor()}, 1},
	} {
		if got := list(c.filter, c.req); got != c.want {
			t.Errorf("%q: %d records, want %d", c.filter, got, c.want)
		}
	}
	for _, bad := range []string{"@can('posts') = true", "@can(title, 'update') = true", "@nope('a', 'b') = true", "@request.auth.roles:lower = 'x'"} {
		if _, err := app.Records().Matches(core.WithRequest(ctx, f.alice), f.posts, f.post, bad); core.ErrorCodeOf(err) != core.CodeInvalid {
			t.Errorf("%q: %v, want invalid", bad, err)
		}
	}
	if res, err := app.Records().List(core.WithRequest(ctx, f.alice), f.posts, core.RecordQuery{Filter: "@can('posts', 'update') = true"}); err != nil || len(res.Items) != 1 {
		t.Errorf("@can in alice's filter: %v", err)
	}

	// delete: more than one role, all of them editor -- never true, and a
	// Casbin deny for editors anyway.
	if err := app.Records().Delete(core.WithRequest(ctx, f.carol), f.posts, f.post); core.ErrorCodeOf(err) != core.CodeForbidden {
		t.Errorf("carol delete: %v", err)
	}

	// Guests can hold a role too.
	if err := app.Authz().AddMember("visitor", authz.Guest); err != nil {
		t.Fatal(err)
	}
	if got := list("@request.auth.roles ?= 'visitor'", nil); got != 1 {
		t.Errorf("guest role: %d", got)
	}
}

func TestAuthFieldNamedRolesHidesTheComputedOne(t *testing.T) {
	t.Parallel()
	f := newAuthzFixture(t, `"listRule":"@request.auth.roles = 'boss'"`)
	ctx := context.Background()
	members, err := f.app.Collections().Create(ctx, input(t, `{"name":"members","type":"auth","fields":[{"name":"roles","type":"text"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	rec, err := f.app.Records().Create(core.AsSystem(ctx), members, map[string]any{"email": "m@example.com", "password": "Secret12345", "passwordConfirm": "Secret12345", "roles": "boss"})
	if err != nil {
		t.Fatal(err)
	}
	req := asUser(rec)
	req.Auth["roles"] = "boss"
	if err := f.app.Authz().AddMember("editor", subjectOf(req)); err != nil {
		t.Fatal(err)
	}
	if res, err := f.app.Records().List(core.WithRequest(ctx, req), f.posts, core.RecordQuery{}); err != nil || len(res.Items) != 1 {
		t.Fatalf("the record's own roles field: %v", err)
	}
	// Without the value in the request, the field still wins over the
	// computed roles (editor).
	delete(req.Auth, "roles")
	if ok, err := f.app.Records().Matches(core.WithRequest(ctx, req), f.posts, f.post, "@request.auth.roles ?= 'editor'"); err != nil || ok {
		t.Fatalf("computed roles leaked through a roles field: %v", err)
	}
}

func TestDeletingAnAuthRecordDropsItsRoles(t *testing.T) {
	t.Parallel()
	f := newAuthzFixture(t, openRules)
	ctx := context.Background()
	sub := subjectOf(f.alice)
	f.policy(t, sub, "collection:posts", "list", "deny")
	rec, err := f.app.Records().Find(ctx, f.users, f.alice.Auth["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.app.Records().Delete(core.AsSystem(ctx), f.users, rec.ID()); err != nil {
		t.Fatal(err)
	}
	if roles, _ := f.app.Authz().RolesOf(sub); len(roles) != 0 {
		t.Fatalf("roles after delete: %v", roles)
	}
	ps, _ := f.app.Authz().Policies(ctx)
	for _, p := range ps {
		if p.Subject == sub {
			t.Fatalf("policy of a deleted record kept: %+v", p)
		}
	}
}

func TestStaffAccountsGetPermissionsFromRolesOnly(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	ctx := context.Background()
	staff, err := app.Collections().Find(core.StaffCollectionName)
	if err != nil || !staff.IsAuth() || !staff.System || staff.ListRule != nil || staff.CreateRule != nil {
		t.Fatalf("_staff collection: %+v %v", staff, err)
	}
	rec, err := app.Records().Create(core.AsSystem(ctx), staff, map[string]any{"email": "s@example.com", "password": "Secret12345", "passwordConfirm": "Secret12345"})
	if err != nil {
		t.Fatal(err)
	}
	actx := core.WithActor(ctx, core.Actor{CollectionID: staff.ID, CollectionName: staff.Name, ID: rec.ID()})
	can := func(res, act string) bool {
		t.Helper()
		ok, err := app.Can(actx, res, act)
		if err != nil {
			t.Fatal(err)
		}
		return ok
	}
	if can(authz.AdminSchema, "read") || can(authz.AdminLogs, "read") {
		t.Fatal("a staff account without roles may administer")
	}
	if _, err := app.Authz().AddPolicy(ctx, authz.Policy{Subject: "role:support", Resource: "admin:logs", Action: "read"}); err != nil {
		t.Fatal(err)
	}
	if _, err := app.Authz().SetRole("support", nil, []string{authz.RecordSubject(staff.ID, rec.ID())}); err != nil {
		t.Fatal(err)
	}
	if !can(authz.AdminLogs, "read") || can(authz.AdminLogs, "write") || can(authz.AdminSchema, "read") {
		t.Fatal("support role not applied as granted")
	}
	if ok, _ := app.Can(core.WithActor(ctx, core.SystemActor()), authz.AdminSchema, "write"); !ok {
		t.Fatal("the system actor is refused")
	}
	if ok, _ := app.Can(ctx, authz.AdminLogs, "read"); ok {
		t.Fatal("a guest may read logs")
	}
	roles, _ := app.Authz().RolesOf(authz.RecordSubject(staff.ID, rec.ID()))
	if !slices.Equal(roles, []string{"support"}) {
		t.Fatalf("roles = %v", roles)
	}
}
