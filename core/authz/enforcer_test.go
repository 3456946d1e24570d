package authz_test

import (
	"context"
	"errors"
	"slices"
	"sync"
	"testing"

	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/coretest"
	"github.com/hatchgrid/hatchgrid/migrations"
)

// newEnforcer returns an enforcer over a fresh test database, which holds
// the default policy the migration seeds.
func newEnforcer(t *testing.T) *authz.Enforcer {
	t.Helper()
	app := coretest.NewApp(t)
	e, err := authz.New(app.DB(context.Background()), migrations.CasbinTable)
	if err != nil {
		t.Fatal(err)
	}
	return e
}

type check struct {
	subject, resource, action string
	want                      bool
}

func assertChecks(t *testing.T, e *authz.Enforcer, checks []check) {
	t.Helper()
	for _, c := range checks {
		got, err := e.Allow(c.subject, c.resource, c.action)
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("Allow(%q, %q, %q) = %v, want %v", c.subject, c.resource, c.action, got, c.want)
		}
	}
}

func mustAdd(t *testing.T, e *authz.Enforcer, sub, res, act, eft string) authz.Policy {
	t.Helper()
	p, err := e.AddPolicy(context.Background(), authz.Policy{Subject: sub, Resource: res, Action: act, Effect: eft})
	if err != nil {
		t.Fatalf("add %s %s %s %s: %v", sub, res, act, eft, err)
	}
	return p
}

var (
	alice = authz.RecordSubject("_pb_users_auth_", "aliceaaaaaaaaaa")
	bob   = authz.RecordSubject("_pb_users_auth_", "bobbbbbbbbbbbbb")
	staff = authz.RecordSubject(migrations.StaffCollectionID, "staffssssssssss")
)

func TestDefaultPolicyAllowsRecordsToEveryoneAndNothingElse(t *testing.T) {
	t.Parallel()
	e := newEnforcer(t)
	var checks []check
	for _, sub := range []string{authz.Guest, alice, staff} {
		for _, act := range authz.CollectionActions {
			checks = append(checks, check{sub, authz.CollectionResource("posts"), act, true})
		}
		for _, res := range []string{authz.AdminSchema, authz.AdminSettings, authz.AdminLogs, authz.AdminJobs, authz.AdminPolicies} {
			checks = append(checks, check{sub, res, authz.ActionRead, false}, check{sub, res, authz.ActionWrite, false})
		}
	}
	assertChecks(t, e, checks)
	ps, err := e.Policies(context.Background())
	if err != nil || len(ps) != 1 || ps[0].Subject != "*" || ps[0].Resource != "collection:*" || ps[0].Action != "*" || ps[0].Effect != "allow" || ps[0].ID == 0 {
		t.Fatalf("seeded policies = %+v, %v", ps, err)
	}
}

func TestRoleInheritance(t *testing.T) {
	t.Parallel()
	e := newEnforcer(t)
	ctx := context.Background()
	// Only roles reach comments: drop the allow-all policy.
	ps, _ := e.Policies(ctx)
	if err := e.RemovePolicy(ctx, ps[0].ID); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, e, authz.RoleSubject("reader"), "collection:comments", "list", "")
	mustAdd(t, e, authz.RoleSubject("author"), "collection:comments", "create", "allow")
	if _, err := e.SetRole("author", []string{"reader"}, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SetRole("editor", []string{"author"}, []string{alice}); err != nil {
		t.Fatal(err)
	}
	mustAdd(t, e, authz.RoleSubject("editor"), "collection:comments", "update", "allow")
	assertChecks(t, e, []check{
		{alice, "collection:comments", "list", true},   // reader, two levels up
		{alice, "collection:comments", "create", true}, // author
		{alice, "collection:comments", "update", true}, // editor
		{alice, "collection:comments", "delete", false},
		{bob, "collection:comments", "list", false},
		{authz.Guest, "collection:comments", "list", false},
		{authz.RoleSubject("author"), "collection:comments", "update", false}, // inheritance goes up only
	})
	roles, err := e.RolesOf(alice)
	if err != nil || !slices.Equal(roles, []string{"author", "editor", "reader"}) {
		t.Fatalf("RolesOf(alice) = %v, %v", roles, err)
	}
	if roles, _ := e.RolesOf(bob); len(roles) != 0 {
		t.Fatalf("RolesOf(bob) = %v", roles)
	}

	// A cycle is refused, as is a role inheriting itself.
	var inv *authz.InvalidError
	if _, err := e.SetRole("reader", []string{"editor"}, nil); !errors.As(err, &inv) || inv.Field != "inherits" {
		t.Fatalf("cycle: %v", err)
	}
	if _, err := e.SetRole("reader", []string{"reader"}, nil); !errors.As(err, &inv) {
		t.Fatalf("self: %v", err)
	}

	all, err := e.Roles()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 3 || all[1].Name != "editor" || !slices.Equal(all[1].Inherits, []string{"author"}) || !slices.Equal(all[1].Members, []string{alice}) {
		t.Fatalf("Roles() = %+v", all)
	}

	// Replacing parents drops the old ones.
	if _, err := e.SetRole("editor", []string{"reader"}, nil); err != nil {
		t.Fatal(err)
	}
	assertChecks(t, e, []check{
		{alice, "collection:comments", "create", false},
		{alice, "collection:comments", "list", true},
	})
}

