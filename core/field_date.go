package core

import (
	"context"
	"encoding/json"
)

// FieldDate is the type of date fields (DateTimeLayout strings).
const FieldDate = "date"

// dateKind keeps min and max as date strings, where every other type has
// numbers.
type dateKind struct{ FieldKindBase }

func (dateKind) Type() string { return FieldDate }

func (dateKind) MarshalOptions(f *Field, m map[string]any) {
	m["min"], m["max"] = f.Options.MinDate, f.Options.MaxDate
}

func (dateKind) UnmarshalOptions(b []byte, o *FieldOptions) error {
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	var minDate, maxDate string
	_ = json.Unmarshal(raw["min"], &minDate)
	_ = json.Unmarshal(raw["max"], &maxDate)
	delete(raw, "min")
	delete(raw, "max")
	b, _ = json.Marshal(raw)
	if err := json.Unmarshal(b, o); err != nil {
		return err
	}
	o.MinDate, o.MaxDate = minDate, maxDate
	return nil
}

func (dateKind) Normalize(_ *Field, v any) any { return toDate(v) }

func (dateKind) Validate(_ context.Context, _ *App, f *Field, v any) (FieldError, bool) {
	o := f.Options
	d := v.(string)
	if o.MinDate != "" && d < toDate(o.MinDate) {
		return fe("validation_min_date_constraint", "Must be no earlier than %s.", o.MinDate)
	}
	if o.MaxDate != "" && d > toDate(o.MaxDate) {
		return fe("validation_max_date_constraint", "Must be no later than %s.", o.MaxDate)
	}
	return FieldError{}, true
}
