package core

import (
	"context"
	"strings"

	"github.com/hatchgrid/hatchgrid/core/dialect"
	"github.com/hatchgrid/hatchgrid/core/filter"
)

// FieldNumber is the type of number fields (float64 values).
const FieldNumber = "number"

type numberKind struct{ FieldKindBase }

func (numberKind) Type() string { return FieldNumber }

func (numberKind) MarshalOptions(f *Field, m map[string]any) {
	putOptions(m, f.Options, "min", "max", "onlyInt")
}

func (numberKind) ColumnType(_ *Field, d dialect.Dialect) string { return d.ColumnType(dialect.Number) }

func (numberKind) Normalize(_ *Field, v any) any { return toFloat(v) }

func (numberKind) Modifiers() []KeyModifier { return []KeyModifier{ModifierAppend, ModifierRemove} }

// Resolve adds ("field+") or subtracts ("field-") a number.
func (numberKind) Resolve(f *Field, cur any, mod KeyModifier, v any) any {
	if mod == "" {
		return normalize(f, v)
	}
	delta := toFloat(v)
	if mod == ModifierRemove {
		delta = -delta
	}
	return toFloat(cur) + delta
}

func (numberKind) Validate(_ context.Context, _ *App, f *Field, v any) (FieldError, bool) {
	o := f.Options
	n := v.(float64)
	if o.OnlyInt && n != float64(int64(n)) {
		return fe("validation_only_int_constraint", "Decimal numbers are not allowed.")
	}
	if o.Min != nil && n < *o.Min {
		return fe("validation_min_number_constraint", "Must be larger than %v.", *o.Min)
	}
	if o.Max != nil && *o.Max != 0 && n > *o.Max {
		return fe("validation_max_number_constraint", "Must be less than %v.", *o.Max)
	}
	return FieldError{}, true
}

func (numberKind) FilterType(*Field) filter.Type { return filter.TypeNumber }

func (numberKind) ViewColumn(dbType string) bool {
	t := strings.ToUpper(dbType)
	for _, s := range []string{"INT", "REAL", "FLOA", "DOUB", "NUMERIC", "DECIMAL"} {
		if strings.Contains(t, s) {
			return true
		}
	}
	return false
}