func TestResourcePatterns(t *testing.T) {
	t.Parallel()
	e := newEnforcer(t)
	mustAdd(t, e, alice, "collection:post*", "delete", "deny")
	mustAdd(t, e, staff, "admin:*", "read", "allow")
	mustAdd(t, e, staff, "admin:schema", "*", "allow")
	mustAdd(t, e, bob, "*", "*", "allow")
	assertChecks(t, e, []check{
		{alice, "collection:posts", "delete", false},
		{alice, "collection:postings", "delete", false},
		{alice, "collection:comments", "delete", true},
		{alice, "collection:posts", "update", true},
		{staff, "admin:logs", "read", true},
		{staff, "admin:settings", "read", true},
		{staff, "admin:settings", "write", false},
		{staff, "admin:schema", "write", true},
		{bob, "admin:policies", "write", true},
		{authz.Guest, "admin:logs", "read", false},
	})
}

func TestDenyOverrides(t *testing.T) {
	t.Parallel()
	e := newEnforcer(t)
	ctx := context.Background()
	mustAdd(t, e, authz.RoleSubject("editor"), "collection:posts", "update", "allow")
	deny := mustAdd(t, e, authz.RoleSubject("editor"), "collection:posts", "delete", "deny")
	mustAdd(t, e, alice, "collection:posts", "delete", "allow") // a direct allow does not beat an inherited deny
	if err := e.AddMember("editor", alice); err != nil {
		t.Fatal(err)
	}
	assertChecks(t, e, []check{
		{alice, "collection:posts", "update", true},
		{alice, "collection:posts", "delete", false},
		{alice, "collection:comments", "delete", true},
		{bob, "collection:posts", "delete", true},
	})

	// Editing the deny into an allow keeps its id and applies at once.
	p, err := e.UpdatePolicy(ctx, deny.ID, authz.Policy{Subject: deny.Subject, Resource: deny.Resource, Action: "delete", Effect: "allow"})
	if err != nil || p.ID != deny.ID {
		t.Fatalf("update: %+v %v", p, err)
	}
	assertChecks(t, e, []check{{alice, "collection:posts", "delete", true}})
	if got, _ := e.Policy(ctx, deny.ID); got.Effect != "allow" {
		t.Fatalf("stored policy = %+v", got)
	}

	// A deny on everyone beats every allow.
	mustAdd(t, e, "*", "collection:posts", "*", "deny")
	assertChecks(t, e, []check{{alice, "collection:posts", "update", false}, {authz.Guest, "collection:posts", "list", false}})
}

