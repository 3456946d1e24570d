package core

import (
	"context"
	"fmt"

	"github.com/hatchgrid/hatchgrid/core/authz"
)

// Roles returns every role that a policy or an assignment names.
func (s *PolicyService) Roles(ctx context.Context) ([]RoleView, error) {
	e, err := s.enforcer()
	if err != nil {
		return nil, err
	}
	roles, err := e.Roles()
	if err != nil {
		return nil, err
	}
	out := make([]RoleView, len(roles))
	for i, r := range roles {
		out[i] = s.roleView(r)
	}
	return out, nil
}

// Role returns the role called name.
func (s *PolicyService) Role(ctx context.Context, name string) (RoleView, error) {
	e, err := s.enforcer()
	if err != nil {
		return RoleView{}, err
	}
	r, err := e.RoleByName(name)
	if err != nil {
		return RoleView{}, authzError(err, "role", "find")
	}
	return s.roleView(r), nil
}

// SaveRole replaces the parts of the role called name that in sets,
// creating the role if needed. Members must be existing records of auth
// collections, or guest.
func (s *PolicyService) SaveRole(ctx context.Context, name string, in RoleInput) (RoleView, error) {
	enf, err := s.enforcer()
	if err != nil {
		return RoleView{}, err
	}
	var members []string
	if in.Members != nil {
		members = make([]string, 0, len(in.Members))
		for i, m := range in.Members {
			sub, err := s.memberSubject(ctx, m, fmt.Sprintf("members.%d", i))
			if err != nil {
				return RoleView{}, err
			}
			members = append(members, sub)
		}
	}
	e := &PolicyEvent{Action: RoleSave, Role: name, OldRole: s.existingRole(ctx, name)}
	err = s.change(ctx, e, func(e *PolicyEvent) error {
		if err := s.checkRoles(ctx, enf, rolesTouched(enf, name, in)...); err != nil {
			return err
		}
		r, err := enf.SetRole(name, in.Inherits, members)
		if err != nil {
			return authzError(err, "role", "save")
		}
		v := s.roleView(r)
		e.NewRole = &v
		return nil
	})
	if err != nil {
		return RoleView{}, err
	}
	return *e.NewRole, nil
}

// existingRole returns the role called name, nil if there is none.
func (s *PolicyService) existingRole(ctx context.Context, name string) *RoleView {
	if r, err := s.Role(ctx, name); err == nil {
		return &r
	}
	return nil
}

// DeleteRole removes the role called name with its policies and
// assignments.
func (s *PolicyService) DeleteRole(ctx context.Context, name string) error {
	enf, err := s.enforcer()
	if err != nil {
		return err
	}
	e := &PolicyEvent{Action: RoleDelete, Role: name, OldRole: s.existingRole(ctx, name)}
	return s.change(ctx, e, func(e *PolicyEvent) error {
		if err := s.checkRoles(ctx, enf, name); err != nil {
			return err
		}
		return authzError(enf.DeleteRole(name), "role", "delete")
	})
}

// AddRoleMember gives the role called name to m.
func (s *PolicyService) AddRoleMember(ctx context.Context, name string, m RoleMember) (RoleView, error) {
	enf, err := s.enforcer()
	if err != nil {
		return RoleView{}, err
	}
	sub, err := s.memberSubject(ctx, m, "subject")
	if err != nil {
		return RoleView{}, err
	}
	e := &PolicyEvent{Action: RoleMemberAdd, Role: name, OldRole: s.existingRole(ctx, name), Member: s.member(sub)}
	err = s.change(ctx, e, func(e *PolicyEvent) error {
		if err := s.checkRoles(ctx, enf, name); err != nil {
			return err
		}
		if err := enf.AddMember(name, sub); err != nil {
			return authzError(err, "role", "save")
		}
		e.NewRole = s.existingRole(ctx, name)
		return nil
	})
	if err != nil {
		return RoleView{}, err
	}
	return s.Role(ctx, name)
}

// RemoveRoleMember takes the role called name from m.
func (s *PolicyService) RemoveRoleMember(ctx context.Context, name string, m RoleMember) error {
	enf, err := s.enforcer()
	if err != nil {
		return err
	}
	sub := m.Subject
	if sub == "" {
		c, err := s.app.collections.Find(m.collection())
		if err != nil {
			return errNotFound()
		}
		sub = authz.RecordSubject(c.ID, m.RecordID)
	}
	e := &PolicyEvent{Action: RoleMemberRemove, Role: name, OldRole: s.existingRole(ctx, name), Member: s.member(sub)}
	return s.change(ctx, e, func(e *PolicyEvent) error {
		if err := s.checkRoles(ctx, enf, name); err != nil {
			return err
		}
		if err := enf.RemoveMember(name, sub); err != nil {
			return authzError(err, "role", "save")
		}
		e.NewRole = s.existingRole(ctx, name)
		return nil
	})
}

// memberSubject resolves a member to its subject, checking that a record
// member exists in an auth collection.
func (s *PolicyService) memberSubject(ctx context.Context, m RoleMember, field string) (string, error) {
	fail := func(msg string) error {
		return Invalid("Failed to save role.", map[string]FieldError{field: {Code: "validation_invalid_value", Message: msg}})
	}
	if m.Subject != "" {
		if _, _, ok := authz.ParseRecord(m.Subject); !ok {
			return m.Subject, nil // guest, or invalid: the enforcer says which
		}
		m.CollectionID, m.RecordID, _ = authz.ParseRecord(m.Subject)
		m.CollectionName = ""
	}
	c, err := s.app.collections.Find(m.collection())
	if err != nil || !c.IsAuth() {
		return "", fail("Must name an auth collection (collectionId or collectionName) and a recordId, or be a subject.")
	}
	if _, err := s.app.Records().Find(ctx, c, m.RecordID); err != nil {
		return "", fail(fmt.Sprintf("Record %q of %s doesn't exist.", m.RecordID, c.Name))
	}
	return authz.RecordSubject(c.ID, m.RecordID), nil
}

func (s *PolicyService) roleView(r authz.Role) RoleView {
	v := RoleView{Name: r.Name, Inherits: r.Inherits, Members: make([]RoleMember, 0, len(r.Members))}
	for _, sub := range r.Members {
		v.Members = append(v.Members, *s.member(sub))
	}
	return v
}

// member describes the subject sub as a role member.
func (s *PolicyService) member(sub string) *RoleMember {
	m := RoleMember{Subject: sub}
	if colID, id, ok := authz.ParseRecord(sub); ok {
		m.CollectionID, m.RecordID = colID, id
		if c, err := s.app.collections.Find(colID); err == nil {
			m.CollectionName = c.Name
		}
	}
	return &m
}

// collection is the id or else the name of m's collection.
func (m RoleMember) collection() string {
	if m.CollectionID != "" {
		return m.CollectionID
	}
	return m.CollectionName
}
