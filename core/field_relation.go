package core

import "context"

// FieldRelation is the type of fields holding ids of another
// collection's records.
const FieldRelation = "relation"

type relationKind struct{ FieldKindBase }

func (relationKind) Type() string { return FieldRelation }

func (relationKind) Traits() FieldTraits { return FieldTraits{Relation: true} }

func (relationKind) MarshalOptions(f *Field, m map[string]any) {
	putOptions(m, f.Options, "collectionId", "cascadeDelete", "minSelect", "maxSelect")
}

// PrepareOptions also stores the target by id when it was given by name.
func (relationKind) PrepareOptions(app *App, f *Field) {
	defaultMaxSelect(f)
	if target, err := app.collections.Find(f.Options.CollectionID); err == nil {
		f.Options.CollectionID = target.ID
	}
}

func (relationKind) ValidateOptions(app *App, c *Collection, f *Field, key string, fail func(key, code, msg string)) {
	o := f.Options
	target, err := app.collections.Find(o.CollectionID)
	switch {
	case o.CollectionID == "":
		fail(key+".collectionId", "validation_required", "Cannot be blank.")
	case err != nil && o.CollectionID != c.ID:
		fail(key+".collectionId", "validation_missing_collection", "The related collection doesn't exist.")
	case target != nil && target.IsView() && o.CascadeDelete:
		fail(key+".cascadeDelete", "validation_view_cascade", "Cascade delete is not allowed for view relations.")
	}
	if o.MinSelect < 0 || o.MinSelect > o.MaxSelect {
		fail(key+".minSelect", "validation_invalid_min_select", "Must be between 0 and maxSelect.")
	}
}

func (relationKind) Multiple(f *Field) bool { return f.Options.MaxSelect > 1 }

func (relationKind) Normalize(_ *Field, v any) any { return lastValue(v) }

func (relationKind) Modifiers() []KeyModifier { return listModifiers() }

func (relationKind) Validate(ctx context.Context, app *App, f *Field, v any) (FieldError, bool) {
	o := f.Options
	ids := valuesOf(v)
	if n := len(ids); n > o.MaxSelect {
		return fe("validation_too_many_values", "Select no more than %d.", o.MaxSelect)
	}
	if o.MinSelect > 0 && len(ids) < o.MinSelect {
		return fe("validation_not_enough_values", "Select at least %d.", o.MinSelect)
	}
	if missing, err := app.Records().missingIDs(ctx, o.CollectionID, ids); err != nil || len(missing) > 0 {
		return fe("validation_missing_rel_records", "Failed to find all relation records with the provided ids.")
	}
	return FieldError{}, true
}

// RelatesTo reports whether f holds ids of records of the collection
// collectionID.
func (f *Field) RelatesTo(collectionID string) bool {
	return f.IsRelation() && f.Options.CollectionID == collectionID
}

// IsRelation reports whether f holds ids of another collection's records.
func (f *Field) IsRelation() bool { return f.Kind().Traits().Relation }
