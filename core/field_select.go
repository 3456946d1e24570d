package core

import (
	"context"
	"fmt"
	"slices"
)

// FieldSelect is the type of fields holding one or more of a list of
// values.
const FieldSelect = "select"

type selectKind struct{ FieldKindBase }

func (selectKind) Type() string { return FieldSelect }

func (selectKind) MarshalOptions(f *Field, m map[string]any) {
	putOptions(m, f.Options, "values", "maxSelect")
}

func (selectKind) PrepareOptions(_ *App, f *Field) { defaultMaxSelect(f) }

func (selectKind) ValidateOptions(_ *App, _ *Collection, f *Field, key string, fail func(key, code, msg string)) {
	o := f.Options
	if len(o.Values) == 0 {
		fail(key+".values", "validation_required", "Cannot be blank.")
	}
	seen := map[string]bool{}
	for _, v := range o.Values {
		if seen[v] {
			fail(key+".values", "validation_duplicated_values", "Values must be unique.")
		}
		seen[v] = true
	}
	if o.MaxSelect > len(o.Values) && len(o.Values) > 0 {
		fail(key+".maxSelect", "validation_max_less_equal_than_required", fmt.Sprintf("Must be no greater than %d.", len(o.Values)))
	}
}

func (selectKind) Multiple(f *Field) bool { return f.Options.MaxSelect > 1 }

func (selectKind) Normalize(_ *Field, v any) any { return lastValue(v) }

func (selectKind) Modifiers() []KeyModifier { return listModifiers() }

func (selectKind) Validate(_ context.Context, _ *App, f *Field, v any) (FieldError, bool) {
	o := f.Options
	for _, val := range valuesOf(v) {
		if !slices.Contains(o.Values, val) {
			return fe("validation_invalid_value", "Invalid value %s.", val)
		}
	}
	if n := len(valuesOf(v)); n > o.MaxSelect {
		return fe("validation_too_many_values", "Select no more than %d.", o.MaxSelect)
	}
	return FieldError{}, true
}

// defaultMaxSelect makes a field that selects values take one unless set.
func defaultMaxSelect(f *Field) {
	if f.Options.MaxSelect <= 0 {
		f.Options.MaxSelect = 1
	}
}

// listModifiers are the modifiers of fields that hold lists.
func listModifiers() []KeyModifier {
	return []KeyModifier{ModifierPrepend, ModifierAppend, ModifierRemove}
}

// lastValue is the single value of a one-value list field: a list
// submitted for it keeps its last element.
func lastValue(v any) any {
	if list := toStrings(v); len(list) > 0 {
		return list[len(list)-1]
	}
	return ""
}
