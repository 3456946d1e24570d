package authz

import "slices"

// SetRole makes the role called name inherit exactly the roles inherits
// and be held by exactly the subjects members (record subjects or guest);
// a nil slice leaves that part as it is. A role that ends up with no
// parent, member or policy no longer exists.
func (e *Enforcer) SetRole(name string, inherits, members []string) (Role, error) {
	if !ValidRoleName(name) {
		return Role{}, invalid("name", "Must be 1 to 64 letters, digits, '_', '.' or '-', starting with a letter or digit.")
	}
	role := RoleSubject(name)
	if inherits != nil {
		parents := make([]string, 0, len(inherits))
		for _, p := range inherits {
			if !ValidRoleName(p) {
				return Role{}, invalid("inherits", "%q is not a valid role name.", p)
			}
			if p == name {
				return Role{}, invalid("inherits", "A role cannot inherit itself.")
			}
			above, err := e.e.GetImplicitRolesForUser(RoleSubject(p))
			if err != nil {
				return Role{}, err
			}
			if slices.Contains(above, role) {
				return Role{}, invalid("inherits", "%q already inherits %q: roles cannot inherit in a cycle.", p, name)
			}
			parents = append(parents, RoleSubject(p))
		}
		if err := e.replaceGroups(role, parents, func(s string) bool { _, ok := RoleName(s); return ok }, true); err != nil {
			return Role{}, err
		}
	}
	if members != nil {
		for _, m := range members {
			if err := validSubject("members", m, false); err != nil {
				return Role{}, err
			}
			if _, ok := RoleName(m); ok {
				return Role{}, invalid("members", "Roles inherit through inherits, not as members.")
			}
		}
		if err := e.replaceGroups(role, members, func(s string) bool { _, ok := RoleName(s); return !ok }, false); err != nil {
			return Role{}, err
		}
	}
	r, err := e.RoleByName(name)
	if err == ErrNotFound {
		return Role{Name: name, Inherits: []string{}, Members: []string{}}, nil
	}
	return r, err
}

// replaceGroups makes the grouping rules of role among those that keep
// selects equal to want: role's parents when up, its members otherwise.
func (e *Enforcer) replaceGroups(role string, want []string, keep func(string) bool, up bool) error {
	field, other := 1, 0 // rules "g, member, role"
	if up {
		field, other = 0, 1 // rules "g, role, parent"
	}
	current, err := e.e.GetFilteredGroupingPolicy(field, role)
	if err != nil {
		return err
	}
	var have []string
	var remove [][]string
	for _, g := range current {
		if !keep(g[other]) {
			continue
		}
		have = append(have, g[other])
		if !slices.Contains(want, g[other]) {
			remove = append(remove, g)
		}
	}
	var add [][]string
	for _, w := range want {
		if slices.Contains(have, w) {
			continue
		}
		have = append(have, w)
		if up {
			add = append(add, []string{role, w})
		} else {
			add = append(add, []string{w, role})
		}
	}
	if len(remove) > 0 {
		if _, err := e.e.RemoveGroupingPolicies(remove); err != nil {
			return err
		}
	}
	if len(add) > 0 {
		if _, err := e.e.AddGroupingPolicies(add); err != nil {
			return err
		}
	}
	return nil
}

// AddMember gives the role called name to subject (a record subject or
// guest). Giving it twice is not an error.
func (e *Enforcer) AddMember(name, subject string) error {
	if !ValidRoleName(name) {
		return invalid("name", "Invalid role name.")
	}
	if err := validSubject("subject", subject, false); err != nil {
		return err
	}
	if _, ok := RoleName(subject); ok {
		return invalid("subject", "Roles inherit through inherits, not as members.")
	}
	_, err := e.e.AddGroupingPolicy(subject, RoleSubject(name))
	return err
}

// RemoveMember takes the role called name from subject, or reports
// ErrNotFound when subject does not have it directly.
func (e *Enforcer) RemoveMember(name, subject string) error {
	removed, err := e.e.RemoveGroupingPolicy(subject, RoleSubject(name))
	if err == nil && !removed {
		err = ErrNotFound
	}
	return err
}

// DeleteRole removes the role called name everywhere: its policies, its
// parents, its members and the roles that inherit it. ErrNotFound when
// nothing names it.
func (e *Enforcer) DeleteRole(name string) error {
	if _, err := e.RoleByName(name); err != nil {
		return err
	}
	role := RoleSubject(name)
	for _, step := range []func() (bool, error){
		func() (bool, error) { return e.e.RemoveFilteredGroupingPolicy(0, role) },
		func() (bool, error) { return e.e.RemoveFilteredGroupingPolicy(1, role) },
		func() (bool, error) { return e.e.RemoveFilteredPolicy(0, role) },
	} {
		if _, err := step(); err != nil {
			return err
		}
	}
	return nil
}

// RemoveSubject forgets subject: its roles and its own policies. It is
// what happens when an auth record is deleted.
func (e *Enforcer) RemoveSubject(subject string) error {
	if _, err := e.e.RemoveFilteredGroupingPolicy(0, subject); err != nil {
		return err
	}
	_, err := e.e.RemoveFilteredPolicy(0, subject)
	return err
}
