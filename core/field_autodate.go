package core

// FieldAutodate is the type of dates the system sets on create and/or
// update (created, updated).
const FieldAutodate = "autodate"

type autodateKind struct{ FieldKindBase }

func (autodateKind) Type() string { return FieldAutodate }

func (autodateKind) Traits() FieldTraits { return FieldTraits{Automatic: true} }

// MarshalOptions also drops "required": PocketBase's autodate fields have
// none.
func (autodateKind) MarshalOptions(f *Field, m map[string]any) {
	delete(m, "required")
	putOptions(m, f.Options, "onCreate", "onUpdate")
}

func (autodateKind) ValidateOptions(_ *App, _ *Collection, f *Field, key string, fail func(key, code, msg string)) {
	if !f.Options.OnCreate && !f.Options.OnUpdate {
		fail(key+".onCreate", "validation_autodate_never", "At least one of onCreate and onUpdate must be set.")
	}
}

func (autodateKind) Normalize(_ *Field, v any) any { return toDate(v) }

// Assign ignores the body: the system sets the value (Stamp).
func (autodateKind) Assign(*Record, *Field, any, map[string]any) error { return nil }

func (autodateKind) Stamp(f *Field, isNew bool, now string) (any, bool) {
	if (isNew && f.Options.OnCreate) || (!isNew && f.Options.OnUpdate) {
		return now, true
	}
	return nil, false
}
