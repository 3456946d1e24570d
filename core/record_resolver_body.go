package core

import (
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/filesystem"
	"github.com/hatchgrid/hatchgrid/core/filter"
)

// bodyValue resolves @request.body.<key>:<modifier> given the body's value
// v for key (ok is false when the body has no such key). The body is the
// resolved one (see resolveBody): a field's key holds its final value.
type bodyValue func(r *recordResolver, key string, v any, ok bool) (filter.Value, error)

// bodyModifiers are the modifiers @request.body.<key> takes, "" being the
// value itself; any other is an invalid rule. The rule-bypass matrix in
// apis is generated from this table.
var bodyModifiers = map[string]bodyValue{
	"":        bodyPlain(""),
	"isset":   func(_ *recordResolver, _ string, _ any, ok bool) (filter.Value, error) { return filter.Param(ok), nil },
	"changed": bodyChanged,
	"length":  bodyPlain("length"),
	"each":    bodyPlain("each"),
	"lower":   bodyPlain("lower"),
}

// RequestBodyModifiers returns the modifiers @request.body.<key> takes in
// rules and filters, sorted; "" stands for the value itself.
func RequestBodyModifiers() []string {
	return slices.Sorted(maps.Keys(bodyModifiers))
}

// body resolves @request.body.<key>[:modifier].
func (r *recordResolver) body(key, modifier string) (filter.Value, error) {
	resolve, known := bodyModifiers[modifier]
	if !known {
		return filter.Value{}, invalidf("unsupported modifier :%s", modifier)
	}
	v, ok := r.req.Body[key]
	return resolve(r, key, ruleBodyValue(v), ok)
}

// bodyPlain resolves the value with goValue's modifiers; a key the body
// does not have is "", of length 0.
func bodyPlain(modifier string) bodyValue {
	return func(r *recordResolver, _ string, v any, ok bool) (filter.Value, error) {
		switch {
		case !ok && modifier == "length":
			return filter.Param(0.0), nil
		case !ok:
			return filter.Param(""), nil
		}
		if list, isList := toStringList(v); isList && modifier == "lower" {
			// The list as JSON, lower-cased. (PocketBase gives a value
			// that matches nothing.)
			return r.goValue(strings.ToLower(mustJSON(list)), "")
		}
		return r.goValue(v, modifier)
	}
}

// bodyChanged is true when the body sets key to a value other than the
// stored one (the new record's own, on create: false).
func bodyChanged(r *recordResolver, key string, v any, ok bool) (filter.Value, error) {
	if !ok {
		return filter.Param(false), nil
	}
	f := r.collection.Field(key)
	if f == nil {
		return filter.Param(true), nil
	}
	if f.HoldsFiles() {
		v = uploadNames(r.req.Body[key])
	}
	col := r.alias + "." + quote(f.Name)
	val, err := r.goValue(storageValue(f, v), "")
	if err != nil {
		return filter.Value{}, err
	}
	// Parenthesized: PostgreSQL's IS DISTINCT FROM binds looser than the
	// comparison the rule puts around it.
	return filter.Value{
		SQL:  "(" + r.app.dialect.NullSafeEq(col, val.SQL, true) + ")",
		Args: val.Args, Type: filter.TypeBool, NotNull: true,
	}, nil
}

// ruleBodyValue is a body value as rules see it: JSON documents as text,
// and uploads as PocketBase shows them, {"name","originalName","size"}
// objects in JSON.
func ruleBodyValue(v any) any {
	switch x := v.(type) {
	case json.RawMessage:
		return string(x)
	case *filesystem.File:
		if x == nil {
			return ""
		}
		b, _ := json.Marshal(uploadJSON(x))
		return string(b)
	case []any:
		if !slices.ContainsFunc(x, func(e any) bool { _, up := e.(*filesystem.File); return up }) {
			return x
		}
		out := make([]string, len(x))
		for i, e := range x {
			out[i] = toString(ruleBodyValue(e))
		}
		return out
	}
	return v
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// uploadNames is a file field's value with each upload as its new name.
func uploadNames(v any) any {
	entries := fileEntriesOf(v)
	names := make([]string, len(entries))
	for i, e := range entries {
		names[i] = e.name
	}
	return names
}
