package core

import (
	"context"
	"encoding/json"

	"github.com/hatchgrid/hatchgrid/core/dialect"
	"github.com/hatchgrid/hatchgrid/core/filter"
)

// FieldKind is what one field type does, from its options to its SQL:
// each built-in type has its own in core/field_<type>.go, and a plugin adds
// a type by registering one (WithFieldKinds, App.RegisterFieldKind). Code
// outside the kinds asks a field's kind (Field.Kind) or its traits and
// never compares field types. Embed FieldKindBase for text-like defaults.
type FieldKind interface {
	// Type is the field type's name, the "type" key of its fields.
	Type() string
	// Traits are the shared machinery the type opts into.
	Traits() FieldTraits

	// MarshalOptions adds the type's option keys to m, the field's JSON
	// object that already holds the common keys (PocketBase's shape: every
	// option key of the type, zero values included).
	MarshalOptions(f *Field, m map[string]any)
	// UnmarshalOptions reads the type's options from the field's JSON.
	UnmarshalOptions(b []byte, o *FieldOptions) error
	// PrepareOptions fills in option defaults before a collection is
	// validated and saved.
	PrepareOptions(app *App, f *Field)
	// ValidateOptions reports bad options of f (the field at key of c)
	// through fail.
	ValidateOptions(app *App, c *Collection, f *Field, key string, fail func(key, code, msg string))

	// Multiple reports whether f holds a list, stored as a JSON array.
	Multiple(f *Field) bool
	// ColumnType is the column definition of a single-valued f on d.
	ColumnType(f *Field, d dialect.Dialect) string
	// Normalize converts a submitted or stored single value to the Go
	// value a Record holds (string, float64, bool, json.RawMessage,
	// GeoPoint, or a type of the kind's own); it never fails.
	Normalize(f *Field, v any) any
	// Validate checks a non-empty value of f; false means fe applies.
	Validate(ctx context.Context, app *App, f *Field, v any) (fe FieldError, ok bool)
	// ExportValue is the value as clients get it in a record's JSON.
	ExportValue(f *Field, v any) any

	// Modifiers are the body key modifiers the type takes ("field+", ...).
	Modifiers() []KeyModifier
	// Resolve is f's value once body value v, with modifier mod ("" for
	// none), applies to cur.
	Resolve(f *Field, cur any, mod KeyModifier, v any) any
	// Assign writes a resolved body value to rec; body is the whole body
	// (a password reads passwordConfirm from it).
	Assign(rec *Record, f *Field, v any, body map[string]any) error
	// Stamp returns the value the system sets on a save (autodate).
	Stamp(f *Field, isNew bool, now string) (any, bool)

	// FilterType is how filters compare f's column.
	FilterType(f *Field) filter.Type
	// ViewColumn reports whether a view column of this database type
	// becomes a field of this type.
	ViewColumn(dbType string) bool
}

// FieldTraits are the behaviours a type shares with core's machinery
// rather than implements itself.
type FieldTraits struct {
	// Files: values are names of stored files; the field takes uploads,
	// and its files are kept, served and removed with the record.
	Files bool
	// Relation: values are ids of records of Options.CollectionID, which
	// filters join, expand follows and deletes cascade through.
	Relation bool
	// Secret: values never leave the server, nor are read by filters and
	// rules (password hashes).
	Secret bool
	// Automatic: the system sets the value; it is never required.
	Automatic bool
	// Document: the value is a JSON document, read from the database as
	// text, possibly NULL, whose keys filters can follow.
	Document bool
}

// FieldKindBase gives a FieldKind the defaults of a plain text field: no
// options, a TEXT column, string values, no modifiers. Embed it and
// override what differs; its methods reach the embedding kind through
// Field.Kind.
type FieldKindBase struct{}

// Traits has none.
func (FieldKindBase) Traits() FieldTraits { return FieldTraits{} }

// MarshalOptions adds no keys.
func (FieldKindBase) MarshalOptions(*Field, map[string]any) {}

// UnmarshalOptions decodes the options by PocketBase's names.
func (FieldKindBase) UnmarshalOptions(b []byte, o *FieldOptions) error { return json.Unmarshal(b, o) }

// PrepareOptions sets no defaults.
func (FieldKindBase) PrepareOptions(*App, *Field) {}

// ValidateOptions accepts any options.
func (FieldKindBase) ValidateOptions(*App, *Collection, *Field, string, func(key, code, msg string)) {
}

// Multiple is false.
func (FieldKindBase) Multiple(*Field) bool { return false }

// ColumnType is the dialect's text column.
func (FieldKindBase) ColumnType(_ *Field, d dialect.Dialect) string {
	return d.ColumnType(dialect.Text)
}

// Normalize makes a string.
func (FieldKindBase) Normalize(_ *Field, v any) any { return toString(v) }

// Validate accepts any value.
func (FieldKindBase) Validate(context.Context, *App, *Field, any) (FieldError, bool) {
	return FieldError{}, true
}

// ExportValue is the value itself.
func (FieldKindBase) ExportValue(_ *Field, v any) any { return v }

// Modifiers are none.
func (FieldKindBase) Modifiers() []KeyModifier { return nil }

// Resolve normalizes a plain value and edits a list with a modifier.
func (FieldKindBase) Resolve(f *Field, cur any, mod KeyModifier, v any) any {
	if mod == "" {
		return normalize(f, v)
	}
	return normalize(f, uniqueStrings(editList(valuesOf(cur), mod, toStrings(v), func(a, b string) bool { return a == b })))
}

// Assign stores the normalized value.
func (FieldKindBase) Assign(rec *Record, f *Field, v any, _ map[string]any) error {
	rec.data[f.Name] = normalize(f, v)
	return nil
}

// Stamp sets nothing.
func (FieldKindBase) Stamp(*Field, bool, string) (any, bool) { return nil, false }

// FilterType is text.
func (FieldKindBase) FilterType(*Field) filter.Type { return filter.TypeText }

// ViewColumn claims no column: view columns no kind claims are text.
func (FieldKindBase) ViewColumn(string) bool { return false }
