package core

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hatchgrid/hatchgrid/core/filter"
)

// recordResolver resolves filter identifiers against a collection's table
// (aliased as alias) and a request, for an API rule or a client's filter
// (see filterMode).
type recordResolver struct {
	app        *App
	collection *Collection
	alias      string
	req        *RequestInfo
	mode       filterMode
	// aliases counts the table aliases made so far, shared with the
	// resolvers of the listRules joined into a client filter.
	aliases *int
}

var pathPartPattern = regexp.MustCompile(`^\w+$`)

func newRecordResolver(app *App, c *Collection, req *RequestInfo, mode filterMode) *recordResolver {
	if req == nil {
		req = &RequestInfo{}
	}
	return &recordResolver{app: app, collection: c, alias: quote(c.Name), req: req, mode: mode, aliases: new(int)}
}

func (r *recordResolver) nextAlias() string {
	*r.aliases++
	return fmt.Sprintf(`"__r%d"`, *r.aliases)
}

// Resolve implements filter.Resolver.
func (r *recordResolver) Resolve(ident string) (filter.Value, error) {
	if rest, ok := strings.CutPrefix(ident, "@collection."); ok {
		if r.restricted() {
			// Before the lookup, so that the answer tells nothing of
			// which collections exist.
			return filter.Value{}, errFilterRoot("@collection")
		}
		// The collection name may carry an alias ("posts:p.title"); the
		// modifier comes after the field path.
		name, fieldPath, _ := strings.Cut(rest, ".")
		fieldPath, modifier, _ := strings.Cut(fieldPath, ":")
		return r.otherCollection(name+"."+fieldPath, modifier)
	}
	path, modifier, _ := strings.Cut(ident, ":")
	switch {
	case strings.HasPrefix(path, "@request.") && r.restricted():
		return filter.Value{}, errFilterRoot("@request")
	case strings.HasPrefix(path, "@request."):
		return r.request(strings.TrimPrefix(path, "@request."), modifier)
	case strings.HasPrefix(path, "@"):
		if modifier != "" {
			return filter.Value{}, invalidf("modifiers do not apply to %s", path)
		}
		return r.macro(path)
	}
	return r.fieldPath(r.collection, r.alias, strings.Split(path, "."), modifier, nil)
}

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", filter.ErrInvalid, fmt.Sprintf(format, args...))
}

// macro resolves the date macros, PocketBase's, in UTC.
func (r *recordResolver) macro(name string) (filter.Value, error) {
	now := r.app.Now()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	month := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	year := time.Date(now.Year(), 1, 1, 0, 0, 0, 0, time.UTC)
	switch name {
	case "@now":
		return filter.Param(FormatTime(now)), nil
	case "@yesterday":
		return filter.Param(FormatTime(now.AddDate(0, 0, -1))), nil
	case "@tomorrow":
		return filter.Param(FormatTime(now.AddDate(0, 0, 1))), nil
	case "@second":
		return filter.Param(float64(now.Second())), nil
	case "@minute":
		return filter.Param(float64(now.Minute())), nil
	case "@hour":
		return filter.Param(float64(now.Hour())), nil
	case "@day":
		return filter.Param(float64(now.Day())), nil
	case "@month":
		return filter.Param(float64(now.Month())), nil
	case "@year":
		return filter.Param(float64(now.Year())), nil
	case "@weekday":
		return filter.Param(float64(now.Weekday())), nil
	case "@todayStart":
		return filter.Param(FormatTime(day)), nil
	case "@todayEnd":
		return filter.Param(FormatTime(day.Add(24*time.Hour - time.Millisecond))), nil
	case "@monthStart":
		return filter.Param(FormatTime(month)), nil
	case "@monthEnd":
		return filter.Param(FormatTime(month.AddDate(0, 1, 0).Add(-time.Millisecond))), nil
	case "@yearStart":
		return filter.Param(FormatTime(year)), nil
	case "@yearEnd":
		return filter.Param(FormatTime(year.AddDate(1, 0, 0).Add(-time.Millisecond))), nil
	}
	return filter.Value{}, invalidf("unknown identifier %s", name)
}

