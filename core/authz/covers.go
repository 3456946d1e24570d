package authz

import "strings"

// Covers reports whether subject is allowed everything p names: every
// resource its Resource pattern matches, with every action its Action
// names ("*" standing for each action of the resource's kind), by the
// policies of subject, of its roles and of everyone, deny included. It is
// the ceiling of delegated policy management: a caller who is not a
// superuser may only grant, deny or remove what it is allowed itself.
//
// A pattern is covered only by a pattern at least as broad, so that a
// collection created later cannot fall outside the granter's rights:
// holding collection:post* covers collection:posts, not collection:*,
// even when every collection that exists today starts with "post".
func (e *Enforcer) Covers(subject string, p Policy) (bool, error) {
	subjects, err := e.e.GetImplicitRolesForUser(subject)
	if err != nil {
		return false, err
	}
	subjects = append(subjects, subject, Everyone)
	var allows, denies [][]string
	for _, sub := range subjects {
		rules, err := e.e.GetFilteredPolicy(0, sub)
		if err != nil {
			return false, err
		}
		for _, r := range rules {
			if r[3] == EffectDeny {
				denies = append(denies, r)
			} else {
				allows = append(allows, r)
			}
		}
	}
	for _, d := range denies {
		if patternsMeet(d[1], p.Resource) && actionsMeet(d[2], p.Action) {
			return false, nil
		}
	}
	for _, action := range actionsOf(p.Resource, p.Action) {
		covered := false
		for _, a := range allows {
			if patternCovers(a[1], p.Resource) && (a[2] == "*" || a[2] == action) {
				covered = true
				break
			}
		}
		if !covered {
			return false, nil
		}
	}
	return true, nil
}

// PermissionsOf returns the policies that apply to the role called name:
// its own and those of the roles it inherits.
func (e *Enforcer) PermissionsOf(name string) ([]Policy, error) {
	rules, err := e.e.GetImplicitPermissionsForUser(RoleSubject(name))
	if err != nil {
		return nil, err
	}
	out := make([]Policy, 0, len(rules))
	for _, r := range rules {
		out = append(out, Policy{Subject: r[0], Resource: r[1], Action: r[2], Effect: r[3]})
	}
	return out, nil
}

// actionsOf lists the actions a policy's action stands for on resource:
// itself, or for "*" every action of the resource's kind, and "*" itself
// for kinds whose actions are not known.
func actionsOf(resource, action string) []string {
	if action != "*" {
		return []string{action}
	}
	switch {
	case strings.HasPrefix(resource, collectionPrefix):
		return CollectionActions
	case strings.HasPrefix(resource, adminPrefix):
		return []string{ActionRead, ActionWrite}
	}
	return []string{"*"}
}

// patternCovers reports whether every resource that pattern r matches is
// matched by pattern q. Patterns are exact names or end in one "*"
// (Casbin's keyMatch: a prefix).
func patternCovers(q, r string) bool {
	if q == "*" {
		return true
	}
	if r == "*" {
		return false
	}
	if qp, ok := strings.CutSuffix(q, "*"); ok {
		return strings.HasPrefix(strings.TrimSuffix(r, "*"), qp)
	}
	return q == r
}

// patternsMeet reports whether some resource matches both patterns.
func patternsMeet(a, b string) bool {
	ap, aWild := strings.CutSuffix(a, "*")
	bp, bWild := strings.CutSuffix(b, "*")
	switch {
	case aWild && bWild:
		return strings.HasPrefix(ap, bp) || strings.HasPrefix(bp, ap)
	case aWild:
		return strings.HasPrefix(b, ap)
	case bWild:
		return strings.HasPrefix(a, bp)
	}
	return a == b
}

func actionsMeet(a, b string) bool { return a == "*" || b == "*" || a == b }
