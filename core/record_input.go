package core

import (
	"fmt"
	"slices"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/security"
)

// apply copies submitted values onto rec: "field+" appends (or adds to a
// number), "+field" prepends, "field-" removes (or subtracts). Unknown keys
// and fields set by the system are ignored.
func (s *RecordService) apply(rec *Record, body map[string]any, isNew bool) error {
	for _, key := range bodyKeys(body) {
		v := body[key]
		name, mod := splitModifier(key)
		f := rec.collection.Field(name)
		if f == nil || f.Type == FieldAutodate || (rec.collection.IsAuth() && f.Name == "tokenKey") {
			continue
		}
		if f.Type == FieldFile || holdsUpload(v) {
			continue // applyFiles; uploads for other fields are ignored
		}
		if f.Name == "id" {
			if !isNew {
				continue
			}
			id := toString(v)
			if id != "" && (len(id) != 15 || strings.Trim(id, security.IDAlphabet) != "") {
				return Invalid("Failed to create record.", map[string]FieldError{
					"id": {Code: "validation_invalid_format", Message: "Invalid value format."},
				})
			}
		}
		if f.Type == FieldPassword {
			if rec.collection.IsAuth() && toString(body["passwordConfirm"]) != toString(v) {
				return Invalid("Failed to save record.", map[string]FieldError{
					"passwordConfirm": {Code: "validation_values_mismatch", Message: "Values don't match."},
				})
			}
			if err := s.setPassword(rec, f, v); err != nil {
				return err
			}
			continue
		}
		switch {
		case mod == "":
			rec.data[f.Name] = normalize(f, v)
		case f.Type == FieldNumber:
			delta := toFloat(v)
			if mod == "remove" {
				delta = -delta
			}
			rec.data[f.Name] = toFloat(rec.data[f.Name]) + delta
		case f.Type == FieldSelect || f.Type == FieldRelation || f.Type == FieldFile:
			current := valuesOf(rec.data[f.Name])
			change := toStrings(v)
			var next []string
			switch mod {
			case "append":
				next = append(append([]string{}, current...), change...)
			case "prepend":
				next = append(append([]string{}, change...), current...)
			case "remove":
				next = slices.DeleteFunc(append([]string{}, current...), func(x string) bool { return slices.Contains(change, x) })
			}
			rec.data[f.Name] = normalize(f, uniqueStrings(next))
		}
	}
	return nil
}

// bodyKeys returns the keys of a submitted body in the order they apply:
// plain keys before their modifiers, each group sorted.
func bodyKeys(body map[string]any) []string {
	keys := make([]string, 0, len(body))
	for k := range body {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	slices.SortStableFunc(keys, func(a, b string) int { return boolCmp(isModifier(a), isModifier(b)) })
	return keys
}

// splitModifier splits "field+", "+field" and "field-" into the field name
// and "append", "prepend" or "remove"; plain keys have no modifier.
func splitModifier(key string) (name, mod string) {
	switch {
	case strings.HasSuffix(key, "+"):
		return strings.TrimSuffix(key, "+"), "append"
	case strings.HasPrefix(key, "+"):
		return strings.TrimPrefix(key, "+"), "prepend"
	case strings.HasSuffix(key, "-"):
		return strings.TrimSuffix(key, "-"), "remove"
	}
	return key, ""
}

func isModifier(k string) bool {
	return strings.HasSuffix(k, "+") || strings.HasPrefix(k, "+") || strings.HasSuffix(k, "-")
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

// setPassword hashes a submitted password into a password field; for auth
// collections it also rotates the token key.
func (s *RecordService) setPassword(rec *Record, f *Field, v any) error {
	plain := toString(v)
	if plain == "" {
		return nil
	}
	min := 0
	if f.Options.Min != nil {
		min = int(*f.Options.Min)
	}
	if len([]rune(plain)) < min {
		return Invalid("Failed to save record.", map[string]FieldError{
			f.Name: {Code: "validation_min_text_constraint", Message: fmt.Sprintf("Must be at least %d character(s).", min)},
		})
	}
	if len(plain) > maxPasswordLen {
		return Invalid("Failed to save record.", map[string]FieldError{
			f.Name: {Code: "validation_max_text_constraint", Message: "Must be less than 72 bytes."},
		})
	}
	su := &Superuser{}
	if err := su.SetPassword(plain); err != nil {
		return err
	}
	rec.data[f.Name] = su.PasswordHash
	if rec.collection.IsAuth() {
		rec.data["tokenKey"] = su.TokenKey
	}
	return nil
}
