package core

import (
	"slices"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/authz"
	"github.com/hatchgrid/hatchgrid/core/filter"
)

// filterMode tells whose expression a resolver compiles, which decides
// what the expression may reach.
type filterMode int

const (
	// ruleMode compiles an API rule. Rules are written by whoever manages
	// the collections and, as in PocketBase, reach every collection,
	// hidden field and email.
	ruleMode filterMode = iota
	// clientMode compiles what a caller sends: the filter and sort query
	// parameters, and anything else a client may filter with. For anyone
	// but a superuser it reaches only what the caller could list itself:
	// see restricted.
	clientMode
)

// newRuleResolver resolves the identifiers of c's API rules for req.
func newRuleResolver(app *App, c *Collection, req *RequestInfo) *recordResolver {
	return newRecordResolver(app, c, req, ruleMode)
}

// newClientResolver resolves the identifiers of a filter or sort that req
// sends to c.
func newClientResolver(app *App, c *Collection, req *RequestInfo) *recordResolver {
	return newRecordResolver(app, c, req, clientMode)
}

// restricted reports whether the resolver answers a client filter of
// someone other than a superuser. Such a filter, as in PocketBase, may not
// use @request.* or @collection.* (403), may not name a hidden field (400),
// sees auth records' emails only where emailVisibility is on (elsewhere
// every comparison of the email is false, modifiers included), and joins
// only collections the caller may list: Casbin must allow "list" and the
// listRule must not be null (400 otherwise), and the listRule, compiled
// for the same caller, is ANDed into the join.
func (r *recordResolver) restricted() bool {
	return r.mode == clientMode && !r.req.IsSuperuser()
}

// joinKind is a way a filter path enters another collection. Every join
// of the resolver goes through enter with its kind, and FilterJoins lists
// every kind, so the security tests built from FilterJoins cover them all.
type joinKind int

const (
	joinRelation joinKind = iota
	joinMultiRelation
	joinBackRelation
	joinMultiBackRelation
	joinCollection
	numJoinKinds
)

// FilterJoin describes one way a filter path enters another collection.
type FilterJoin struct {
	// Kind names the join.
	Kind string
	// Multiple is set when the join goes through a relation field that
	// holds several ids.
	Multiple bool
	// Back is set when the relation field belongs to the collection
	// entered and points back at the one the path is in.
	Back bool
	// Root is set when the step starts a path instead of continuing one.
	Root bool
	// Step returns the path step that enters collection target through
	// relation field rel, which belongs to the collection the path is in
	// or, with Back, to target. A root step ignores rel.
	Step func(rel, target string) string
}

// FilterJoins returns every way a filter path can enter another
// collection, in the order of the resolver's join kinds.
func FilterJoins() []FilterJoin {
	relation := func(rel, _ string) string { return rel }
	back := func(rel, target string) string { return target + "_via_" + rel }
	return []FilterJoin{
		joinRelation:          {Kind: "relation", Step: relation},
		joinMultiRelation:     {Kind: "multi-relation", Multiple: true, Step: relation},
		joinBackRelation:      {Kind: "back-relation", Back: true, Step: back},
		joinMultiBackRelation: {Kind: "multi-back-relation", Back: true, Multiple: true, Step: back},
		joinCollection:        {Kind: "collection", Root: true, Step: func(_, target string) string { return "@collection." + target }},
	}
}

// FilterModifiers returns the modifiers a field path takes, "" (none)
// first. The resolver refuses any other, so the security tests built from
// this list cover every modifier it knows.
func FilterModifiers() []string { return []string{"", "lower", "length", "each"} }

func isFieldModifier(m string) bool { return slices.Contains(FilterModifiers(), m) }

// errFilterRoot is PocketBase's answer to a client filter of a
// non-superuser that names @request.* or @collection.*.
func errFilterRoot(root string) error {
	return Errorf(CodeForbidden, "Only superusers can filter by %s.", root)
}

// enter authorizes a join of kind into collection c, whose row the join
// aliases as alias, and returns the condition to AND into the join (empty
// for none). Rules and superusers join anything. A restricted client
// filter may not start from @collection (403); it may join c only if the
// caller may list it, and then only c's records that c's listRule lets the
// caller list.
func (r *recordResolver) enter(kind joinKind, c *Collection, alias string) (string, []any, error) {
	if !r.restricted() {
		return "", nil, nil
	}
	if kind == joinCollection {
		return "", nil, errFilterRoot("@collection")
	}
	ok, err := r.app.allow(requestSubject(r.req), authz.CollectionResource(c.Name), "list")
	if err != nil {
		return "", nil, err
	}
	if !ok || c.ListRule == nil {
		return "", nil, invalidf("a %s path reaches %q, which the caller may not list", FilterJoins()[kind].Kind, c.Name)
	}
	rule := strings.TrimSpace(*c.ListRule)
	if rule == "" {
		return "", nil, nil
	}
	sub := &recordResolver{app: r.app, collection: c, alias: alias, req: r.req, mode: ruleMode, aliases: r.aliases}
	sql, args, err := filter.CompileString(rule, sub, r.app.dialect)
	if err != nil {
		// As in ruleCondition: a rule that no longer compiles denies.
		r.app.logger.Warn("invalid API rule", "collection", c.Name, "action", "list", "error", err)
		return "1 = 0", nil, nil
	}
	return sql, args, nil
}

// restrict ANDs the condition cond (from enter) into the join m.
func restrict(m *filter.Multi, cond string, args []any) *filter.Multi {
	if cond == "" {
		return m
	}
	return &filter.Multi{From: m.From + " AND (" + cond + ")", Args: append(append([]any{}, m.Args...), args...)}
}

// storedIDs resolves <rel>.id, in a restricted client filter, from the
// relation field f of (c, alias) itself rather than by joining its target:
// the ids are the caller's to read, whether or not it may list the target
// (PocketBase answers such a filter too). An empty relation has no id, as
// when joined.
func (r *recordResolver) storedIDs(c *Collection, alias string, f *Field, src *filter.Multi) (filter.Value, error) {
	if f.IsMultiple() {
		return r.fieldPath(c, alias, []string{f.Name}, "each", src)
	}
	col := alias + "." + quote(f.Name)
	m := &filter.Multi{From: "WHERE " + col + " <> ''"}
	if src != nil {
		m = &filter.Multi{From: src.From + " AND " + col + " <> ''", Args: src.Args}
	}
	return filter.Value{SQL: col, Type: filter.TypeText, NotNull: true, Multi: m}, nil
}

// emailGuard is the guard of the email of auth collection c's row alias
// in a restricted client filter: PocketBase lets such a filter match an
// email only where emailVisibility is on, even the caller's own.
func (r *recordResolver) emailGuard(c *Collection, alias string, f *Field) string {
	if !r.restricted() || !c.IsAuth() || f.Name != "email" {
		return ""
	}
	return alias + `."emailVisibility"`
}

// sortExpr is the ORDER BY expression of a resolved sort key: a guarded
// value sorts as NULL where the caller may not read it.
func sortExpr(v filter.Value) string {
	if v.Guard == "" {
		return v.SQL
	}
	return "CASE WHEN " + v.Guard + " THEN " + v.SQL + " END"
}
