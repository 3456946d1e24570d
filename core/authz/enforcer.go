package authz

import (
	"context"
	_ "embed"
	"fmt"
	"slices"
	"strings"

	"github.com/casbin/casbin/v2"
	"github.com/casbin/casbin/v2/model"
	"github.com/casbin/casbin/v2/persist"
	gormadapter "github.com/casbin/gorm-adapter/v3"
	"gorm.io/gorm"
)

//go:embed model.conf
var modelText string

// Policy is one permission: Subject may (Effect "allow") or may not
// ("deny") perform Action on the resources that Resource matches. A deny
// overrides every allow.
type Policy struct {
	// ID is the policy's row id, stable while the policy is edited.
	ID       int64  `json:"id"`
	Subject  string `json:"subject"`
	Resource string `json:"resource"`
	Action   string `json:"action"`
	Effect   string `json:"effect"`
}

func (p Policy) rule() []string { return []string{p.Subject, p.Resource, p.Action, p.Effect} }

// Enforcer decides requests against the stored policies. It is safe for
// concurrent use.
//
// Its changes are written through its own database handle: on SQLite, whose
// single write connection a transaction holds, do not call them from
// inside a transaction of the same database.
type Enforcer struct {
	e       *casbin.SyncedEnforcer
	db      *gorm.DB
	table   string
	watcher persist.Watcher
}

// New loads the policies kept in table of db. The table must exist: a
// migration creates it, never the adapter.
func New(db *gorm.DB, table string) (*Enforcer, error) {
	db = db.Session(&gorm.Session{NewDB: true})
	gormadapter.TurnOffAutoMigrate(db)
	adapter, err := gormadapter.NewAdapterByDBUseTableName(db, "", table)
	if err != nil {
		return nil, fmt.Errorf("authz: adapter: %w", err)
	}
	m, err := model.NewModelFromString(modelText)
	if err != nil {
		return nil, fmt.Errorf("authz: model: %w", err)
	}
	e, err := casbin.NewSyncedEnforcer(m, adapter)
	if err != nil {
		return nil, fmt.Errorf("authz: load policies: %w", err)
	}
	return &Enforcer{e: e, db: db, table: table}, nil
}

// Allow reports whether subject may perform action on resource: some
// policy of the subject, of one of its roles or of everyone allows it and
// none denies it.
func (e *Enforcer) Allow(subject, resource, action string) (bool, error) {
	return e.e.Enforce(subject, resource, action)
}

