package core

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/authz"
)

// AdminResources are the core's admin resources, in the order the
// dashboard shows their screens. Plugins add theirs with
// App.AddAdminResource; App.AdminResources lists them all.
var AdminResources = []string{authz.AdminSchema, authz.AdminSettings, authz.AdminLogs, authz.AdminJobs, authz.AdminPolicies}

// AddAdminResource makes name ("admin:<something>") an admin resource of
// this App: GET /api/hg/access reports the caller's read and write on it,
// so the dashboard can show a plugin's screen to staff whose policies
// allow it. Call it from Plugin.Register.
func (a *App) AddAdminResource(name string) error {
	if !strings.HasPrefix(name, "admin:") || len(name) == len("admin:") {
		return fmt.Errorf("AddAdminResource: %q is not of the form admin:<name>", name)
	}
	if !slices.Contains(a.AdminResources(), name) {
		a.extraAdminResources = append(a.extraAdminResources, name)
	}
	return nil
}

// AddSuperuserOnlyResource makes name an admin resource (as
// AddAdminResource) that only superusers ever have: no policy may name
// it, and a policy whose pattern covers it (admin:*, *) does not reach it.
// It is for what hands over superuser credentials or the whole database
// (the backups plugin's admin:backups). Call it from Plugin.Register.
func (a *App) AddSuperuserOnlyResource(name string) error {
	if err := a.AddAdminResource(name); err != nil {
		return err
	}
	if !slices.Contains(a.superuserOnly, name) {
		a.superuserOnly = append(a.superuserOnly, name)
	}
	return nil
}

// SuperuserOnly reports whether resource is one only superusers have
// (see AddSuperuserOnlyResource).
func (a *App) SuperuserOnly(resource string) bool {
	return slices.Contains(a.superuserOnly, resource)
}

// AdminResources lists the core's admin resources, then those plugins
// added.
func (a *App) AdminResources() []string {
	return append(slices.Clone(AdminResources), a.extraAdminResources...)
}

// AdminAccess says which actions a caller has on one admin resource.
type AdminAccess struct {
	Read  bool `json:"read"`
	Write bool `json:"write"`
}

// AccessSummary is what the caller may do: the dashboard shows the screens
// it allows, and the API refuses the others whatever the dashboard shows.
type AccessSummary struct {
	Superuser bool                   `json:"superuser"`
	Admin     map[string]AdminAccess `json:"admin"`
	// Collections maps each collection name to the record actions the
	// first gate (Casbin) allows; the API rules still decide which records.
	Collections map[string][]string `json:"collections"`
}

// AccessOf summarises the access of the actor carried by ctx.
func (s *PolicyService) AccessOf(ctx context.Context) (AccessSummary, error) {
	actor := ActorFrom(ctx)
	out := AccessSummary{
		Superuser:   actor.IsSuperuser(),
		Admin:       map[string]AdminAccess{},
		Collections: map[string][]string{},
	}
	subject := actorSubject(actor)
	can := func(resource, action string) (bool, error) {
		if out.Superuser {
			return true, nil
		}
		return s.app.allow(subject, resource, action)
	}
	for _, r := range s.app.AdminResources() {
		read, err := can(r, authz.ActionRead)
		if err != nil {
			return out, err
		}
		write, err := can(r, authz.ActionWrite)
		if err != nil {
			return out, err
		}
		out.Admin[r] = AdminAccess{Read: read, Write: write}
	}
	for _, c := range s.app.Collections().All() {
		actions := []string{}
		for _, a := range authz.CollectionActions {
			ok, err := can(authz.CollectionResource(c.Name), a)
			if err != nil {
				return out, err
			}
			if ok {
				actions = append(actions, a)
			}
		}
		out.Collections[c.Name] = actions
	}
	return out, nil
}

// AccessCheck asks whether a subject may perform an action on a resource.
// The subject is given as a role member is: a subject string (guest,
// role:NAME, record:COLLECTION_ID/ID) or an auth collection and record id.
type AccessCheck struct {
	RoleMember
	Resource string `json:"resource"`
	Action   string `json:"action"`
}

// AccessAnswer is the effective access check's answer.
type AccessAnswer struct {
	Subject  string `json:"subject"`
	Resource string `json:"resource"`
	Action   string `json:"action"`
	Allowed  bool   `json:"allowed"`
	// Superuser is set when the subject is a superuser, who passes the
	// first gate whatever the policies say.
	Superuser bool `json:"superuser"`
	// Roles are the roles the subject holds, directly or inherited.
	Roles []string `json:"roles"`
}

// Check answers the effective access check: may the subject perform the
// action on the resource, by the policies and roles as they are now. It
// answers for the first gate only; a collection's API rules still decide
// which records.
func (s *PolicyService) Check(ctx context.Context, in AccessCheck) (AccessAnswer, error) {
	e, err := s.enforcer()
	if err != nil {
		return AccessAnswer{}, err
	}
	fail := func(field, msg string) error {
		return Invalid("Failed to check access.", map[string]FieldError{field: {Code: "validation_invalid_value", Message: msg}})
	}
	if in.Resource == "" {
		return AccessAnswer{}, fail("resource", "Cannot be blank.")
	}
	if in.Action == "" {
		return AccessAnswer{}, fail("action", "Cannot be blank.")
	}
	subject, err := s.memberSubject(ctx, in.RoleMember, "subject")
	if err != nil {
		return AccessAnswer{}, err
	}
	probe := authz.Policy{Subject: subject, Resource: in.Resource, Action: in.Action, Effect: authz.EffectAllow}
	if err := probe.Validate(); err != nil {
		return AccessAnswer{}, authzError(err, "access", "check")
	}
	out := AccessAnswer{Subject: subject, Resource: in.Resource, Action: in.Action}
	if colID, _, ok := authz.ParseRecord(subject); ok {
		if c, err := s.app.collections.Find(colID); err == nil && c.Name == SuperusersCollectionName {
			out.Superuser, out.Allowed = true, true
		}
	}
	if out.Roles, err = e.RolesOf(subject); err != nil {
		return AccessAnswer{}, err
	}
	if out.Roles == nil {
		out.Roles = []string{}
	}
	if !out.Allowed {
		if out.Allowed, err = s.app.allow(subject, in.Resource, in.Action); err != nil {
			return AccessAnswer{}, err
		}
	}
	return out, nil
}
