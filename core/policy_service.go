package core

import (
	"context"
	"errors"
	"strconv"

	"github.com/hatchgrid/hatchgrid/core/authz"
)

// PolicyService manages the Casbin policies and roles, translating the
// enforcer's errors into core errors. Its changes apply from the next
// request on. Callers check that the actor may manage them
// ("admin:policies"); the service holds a caller who is not a superuser
// to its own rights (see policy_ceiling.go) and refuses policies naming
// superuser-only resources.
type PolicyService struct {
	app *App
}

// Policies returns the policy and role service.
func (a *App) Policies() *PolicyService { return &PolicyService{app: a} }

// PolicyInput is a new policy, or the parts of one to change: empty
// strings keep the current values on update.
type PolicyInput struct {
	Subject  string `json:"subject"`
	Resource string `json:"resource"`
	Action   string `json:"action"`
	Effect   string `json:"effect"`
}

// RoleMember is a subject that holds a role. On input either Subject, or
// CollectionID or CollectionName (of an auth collection) with RecordID,
// names it; on output every field that applies is set.
type RoleMember struct {
	Subject        string `json:"subject"`
	CollectionID   string `json:"collectionId,omitempty"`
	CollectionName string `json:"collectionName,omitempty"`
	RecordID       string `json:"recordId,omitempty"`
}

// RoleView is a role as the API shows it.
type RoleView struct {
	Name     string       `json:"name"`
	Inherits []string     `json:"inherits"`
	Members  []RoleMember `json:"members"`
}

// RoleInput replaces the parts of a role that it sets: nil keeps them.
type RoleInput struct {
	Inherits []string     `json:"inherits"`
	Members  []RoleMember `json:"members"`
}

func (s *PolicyService) enforcer() (*authz.Enforcer, error) {
	if s.app.authz == nil {
		return nil, errors.New("authz: policies not loaded")
	}
	return s.app.authz, nil
}

// authzError turns the enforcer's errors into core errors.
func authzError(err error, what, action string) error {
	var inv *authz.InvalidError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &inv):
		return Invalid("Failed to "+action+" "+what+".", map[string]FieldError{
			inv.Field: {Code: "validation_invalid_value", Message: inv.Message},
		})
	case errors.Is(err, authz.ErrNotFound):
		return errNotFound()
	case errors.Is(err, authz.ErrExists):
		return Invalid("Failed to "+action+" "+what+".", map[string]FieldError{
			what: {Code: "validation_not_unique", Message: "The " + what + " already exists."},
		})
	}
	return err
}

func parsePolicyID(id string) (int64, error) {
	n, err := strconv.ParseInt(id, 10, 64)
	if err != nil || n <= 0 {
		return 0, errNotFound()
	}
	return n, nil
}

// List returns every policy, oldest first.
func (s *PolicyService) List(ctx context.Context) ([]authz.Policy, error) {
	e, err := s.enforcer()
	if err != nil {
		return nil, err
	}
	return e.Policies(ctx)
}

// View returns the policy id.
func (s *PolicyService) View(ctx context.Context, id string) (authz.Policy, error) {
	e, err := s.enforcer()
	if err != nil {
		return authz.Policy{}, err
	}
	n, err := parsePolicyID(id)
	if err != nil {
		return authz.Policy{}, err
	}
	p, err := e.Policy(ctx, n)
	return p, authzError(err, "policy", "find")
}

// change fires OnPolicyChange around fn, the change itself.
func (s *PolicyService) change(ctx context.Context, e *PolicyEvent, fn func(e *PolicyEvent) error) error {
	e.App, e.Context = s.app, ctx
	return s.app.onPolicyChange.Trigger(e, fn)
}

// Create adds a policy; its effect defaults to allow.
func (s *PolicyService) Create(ctx context.Context, in PolicyInput) (authz.Policy, error) {
	enf, err := s.enforcer()
	if err != nil {
		return authz.Policy{}, err
	}
	e := &PolicyEvent{Action: PolicyCreate, Policy: &authz.Policy{Subject: in.Subject, Resource: in.Resource, Action: in.Action, Effect: in.Effect}}
	err = s.change(ctx, e, func(e *PolicyEvent) error {
		if err := s.checkReserved(*e.Policy); err != nil {
			return err
		}
		if err := s.checkWithin(ctx, enf, *e.Policy); err != nil {
			return err
		}
		p, err := enf.AddPolicy(ctx, *e.Policy)
		if err != nil {
			return authzError(err, "policy", "create")
		}
		*e.Policy = p
		return nil
	})
	if err != nil {
		return authz.Policy{}, err
	}
	return *e.Policy, nil
}

// Update changes the non-empty parts of in in the policy id, which keeps
// its id.
func (s *PolicyService) Update(ctx context.Context, id string, in PolicyInput) (authz.Policy, error) {
	old, err := s.View(ctx, id)
	if err != nil {
		return authz.Policy{}, err
	}
	p := old
	for _, set := range []struct {
		dst *string
		v   string
	}{
		{&p.Subject, in.Subject}, {&p.Resource, in.Resource}, {&p.Action, in.Action}, {&p.Effect, in.Effect},
	} {
		if set.v != "" {
			*set.dst = set.v
		}
	}
	e := &PolicyEvent{Action: PolicyUpdate, OldPolicy: &old, Policy: &p}
	err = s.change(ctx, e, func(e *PolicyEvent) error {
		if err := s.checkReserved(*e.Policy); err != nil {
			return err
		}
		for _, q := range []authz.Policy{old, *e.Policy} {
			if err := s.checkWithin(ctx, s.app.authz, q); err != nil {
				return err
			}
		}
		updated, err := s.app.authz.UpdatePolicy(ctx, old.ID, *e.Policy)
		if err != nil {
			return authzError(err, "policy", "update")
		}
		*e.Policy = updated
		return nil
	})
	if err != nil {
		return authz.Policy{}, err
	}
	return *e.Policy, nil
}

// Delete removes the policy id.
func (s *PolicyService) Delete(ctx context.Context, id string) error {
	old, err := s.View(ctx, id)
	if err != nil {
		return err
	}
	e := &PolicyEvent{Action: PolicyDelete, OldPolicy: &old}
	return s.change(ctx, e, func(e *PolicyEvent) error {
		if err := s.checkWithin(ctx, s.app.authz, old); err != nil {
			return err
		}
		return authzError(s.app.authz.RemovePolicy(ctx, old.ID), "policy", "delete")
	})
}