// RolesOf returns the names of the roles subject has, directly or through
// inheritance, sorted.
func (e *Enforcer) RolesOf(subject string) ([]string, error) {
	subs, err := e.e.GetImplicitRolesForUser(subject)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range subs {
		if name, ok := RoleName(s); ok {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return slices.Compact(names), nil
}

// Reload reads every policy from the database again: what an instance
// does when another one reports a change.
func (e *Enforcer) Reload() error { return e.e.LoadPolicy() }

// SetWatcher connects e to the other instances: w is told of every change
// e saves (w.Update), and e reloads its policies when w reports a change
// made elsewhere. A Redis watcher fits; w should not report an instance's
// own changes back to it.
func (e *Enforcer) SetWatcher(w persist.Watcher) error {
	if err := e.e.SetWatcher(w); err != nil {
		return err
	}
	e.watcher = w
	return w.SetUpdateCallback(func(string) { _ = e.Reload() })
}

// ruleRow is a row of the policy table.
type ruleRow struct {
	ID                    int64
	Ptype, V0, V1, V2, V3 string
}

func (r ruleRow) policy() Policy {
	return Policy{ID: r.ID, Subject: r.V0, Resource: r.V1, Action: r.V2, Effect: r.V3}
}

// Policies returns the stored policies in the order they were added.
func (e *Enforcer) Policies(ctx context.Context) ([]Policy, error) {
	var rows []ruleRow
	if err := e.db.WithContext(ctx).Table(e.table).Where("ptype = ?", "p").Order("id").Find(&rows).Error; err != nil {
		return nil, err
	}
	out := make([]Policy, len(rows))
	for i, r := range rows {
		out[i] = r.policy()
	}
	return out, nil
}

// Policy returns the policy id, or ErrNotFound.
func (e *Enforcer) Policy(ctx context.Context, id int64) (Policy, error) {
	var rows []ruleRow
	err := e.db.WithContext(ctx).Table(e.table).Where("ptype = ? AND id = ?", "p", id).Limit(1).Find(&rows).Error
	if err != nil {
		return Policy{}, err
	}
	if len(rows) == 0 {
		return Policy{}, ErrNotFound
	}
	return rows[0].policy(), nil
}

func (e *Enforcer) policyID(ctx context.Context, p Policy) (int64, error) {
	var ids []int64
	err := e.db.WithContext(ctx).Table(e.table).
		Where("ptype = ? AND v0 = ? AND v1 = ? AND v2 = ? AND v3 = ?", "p", p.Subject, p.Resource, p.Action, p.Effect).
		Limit(1).Pluck("id", &ids).Error
	if err != nil {
		return 0, err
	}
	if len(ids) == 0 {
		return 0, ErrNotFound
	}
	return ids[0], nil
}

// AddPolicy validates and stores p; it returns p with its id, or
// ErrExists when the same policy is already there.
func (e *Enforcer) AddPolicy(ctx context.Context, p Policy) (Policy, error) {
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	added, err := e.e.AddPolicy(p.rule())
	if err != nil {
		return Policy{}, err
	}
	if !added {
		return Policy{}, ErrExists
	}
	p.ID, err = e.policyID(ctx, p)
	return p, err
}

// UpdatePolicy replaces the policy id by p, keeping its id.
func (e *Enforcer) UpdatePolicy(ctx context.Context, id int64, p Policy) (Policy, error) {
	old, err := e.Policy(ctx, id)
	if err != nil {
		return Policy{}, err
	}
	if err := p.Validate(); err != nil {
		return Policy{}, err
	}
	p.ID = id
	if p == old {
		return p, nil
	}
	has, err := e.e.HasPolicy(p.rule())
	if err != nil {
		return Policy{}, err
	}
	if has {
		return Policy{}, ErrExists
	}
	err = e.applyStored(func() (bool, error) { return e.e.UpdatePolicy(old.rule(), p.rule()) })
	return p, err
}

// RemovePolicy deletes the policy id.
func (e *Enforcer) RemovePolicy(ctx context.Context, id int64) error {
	old, err := e.Policy(ctx, id)
	if err != nil {
		return err
	}
	return e.applyStored(func() (bool, error) { return e.e.RemovePolicy(old.rule()) })
}

// applyStored runs a change of a rule that is in the database. Casbin
// writes the database first, then reports false when the rule was missing
// from memory (another instance added it and no watcher said so): the
// database is then right and memory is reloaded from it, and the other
// instances are told, which Casbin skips in that case.
func (e *Enforcer) applyStored(change func() (bool, error)) error {
	ok, err := change()
	if err != nil || ok {
		return err
	}
	if err := e.Reload(); err != nil {
		return err
	}
	if e.watcher != nil {
		return e.watcher.Update()
	}
	return nil
}

// Role is a role as the stored rules define it: the roles whose policies
// it inherits and the subjects that have it.
type Role struct {
	Name     string   `json:"name"`
	Inherits []string `json:"inherits"`
	// Members are the subjects given the role: record subjects or guest.
	Members []string `json:"members"`
}

// Roles returns every role that a policy or a role assignment names,
// sorted by name.
func (e *Enforcer) Roles() ([]Role, error) {
	groups, err := e.e.GetGroupingPolicy()
	if err != nil {
		return nil, err
	}
	policies, err := e.e.GetPolicy()
	if err != nil {
		return nil, err
	}
	byName := map[string]*Role{}
	get := func(subject string) *Role {
		name, ok := RoleName(subject)
		if !ok {
			return nil
		}
		r := byName[name]
		if r == nil {
			r = &Role{Name: name, Inherits: []string{}, Members: []string{}}
			byName[name] = r
		}
		return r
	}
	for _, g := range groups {
		parent := get(g[1])
		if parent == nil {
			continue
		}
		if child := get(g[0]); child != nil {
			child.Inherits = append(child.Inherits, parent.Name)
		} else {
			parent.Members = append(parent.Members, g[0])
		}
	}
	for _, p := range policies {
		get(p[0])
	}
	out := make([]Role, 0, len(byName))
	for _, r := range byName {
		slices.Sort(r.Inherits)
		slices.Sort(r.Members)
		out = append(out, *r)
	}
	slices.SortFunc(out, func(a, b Role) int { return strings.Compare(a.Name, b.Name) })
	return out, nil
}

// RoleByName returns the role called name, or ErrNotFound.
func (e *Enforcer) RoleByName(name string) (Role, error) {
	roles, err := e.Roles()
	if err != nil {
		return Role{}, err
	}
	for _, r := range roles {
		if r.Name == name {
			return r, nil
		}
	}
	return Role{}, ErrNotFound
}