func TestPolicyValidationAndErrors(t *testing.T) {
	t.Parallel()
	e := newEnforcer(t)
	ctx := context.Background()
	bad := []struct {
		p     authz.Policy
		field string
	}{
		{authz.Policy{Subject: "alice", Resource: "collection:posts", Action: "list"}, "subject"},
		{authz.Policy{Subject: "role:", Resource: "collection:posts", Action: "list"}, "subject"},
		{authz.Policy{Subject: "record:x", Resource: "collection:posts", Action: "list"}, "subject"},
		{authz.Policy{Subject: "*", Resource: "posts", Action: "list"}, "resource"},
		{authz.Policy{Subject: "*", Resource: "collection:*x", Action: "list"}, "resource"},
		{authz.Policy{Subject: "*", Resource: "collection:posts", Action: "write"}, "action"},
		{authz.Policy{Subject: "*", Resource: "admin:schema", Action: "update"}, "action"},
		{authz.Policy{Subject: "*", Resource: "collection:posts", Action: "list", Effect: "maybe"}, "effect"},
	}
	for _, b := range bad {
		var inv *authz.InvalidError
		if _, err := e.AddPolicy(ctx, b.p); !errors.As(err, &inv) || inv.Field != b.field {
			t.Errorf("AddPolicy(%+v) = %v, want an invalid %s", b.p, err, b.field)
		}
	}
	p := mustAdd(t, e, "guest", "collection:posts", "list", "deny")
	if _, err := e.AddPolicy(ctx, authz.Policy{Subject: "guest", Resource: "collection:posts", Action: "list", Effect: "deny"}); !errors.Is(err, authz.ErrExists) {
		t.Fatalf("duplicate: %v", err)
	}
	if err := e.RemovePolicy(ctx, p.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.RemovePolicy(ctx, p.ID); !errors.Is(err, authz.ErrNotFound) {
		t.Fatalf("remove twice: %v", err)
	}
	if err := e.DeleteRole("nobody"); !errors.Is(err, authz.ErrNotFound) {
		t.Fatalf("delete unknown role: %v", err)
	}
}

func TestDeleteRoleAndRemoveSubject(t *testing.T) {
	t.Parallel()
	e := newEnforcer(t)
	mustAdd(t, e, authz.RoleSubject("editor"), "collection:posts", "*", "deny")
	if _, err := e.SetRole("chief", []string{"editor"}, []string{bob}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.SetRole("editor", nil, []string{alice, authz.Guest}); err != nil {
		t.Fatal(err)
	}
	assertChecks(t, e, []check{{alice, "collection:posts", "list", false}, {bob, "collection:posts", "list", false}, {authz.Guest, "collection:posts", "list", false}})

	if err := e.DeleteRole("editor"); err != nil {
		t.Fatal(err)
	}
	assertChecks(t, e, []check{{alice, "collection:posts", "list", true}, {bob, "collection:posts", "list", true}, {authz.Guest, "collection:posts", "list", true}})
	if r, err := e.RoleByName("chief"); err != nil || len(r.Inherits) != 0 || !slices.Equal(r.Members, []string{bob}) {
		t.Fatalf("chief after deleting editor: %+v %v", r, err)
	}

	mustAdd(t, e, bob, "collection:posts", "list", "deny")
	if err := e.RemoveSubject(bob); err != nil {
		t.Fatal(err)
	}
	assertChecks(t, e, []check{{bob, "collection:posts", "list", true}})
	if _, err := e.RoleByName("chief"); !errors.Is(err, authz.ErrNotFound) {
		t.Fatalf("chief should be gone with its only member: %v", err)
	}
}

// fakeWatcher stands in for a Redis watcher: an Update from one instance
// runs the callbacks of the others.
type fakeWatcher struct {
	hub *watcherHub
	cb  func(string)
}

type watcherHub struct {
	mu       sync.Mutex
	watchers []*fakeWatcher
	updates  int
}

func (w *fakeWatcher) SetUpdateCallback(cb func(string)) error { w.cb = cb; return nil }
func (w *fakeWatcher) Close()                                  {}
func (w *fakeWatcher) Update() error {
	w.hub.mu.Lock()
	w.hub.updates++
	others := slices.DeleteFunc(slices.Clone(w.hub.watchers), func(o *fakeWatcher) bool { return o == w })
	w.hub.mu.Unlock()
	for _, o := range others {
		o.cb("changed")
	}
	return nil
}

func TestOtherInstancesReloadThroughAWatcher(t *testing.T) {
	t.Parallel()
	app := coretest.NewApp(t)
	db := app.DB(context.Background())
	one, err := authz.New(db, migrations.CasbinTable)
	if err != nil {
		t.Fatal(err)
	}
	two, err := authz.New(db, migrations.CasbinTable)
	if err != nil {
		t.Fatal(err)
	}
	denied := check{alice, "collection:posts", "delete", false}

	// Without a watcher, the second instance keeps its stale policies until
	// it reloads.
	mustAdd(t, one, alice, "collection:posts", "delete", "deny")
	assertChecks(t, one, []check{denied})
	assertChecks(t, two, []check{{alice, "collection:posts", "delete", true}})
	if err := two.Reload(); err != nil {
		t.Fatal(err)
	}
	assertChecks(t, two, []check{denied})

	hub := &watcherHub{}
	for _, e := range []*authz.Enforcer{one, two} {
		w := &fakeWatcher{hub: hub}
		hub.watchers = append(hub.watchers, w)
		if err := e.SetWatcher(w); err != nil {
			t.Fatal(err)
		}
	}
	mustAdd(t, one, bob, "collection:posts", "list", "deny")
	assertChecks(t, two, []check{{bob, "collection:posts", "list", false}})
	if err := two.AddMember("editor", bob); err != nil {
		t.Fatal(err)
	}
	if roles, _ := one.RolesOf(bob); !slices.Equal(roles, []string{"editor"}) {
		t.Fatalf("first instance did not reload: %v", roles)
	}
	if hub.updates != 2 {
		t.Fatalf("watcher updates = %d, want 2", hub.updates)
	}

	// A change the other instance never heard of is retried after a reload.
	if err := two.SetWatcher(&fakeWatcher{hub: &watcherHub{}}); err != nil {
		t.Fatal(err)
	}
	p := mustAdd(t, two, "guest", "collection:x", "view", "deny")
	if err := one.RemovePolicy(context.Background(), p.ID); err != nil {
		t.Fatalf("remove a policy added elsewhere: %v", err)
	}
}