// request resolves @request.*.
func (r *recordResolver) request(path, modifier string) (filter.Value, error) {
	head, rest, _ := strings.Cut(path, ".")
	switch head {
	case "method":
		return filter.Param(strings.ToUpper(r.req.Method)), nil
	case "context":
		ctx := r.req.Context
		if ctx == "" {
			ctx = "default"
		}
		return filter.Param(ctx), nil
	case "auth":
		return r.auth(rest, modifier)
	case "query", "headers":
		src := r.req.Query
		if head == "headers" {
			src = r.req.Headers
		}
		v, ok := src[rest]
		if modifier == "isset" {
			return filter.Param(ok), nil
		}
		if err := noModifier(modifier, "lower"); err != nil {
			return filter.Value{}, err
		}
		return lower(filter.Param(v), modifier, r), nil
	case "body":
		return r.body(rest, modifier)
	}
	return filter.Value{}, invalidf("unknown identifier @request.%s", path)
}

func noModifier(modifier string, allowed ...string) error {
	if modifier == "" {
		return nil
	}
	for _, a := range allowed {
		if modifier == a {
			return nil
		}
	}
	return invalidf("unsupported modifier :%s", modifier)
}

func lower(v filter.Value, modifier string, r *recordResolver) filter.Value {
	if modifier != "lower" {
		return v
	}
	if v.Type != filter.TypeText {
		v.SQL = r.app.dialect.CastText(v.SQL)
	}
	v.SQL = "LOWER(" + v.SQL + ")"
	v.Type = filter.TypeText
	return v
}

// auth resolves @request.auth.<field>[.<relation path>].
func (r *recordResolver) auth(path, modifier string) (filter.Value, error) {
	if path == "roles" && !r.authHasField(path) {
		return r.authRoles(modifier)
	}
	parts := strings.Split(path, ".")
	if r.req.Auth == nil {
		// A guest: every @request.auth.* is empty.
		if modifier == "length" {
			return filter.Param(0.0), nil
		}
		return filter.Param(""), nil
	}
	if len(parts) > 1 {
		// A relation path from the auth record: resolve it against the auth
		// record's row.
		colName, _ := r.req.Auth["collectionName"].(string)
		c, err := r.app.collections.Find(colName)
		if err != nil {
			return filter.Value{}, invalidf("unknown auth collection")
		}
		alias := r.nextAlias()
		src := &filter.Multi{From: fmt.Sprintf("FROM %s %s WHERE %s.\"id\" = ?", quote(c.Name), alias, alias), Args: []any{r.req.authID()}}
		return r.fieldPath(c, alias, parts, modifier, src)
	}
	v, ok := r.req.Auth[parts[0]]
	if !ok {
		return filter.Param(""), nil
	}
	return r.goValue(v, modifier)
}

// goValue turns a Go value from the request into a parameter, with the
// :length, :each and :lower modifiers.
func (r *recordResolver) goValue(v any, modifier string) (filter.Value, error) {
	if list, ok := toStringList(v); ok {
		switch modifier {
		case "length":
			return filter.Param(float64(len(list))), nil
		case "each":
			// A set of literal values: a VALUES list the comparison ranges over.
			if len(list) == 0 {
				// No rows; the value is typed so that PostgreSQL can type
				// the parameter it is compared with.
				return filter.Value{SQL: "CAST(NULL AS TEXT)", Type: filter.TypeText, Multi: &filter.Multi{From: "WHERE 1 = 0"}}, nil
			}
			alias := r.nextAlias()
			rows := make([]string, len(list))
			args := make([]any, len(list))
			for i, s := range list {
				rows[i] = "SELECT ? AS v"
				args[i] = s
			}
			from := fmt.Sprintf("FROM (%s) %s WHERE 1 = 1", strings.Join(rows, " UNION ALL "), alias)
			return filter.Value{SQL: alias + ".v", Type: filter.TypeText, NotNull: true, Multi: &filter.Multi{From: from, Args: args}}, nil
		}
		b, _ := json.Marshal(list)
		return filter.Param(string(b)), nil
	}
	if err := noModifier(modifier, "lower", "length"); err != nil {
		return filter.Value{}, err
	}
	switch x := v.(type) {
	case json.Number:
		f, _ := x.Float64()
		v = f
	case int:
		v = float64(x)
	case int64:
		v = float64(x)
	case map[string]any:
		b, _ := json.Marshal(x)
		v = string(b)
	}
	if modifier == "length" {
		if s, ok := v.(string); ok {
			return filter.Param(float64(len([]rune(s)))), nil
		}
	}
	return lower(filter.Param(v), modifier, r), nil
}

func toStringList(v any) ([]string, bool) {
	switch x := v.(type) {
	case []string:
		return x, true
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			out = append(out, fmt.Sprint(e))
		}
		return out, true
	}
	return nil, false
}

