package core

import (
	"context"
	"slices"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/authz"
)

// The ceiling of delegated policy management (docs/security.md): a caller
// who is not a superuser, allowed admin:policies write, may only grant,
// deny or remove what it is allowed itself, and may only change the
// membership and inheritance of roles it holds. Roles count as rights of
// their own: API rules may test @request.auth.roles, so holding a role
// can open records no policy mentions.

// checkReserved refuses, whoever asks, a policy naming a superuser-only
// resource: no policy grants it.
func (s *PolicyService) checkReserved(p authz.Policy) error {
	if r := strings.TrimSpace(p.Resource); s.app.SuperuserOnly(r) {
		return Invalid("Failed to save policy.", map[string]FieldError{
			"resource": {Code: "validation_invalid_value", Message: r + " is for superusers only: no policy can grant it."},
		})
	}
	return nil
}

// checkWithin refuses a delegated caller a policy to create, change or
// remove that names more than the caller is allowed itself.
func (s *PolicyService) checkWithin(ctx context.Context, enf *authz.Enforcer, p authz.Policy) error {
	if !delegatedAdmin(ctx) {
		return nil
	}
	ok, err := enf.Covers(actorSubject(ActorFrom(ctx)), p)
	if err != nil {
		return err
	}
	if !ok {
		return Errorf(CodeForbidden, "You can only grant, deny or remove what you are allowed yourself (%s %s).", p.Resource, p.Action)
	}
	return nil
}

// checkRoles refuses a delegated caller a change of the roles named
// (members, inheritance, deletion) unless it holds each of them and each
// one's policies, inherited ones included, are within its rights.
func (s *PolicyService) checkRoles(ctx context.Context, enf *authz.Enforcer, names ...string) error {
	if !delegatedAdmin(ctx) {
		return nil
	}
	held, err := enf.RolesOf(actorSubject(ActorFrom(ctx)))
	if err != nil {
		return err
	}
	for _, name := range names {
		if !slices.Contains(held, name) {
			return Errorf(CodeForbidden, "You can only change the members and inheritance of roles you hold yourself (%s).", name)
		}
		perms, err := enf.PermissionsOf(name)
		if err != nil {
			return err
		}
		for _, p := range perms {
			if err := s.checkWithin(ctx, enf, p); err != nil {
				return err
			}
		}
	}
	return nil
}

// rolesTouched are the roles a SaveRole changes: the role itself and,
// when its inheritance is replaced, its parents before and after.
func rolesTouched(enf *authz.Enforcer, name string, in RoleInput) []string {
	names := []string{name}
	if in.Inherits == nil {
		return names
	}
	if r, err := enf.RoleByName(name); err == nil {
		names = append(names, r.Inherits...)
	}
	for _, p := range in.Inherits {
		if !slices.Contains(names, p) {
			names = append(names, p)
		}
	}
	return names
}
