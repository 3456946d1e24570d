package core

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/filesystem"
)

// A request body becomes the values rules, validation and hooks see in one
// place, resolveBody, as PocketBase's Record.ReplaceModifiers does: every
// key that names a field, with or without a modifier, is replaced by the
// field's final value under the field's name. Whatever the rules decide
// is what gets written, however the client spelled it.

// KeyModifier is a modifier of a body key: "field+" appends (or adds to a
// number), "+field" prepends, "field-" removes (or subtracts).
type KeyModifier string

// The key modifiers of a request body.
const (
	ModifierAppend  KeyModifier = "append"
	ModifierPrepend KeyModifier = "prepend"
	ModifierRemove  KeyModifier = "remove"
)

// Key is the body key that applies m to the field named field.
func (m KeyModifier) Key(field string) string {
	switch m {
	case ModifierAppend:
		return field + "+"
	case ModifierPrepend:
		return "+" + field
	case ModifierRemove:
		return field + "-"
	}
	return field
}

// KeyModifiers returns every key modifier.
func KeyModifiers() []KeyModifier {
	return []KeyModifier{ModifierAppend, ModifierPrepend, ModifierRemove}
}

// splitModifier splits "field+", "+field" and "field-" into the field name
// and its modifier; plain keys have none.
func splitModifier(key string) (string, KeyModifier) {
	switch {
	case strings.HasSuffix(key, "+"):
		return strings.TrimSuffix(key, "+"), ModifierAppend
	case strings.HasPrefix(key, "+"):
		return strings.TrimPrefix(key, "+"), ModifierPrepend
	case strings.HasSuffix(key, "-"):
		return strings.TrimSuffix(key, "-"), ModifierRemove
	}
	return key, ""
}

// bodyKeys returns the keys of a submitted body in the order they apply:
// plain keys before modifiers (PocketBase applies shorter keys first),
// each group sorted so that the result does not depend on map order.
func bodyKeys(body map[string]any) []string {
	keys := slices.Sorted(maps.Keys(body))
	slices.SortStableFunc(keys, func(a, b string) int {
		_, ma := splitModifier(a)
		_, mb := splitModifier(b)
		return boolCmp(ma != "", mb != "")
	})
	return keys
}

func boolCmp(a, b bool) int {
	switch {
	case a == b:
		return 0
	case a:
		return 1
	}
	return -1
}

// errUnsupportedModifier answers a modifier on a field that does not
// take it.
func errUnsupportedModifier(f *Field, key string) FieldError {
	return FieldError{Code: "validation_unsupported_modifier",
		Message: fmt.Sprintf("%s fields do not take the %q modifier.", f.Type, key)}
}

// resolveBody returns body as the final values it gives rec's fields,
// starting from rec's values (the stored record of an update, the defaults
// of a create): each key naming a field, plain or with a modifier that the
// field takes, is replaced by the field's value once every such key is
// applied, under the field's name. Keys that name no field stay as they
// are (passwordConfirm, oldPassword, unknown keys). As in PocketBase,
// hidden fields are dropped unless superuser (an auth collection's
// password excepted), and uploads sent for a field that is not a file
// field are dropped. A modifier on a field that does not take it is
// left in the body unapplied and reported in errs by field name.
func resolveBody(rec *Record, body map[string]any, superuser bool) (out map[string]any, errs map[string]FieldError) {
	out = make(map[string]any, len(body))
	final := map[string]any{}
	for _, key := range bodyKeys(body) {
		v := body[key]
		name, mod := splitModifier(key)
		f := rec.collection.Field(name)
		switch {
		case f == nil:
			out[key] = v
			continue
		case f.Hidden && !superuser && !(rec.collection.IsAuth() && f.Name == "password"):
			continue
		case !f.HoldsFiles() && holdsUpload(v):
			continue
		case mod != "" && !slices.Contains(f.Kind().Modifiers(), mod):
			if errs == nil {
				errs = map[string]FieldError{}
			}
			if _, seen := errs[f.Name]; !seen {
				errs[f.Name] = errUnsupportedModifier(f, key)
			}
			out[key] = v
			continue
		}
		cur, ok := final[f.Name]
		if !ok {
			cur = rec.data[f.Name]
		}
		final[f.Name] = resolveValue(f, cur, mod, v)
	}
	maps.Copy(out, final)
	return out, errs
}

// resolveValue is field f's value after applying v with modifier mod to
// cur, normalized as the record will hold it (file fields keep uploads as
// *filesystem.File next to stored names); the field's kind decides.
func resolveValue(f *Field, cur any, mod KeyModifier, v any) any {
	return f.Kind().Resolve(f, cur, mod, v)
}

// editList applies a list modifier: append, prepend, or remove every
// element equal to one of change.
func editList[T any](cur []T, mod KeyModifier, change []T, eq func(a, b T) bool) []T {
	switch mod {
	case ModifierAppend:
		return append(slices.Clone(cur), change...)
	case ModifierPrepend:
		return append(slices.Clone(change), cur...)
	case ModifierRemove:
		return slices.DeleteFunc(slices.Clone(cur), func(x T) bool {
			return slices.ContainsFunc(change, func(c T) bool { return eq(x, c) })
		})
	}
	return change
}

// resolveFiles resolves a file field: a list of stored names and uploads
// ([]any of string and *filesystem.File), or, for a single-file field,
// its one value ("" when empty).
func resolveFiles(f *Field, cur any, mod KeyModifier, v any) any {
	next := uniqueEntries(editList(fileEntriesOf(cur), mod, fileEntriesOf(v), func(a, b fileEntry) bool { return a.name == b.name }))
	values := make([]any, len(next))
	for i, e := range next {
		values[i] = e.name
		if e.upload != nil {
			values[i] = e.upload
		}
	}
	if f.IsMultiple() {
		return values
	}
	if len(values) == 0 {
		return ""
	}
	return values[len(values)-1]
}

// ResolveBody returns body as the final values of the record it writes,
// as rules, validation and hooks see it: the record id of c when id is
// set (an update; the stored values are read without any rule), the
// defaults of a new record otherwise (or when id is not stored). See
// resolveBody; modifiers a field does not take stay in the body for
// Create or Update to refuse. The HTTP layer calls it before the request
// hooks; Create and Update resolve again, which leaves a resolved body
// unchanged. Superusers, as the caller of ctx, may set hidden fields.
func (s *RecordService) ResolveBody(ctx context.Context, c *Collection, id string, body map[string]any) (map[string]any, error) {
	base := NewRecord(c)
	if id != "" {
		rec, err := s.Find(ctx, c, id)
		switch {
		case err == nil:
			base = rec
		case ErrorCodeOf(err) != CodeNotFound:
			return nil, err
		}
	}
	out, _ := resolveBody(base, body, isSuperuser(RequestFrom(ctx)))
	return out, nil
}

// withBody returns a copy of req whose body is body; req itself may be
// an event's and is never changed.
func (req *RequestInfo) withBody(body map[string]any) *RequestInfo {
	out := &RequestInfo{}
	if req != nil {
		*out = *req
	}
	out.Body = body
	return out
}

// uploadJSON is how an upload appears to rules (@request.body.<file
// field>), PocketBase's shape.
func uploadJSON(f *filesystem.File) map[string]any {
	return map[string]any{"name": f.Name, "originalName": f.OriginalName, "size": f.Size}
}