// otherCollection resolves @collection.<name>.<path>: every row of another
// collection, compared with any/all semantics.
func (r *recordResolver) otherCollection(path, modifier string) (filter.Value, error) {
	name, rest, ok := strings.Cut(path, ".")
	if !ok {
		return filter.Value{}, invalidf("@collection needs a field")
	}
	// "@collection.posts:alias.field": every reference is its own
	// subquery anyway, so the alias only has to be accepted.
	name, _, _ = strings.Cut(name, ":")
	c, err := r.app.collections.Find(name)
	if err != nil || c.IsView() && c.ViewQuery == "" {
		return filter.Value{}, invalidf("unknown collection %q", name)
	}
	alias := r.nextAlias()
	cond, args, err := r.enter(joinCollection, c, alias)
	if err != nil {
		return filter.Value{}, err
	}
	src := restrict(&filter.Multi{From: fmt.Sprintf("FROM %s %s WHERE 1 = 1", quote(c.Name), alias)}, cond, args)
	return r.fieldPath(c, alias, strings.Split(rest, "."), modifier, src)
}

// fieldPath resolves a field path in collection c, whose row is aliased
// alias, inside the row source src (nil for the main record).
func (r *recordResolver) fieldPath(c *Collection, alias string, parts []string, modifier string, src *filter.Multi) (filter.Value, error) {
	for _, p := range parts {
		if !pathPartPattern.MatchString(p) {
			return filter.Value{}, invalidf("invalid field path %q", strings.Join(parts, "."))
		}
	}
	if !isFieldModifier(modifier) {
		return filter.Value{}, invalidf("unsupported modifier :%s", modifier)
	}
	name := parts[0]

	// Back-relation: <collection>_via_<field>.
	if target, via, ok := strings.Cut(name, "_via_"); ok && c.Field(name) == nil {
		return r.backRelation(c, alias, target, via, parts[1:], modifier, src)
	}

	f := c.Field(name)
	if f == nil {
		return filter.Value{}, invalidf("unknown field %q", name)
	}
	if isCredential(c, f) {
		// Not even a rule may read a credential: rules are written by staff
		// with admin:schema too, and a rule that tests a superuser's token
		// key is an oracle for it (docs/security.md).
		return filter.Value{}, invalidf("field %q cannot be used in filters or rules", name)
	}
	if f.Hidden && r.restricted() {
		return filter.Value{}, invalidf("field %q is hidden", name)
	}
	col := alias + "." + quote(f.Name)

	traits := f.Kind().Traits()
	if len(parts) > 1 {
		switch {
		case traits.Relation:
			return r.relation(c, alias, f, parts[1:], modifier, src)
		case traits.Document:
			return r.withSource(r.jsonPath(col, parts[1:], modifier), src)
		}
		return filter.Value{}, invalidf("field %q has no sub-fields", name)
	}

	v := filter.Value{SQL: col, Type: fieldFilterType(f), NotNull: !traits.Document}
	switch modifier {
	case "":
	case "lower":
		v = lower(v, modifier, r)
	case "length":
		if f.IsMultiple() {
			v = filter.Value{SQL: r.app.dialect.JSONArrayLength(col), Type: filter.TypeNumber, NotNull: true}
		} else {
			v = filter.Value{SQL: "LENGTH(" + col + ")", Type: filter.TypeNumber, NotNull: true}
		}
	case "each":
		if !f.IsMultiple() {
			return filter.Value{}, invalidf(":each applies to fields with several values")
		}
		el := r.nextAlias()
		from, value := r.app.dialect.JSONEach(col, el)
		inner := &filter.Multi{From: "FROM " + from + " WHERE 1 = 1"}
		if src != nil {
			inner = &filter.Multi{From: strings.Replace(src.From, " WHERE ", ", "+from+" WHERE ", 1), Args: src.Args}
		}
		return filter.Value{SQL: value, Type: filter.TypeText, NotNull: true, Multi: inner}, nil
	default:
		return filter.Value{}, invalidf("unsupported modifier :%s", modifier)
	}
	v.Guard = r.emailGuard(c, alias, f)
	return r.withSource(v, src)
}

func (r *recordResolver) withSource(v filter.Value, src *filter.Multi) (filter.Value, error) {
	if src != nil {
		v.Multi = src
	}
	return v, nil
}

