package core

import (
	"context"
	"errors"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/migrations"
)

// StaffCollectionName is the name of the staff accounts' auth collection:
// dashboard users whose permissions come only from their Casbin roles.
const StaffCollectionName = "_staff"

// Authz returns the Casbin enforcer, the first of the two access gates
// (see docs/authz.md). It is nil until Bootstrap has applied the
// migrations. Its changes apply from the next request on.
func (a *App) Authz() *authz.Enforcer { return a.authz }

// openAuthz loads the policies; Bootstrap calls it once the migrations
// have created their table.
func (a *App) openAuthz() error {
	e, err := authz.New(a.data.Write, migrations.CasbinTable)
	if err != nil {
		return err
	}
	a.authz = e
	// A deleted auth record takes its roles and policies with it, so that
	// they never pass to a record that reuses its id.
	a.OnRecordDeleteCommitted().BindFunc(func(e *RecordEvent) error {
		if c := e.Record.Collection(); c.IsAuth() {
			if err := a.authz.RemoveSubject(authz.RecordSubject(c.ID, e.Record.ID())); err != nil {
				a.logger.Error("remove the roles of a deleted record", "collection", c.Name, "id", e.Record.ID(), "error", err)
			}
		}
		return e.Next()
	})
	return nil
}

func errAccessDenied() error {
	return Errorf(CodeForbidden, "You are not allowed to perform this request.")
}

// requestSubject is the Casbin subject of the caller that req describes:
// its auth record, of whichever auth collection, or guest.
func requestSubject(req *RequestInfo) string {
	if req == nil {
		return authz.Guest
	}
	return actorSubject(req.Actor)
}

// actorSubject is the Casbin subject of an actor.
func actorSubject(a Actor) string {
	if a.IsGuest() || a.CollectionID == "" {
		return authz.Guest
	}
	return authz.RecordSubject(a.CollectionID, a.ID)
}

// allow asks the enforcer, failing closed before Bootstrap. A
// superuser-only resource is never allowed: superusers pass before asking.
func (a *App) allow(subject, resource, action string) (bool, error) {
	if a.authz == nil {
		return false, errors.New("authz: policies not loaded")
	}
	if a.SuperuserOnly(resource) {
		return false, nil
	}
	return a.authz.Allow(subject, resource, action)
}

// authorizeRecords is the first gate for a record action (list, view,
// create, update, delete) on c: superusers pass, anyone else needs Casbin
// to allow the action on "collection:<name>".
func (a *App) authorizeRecords(c *Collection, action string, req *RequestInfo) error {
	if isSuperuser(req) {
		return nil
	}
	ok, err := a.allow(requestSubject(req), authz.CollectionResource(c.Name), action)
	if err != nil {
		return err
	}
	if !ok {
		return errAccessDenied()
	}
	return nil
}

// Can reports whether the actor carried by ctx may perform action on
// resource, e.g. ("admin:schema", "write"). Superusers and the system
// always may.
func (a *App) Can(ctx context.Context, resource, action string) (bool, error) {
	actor := ActorFrom(ctx)
	if actor.IsSuperuser() {
		return true, nil
	}
	return a.allow(actorSubject(actor), resource, action)
}

// requestCan is @can(resource, action) in a rule or filter: whether the
// caller of req may perform action on resource; a resource without a kind
// is a collection name.
func (a *App) requestCan(req *RequestInfo, resource, action string) (bool, error) {
	if isSuperuser(req) {
		return true, nil
	}
	if !hasKind(resource) && resource != "*" {
		resource = authz.CollectionResource(resource)
	}
	return a.allow(requestSubject(req), resource, action)
}

func hasKind(resource string) bool { return strings.Contains(resource, ":") }

// requestRoles returns the names of the roles of the caller of req, for
// @request.auth.roles.
func (a *App) requestRoles(req *RequestInfo) ([]string, error) {
	if a.authz == nil {
		return nil, errors.New("authz: policies not loaded")
	}
	return a.authz.RolesOf(requestSubject(req))
}
