package authz_test

import (
	"testing"

	"github.com/hatchgrid/hatchgrid/core/authz"
)

// TestCovers: a grant is within the granter's rights only when every
// resource and action it names is allowed and none denied, patterns
// covered only by patterns at least as broad.
func TestCovers(t *testing.T) {
	t.Parallel()
	e := newEnforcer(t) // with the seeded "*, collection:*, *, allow"
	mustAdd(t, e, staff, "admin:schema", "read", "")
	mustAdd(t, e, staff, "admin:logs", "*", "")
	mustAdd(t, e, staff, "collection:secrets", "delete", authz.EffectDeny)
	mustAdd(t, e, "role:ops", "admin:jobs", "read", "")
	mustAdd(t, e, "role:ops", "custom:thing", "*", "")
	if err := e.AddMember("ops", staff); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		resource, action string
		want             bool
	}{
		{"admin:schema", "read", true},
		{"admin:schema", "write", false},
		{"admin:schema", "*", false},
		{"admin:logs", "*", true},
		{"admin:logs", "write", true},
		{"admin:jobs", "read", true}, // through its role
		{"admin:jobs", "write", false},
		{"admin:*", "read", false},
		{"*", "*", false},
		{"collection:posts", "*", true}, // everyone's
		{"collection:*", "list", true},
		{"collection:*", "*", false}, // meets the deny on secrets delete
		{"collection:secrets", "delete", false},
		{"collection:secrets", "list", true},
		{"collection:sec*", "list", true},
		{"collection:sec*", "delete", false},
		{"custom:thing", "frobnicate", true},
		{"custom:thing", "*", true},
		{"custom:other", "read", false},
	} {
		got, err := e.Covers(staff, authz.Policy{Resource: c.resource, Action: c.action})
		if err != nil {
			t.Fatal(err)
		}
		if got != c.want {
			t.Errorf("Covers(staff, %s %s) = %v, want %v", c.resource, c.action, got, c.want)
		}
	}
	// A narrower pattern does not cover a broader one.
	mustAdd(t, e, bob, "collection:post*", "*", "")
	if got, _ := e.Covers(bob, authz.Policy{Resource: "collection:posts", Action: "update"}); !got {
		t.Error("collection:post* should cover collection:posts")
	}
	mustAdd(t, e, alice, "admin:s*", "read", "")
	for _, r := range []string{"admin:*", "*"} {
		if got, _ := e.Covers(alice, authz.Policy{Resource: r, Action: "read"}); got {
			t.Errorf("admin:s* covers %s", r)
		}
	}
	perms, err := e.PermissionsOf("ops")
	if err != nil || len(perms) != 2 {
		t.Fatalf("PermissionsOf(ops) = %v, %v", perms, err)
	}
}