// relation follows a relation field f of (c, alias) into its target.
func (r *recordResolver) relation(c *Collection, alias string, f *Field, rest []string, modifier string, src *filter.Multi) (filter.Value, error) {
	target, err := r.app.collections.Find(f.Options.CollectionID)
	if err != nil {
		return filter.Value{}, invalidf("relation %q points to a missing collection", f.Name)
	}
	if r.restricted() && len(rest) == 1 && rest[0] == "id" && modifier == "" {
		return r.storedIDs(c, alias, f, src)
	}
	t := r.nextAlias()
	col := alias + "." + quote(f.Name)
	kind := joinRelation
	var join string // a FROM item and its join condition
	if f.IsMultiple() {
		kind = joinMultiRelation
		el := r.nextAlias()
		from, value := r.app.dialect.JSONEach(col, el)
		join = fmt.Sprintf("%s JOIN %s %s ON %s.\"id\" = %s", from, quote(target.Name), t, t, value)
	} else {
		join = fmt.Sprintf("%s %s", quote(target.Name), t)
	}
	var next *filter.Multi
	cond := ""
	if !f.IsMultiple() {
		cond = fmt.Sprintf("%s.\"id\" = %s", t, col)
	}
	if src == nil {
		where := "1 = 1"
		if cond != "" {
			where = cond
		}
		next = &filter.Multi{From: "FROM " + join + " WHERE " + where}
	} else {
		from := strings.Replace(src.From, " WHERE ", ", "+join+" WHERE ", 1)
		if cond != "" {
			from += " AND " + cond
		}
		next = &filter.Multi{From: from, Args: src.Args}
	}
	cond, args, err := r.enter(kind, target, t)
	if err != nil {
		return filter.Value{}, err
	}
	return r.fieldPath(target, t, rest, modifier, restrict(next, cond, args))
}

// backRelation follows <target>_via_<via>: records of target whose relation
// field via points at (c, alias).
func (r *recordResolver) backRelation(c *Collection, alias, targetName, via string, rest []string, modifier string, src *filter.Multi) (filter.Value, error) {
	target, err := r.app.collections.Find(targetName)
	if err != nil {
		return filter.Value{}, invalidf("unknown collection %q", targetName)
	}
	f := target.Field(via)
	if f == nil || !f.RelatesTo(c.ID) {
		return filter.Value{}, invalidf("%s.%s is not a relation to %s", targetName, via, c.Name)
	}
	if len(rest) == 0 {
		return filter.Value{}, invalidf("a back-relation needs a field")
	}
	t := r.nextAlias()
	col := t + "." + quote(f.Name)
	kind := joinBackRelation
	var join, cond string
	if f.IsMultiple() {
		kind = joinMultiBackRelation
		el := r.nextAlias()
		from, value := r.app.dialect.JSONEach(col, el)
		join = fmt.Sprintf("%s %s, %s", quote(target.Name), t, from)
		cond = fmt.Sprintf("%s = %s.\"id\"", value, alias)
	} else {
		join = fmt.Sprintf("%s %s", quote(target.Name), t)
		cond = fmt.Sprintf("%s = %s.\"id\"", col, alias)
	}
	var next *filter.Multi
	if src == nil {
		next = &filter.Multi{From: "FROM " + join + " WHERE " + cond}
	} else {
		next = &filter.Multi{From: strings.Replace(src.From, " WHERE ", ", "+join+" WHERE ", 1) + " AND " + cond, Args: src.Args}
	}
	ruleSQL, ruleArgs, err := r.enter(kind, target, t)
	if err != nil {
		return filter.Value{}, err
	}
	return r.fieldPath(target, t, rest, modifier, restrict(next, ruleSQL, ruleArgs))
}

// jsonPath extracts a key path from a JSON column.
func (r *recordResolver) jsonPath(col string, keys []string, modifier string) filter.Value {
	sql, asText := r.app.dialect.JSONExtract(col, keys)
	v := filter.Value{SQL: sql, Type: filter.TypeUnknown}
	if asText {
		v.Type = filter.TypeText
	}
	if modifier == "lower" {
		v = lower(v, modifier, r)
	}
	return v
}

func fieldFilterType(f *Field) filter.Type {
	if f.IsMultiple() {
		return filter.TypeText
	}
	return f.Kind().FilterType(f)
}

// storageValue is v as it would be stored in f's column, for :changed.
func storageValue(f *Field, v any) any {
	return columnValue(f, normalize(f, v))
}

// isCredential reports whether f of c holds a credential (a password hash
// or an auth record's token key), which no filter or rule may read.
func isCredential(c *Collection, f *Field) bool {
	return f.IsSecret() || (c.IsAuth() && f.Name == "tokenKey")
}
