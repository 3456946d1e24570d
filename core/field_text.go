package core

import (
	"context"
	"regexp"
	"unicode/utf8"

	"github.com/hatchgrid/hatchgrid/core/dialect"
)

// FieldText is the type of plain text fields.
const FieldText = "text"

// Text fields without a max accept this many characters, PocketBase's.
const defaultTextMax = 5000

// textKind is PocketBase's text field; the id field of every collection is
// one, its primary key.
type textKind struct{ FieldKindBase }

func (textKind) Type() string { return FieldText }

func (textKind) MarshalOptions(f *Field, m map[string]any) {
	putOptions(m, f.Options, "min", "max", "pattern", "autogeneratePattern", "primaryKey")
}

func (textKind) ValidateOptions(_ *App, _ *Collection, f *Field, key string, fail func(key, code, msg string)) {
	nonNegativeMinMax(f, key, fail)
}

// nonNegativeMinMax refuses a negative min or max length.
func nonNegativeMinMax(f *Field, key string, fail func(key, code, msg string)) {
	if o := f.Options; o.Min != nil && *o.Min < 0 {
		fail(key+".min", "validation_min_greater_equal_than_required", "Must be no less than 0.")
	}
	if o := f.Options; o.Max != nil && *o.Max < 0 {
		fail(key+".max", "validation_min_greater_equal_than_required", "Must be no less than 0.")
	}
}

// IsPrimaryKey reports whether f is its collection's primary key, a
// text field with primaryKey set.
func (f *Field) IsPrimaryKey() bool {
	_, text := f.Kind().(textKind)
	return text && f.Options.PrimaryKey
}

func (textKind) ColumnType(f *Field, d dialect.Dialect) string {
	if f.Options.PrimaryKey {
		return "TEXT PRIMARY KEY NOT NULL"
	}
	return d.ColumnType(dialect.Text)
}

func (textKind) Resolve(f *Field, cur any, mod KeyModifier, v any) any {
	if mod == "" && f.Name == "id" {
		return toString(v) // its format is checked when applied
	}
	return FieldKindBase{}.Resolve(f, cur, mod, v)
}

func (textKind) Validate(_ context.Context, _ *App, f *Field, v any) (FieldError, bool) {
	o := f.Options
	str := v.(string)
	n := utf8.RuneCountInString(str)
	max := defaultTextMax
	if o.Max != nil && *o.Max > 0 {
		max = int(*o.Max)
	}
	if o.Min != nil && n < int(*o.Min) {
		return fe("validation_min_text_constraint", "Must be at least %d character(s).", int(*o.Min))
	}
	if n > max {
		return fe("validation_max_text_constraint", "Must be less than %d character(s).", max)
	}
	if o.Pattern != "" {
		if re, err := regexp.Compile(o.Pattern); err == nil && !re.MatchString(str) {
			return fe("validation_invalid_format", "Invalid value format.")
		}
	}
	return FieldError{}, true
}
